#!/usr/bin/python3
"""PyTorch twin of bench/classifier_epoch.cpp and `hundun train classifier`: the Fashion-MNIST CNN.

    /usr/bin/python3 bench/torch/classifier.py --epochs 2 --threads 1,2 --seed 0

The model is models/classifier.h's, layer for layer and with the same parameter names:
  conv1 Conv2d(1, 32, 3, padding=1, bias=False), bn1 BatchNorm2d(32), ReLU, MaxPool 2   -> [B, 32, 14, 14]
  conv2 Conv2d(32, 64, 3, padding=1, bias=False), bn2 BatchNorm2d(64), ReLU, MaxPool 2  -> [B, 64, 7, 7]
  fc1   Linear(64*7*7, 128), ReLU                                                       -> [B, 128] ("features")
  fc2   Linear(128, 10)                                                                 -> [B, 10]  (logits)
and so is the training of `hundun train classifier`: PyTorch's default initialisation, Adam(lr 1e-3) with
CosineAnnealingLR stepped after every batch down to 0 at the end of the run, batch 128, cross-entropy,
a shuffled training set.
The data is preloaded: the IDX files read by fashion_mnist.py from /usr/share/datasets/fashion-mnist (or
$HUNDUN_DATA), pixels / 255 (what ToTensor does), indexed batch by batch with a torch.randperm order
(no DataLoader, no worker processes).

--threads takes a comma-separated list; the whole run is repeated for each thread count, so the best
of torch.set_num_threads(1) and (2) can be read off (OpenBLAS's own thread pool is sized separately, by
OPENBLAS_NUM_THREADS; see blas.py). Prints JSON lines: one "settings" line (torch version, the BLAS library
mapped into the process and its thread count), then per epoch the train loss, the test accuracy and
the seconds of the training epoch, wall clock and CPU time of all threads (the test pass is not timed),
and a "best" line per thread count.
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn, optim

from blas import blas_settings
from epoch import timed_epoch
from fashion_mnist import load_split

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return F.relu(self.fc1(x.flatten(1)))

    def forward(self, x):
        return self.fc2(self.features(x))


def evaluate(model, images, labels, batch=1000):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(images[i:i + batch])
            loss += F.cross_entropy(logits, labels[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == labels[i:i + batch]).sum().item()
    return correct / len(images), loss / len(images)


def run(threads, args, train, test):
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    model = Classifier()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    train_x, train_y = train
    b = args.batch_size
    steps_per_epoch = (len(train_x) + b - 1) // b
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    times = []

    def step(idx):
        x, y = train_x[idx], train_y[idx]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        schedule.step()
        return loss.item() * len(idx)

    for epoch in range(1, args.epochs + 1):
        train_loss, seconds, cpu_seconds = timed_epoch(model, len(train_x), b, step)
        times.append(seconds)
        accuracy, test_loss = evaluate(model, *test)
        print(json.dumps({"bench": "classifier_epoch", "impl": "pytorch", "threads": threads, "epoch": epoch,
                          "train_loss": round(train_loss, 4), "test_accuracy": round(accuracy, 4),
                          "test_loss": round(test_loss, 4), "seconds": round(seconds, 3),
                          "cpu_seconds": round(cpu_seconds, 3)}), flush=True)
    print(json.dumps({"bench": "classifier_epoch", "impl": "pytorch", "threads": threads, "best_seconds":
                      round(min(times), 3), "final_test_accuracy": round(accuracy, 4)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts, one run each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()

    train = load_split("train")
    test = load_split("t10k")
    print(json.dumps({"bench": "classifier_epoch", "impl": "pytorch", "torch": torch.__version__, **blas_settings(),
                      "mkldnn": torch.backends.mkldnn.is_available(),
                      "threads": args.threads, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                      "seed": args.seed, "train_size": len(train[0]), "test_size": len(test[0])}), flush=True)
    for threads in [int(t) for t in args.threads.split(",")]:
        run(threads, args, train, test)


if __name__ == "__main__":
    main()
