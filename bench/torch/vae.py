#!/usr/bin/python3
"""PyTorch twin of bench/vae_epoch.cpp: the VAE of pytorch/examples (vae/main.py), on Fashion-MNIST.

    /usr/bin/python3 bench/torch/vae.py --epochs 10 --threads 1 --seed 1

The model and the training loop are pytorch/examples' own:
  encoder  fc1 784 -> 400, ReLU, then two heads fc21, fc22: 400 -> 20 (mu and logvar)
  z = mu + exp(0.5 logvar) * eps, eps ~ N(0, I)
  decoder  fc3 20 -> 400, ReLU, fc4 400 -> 784, sigmoid
  loss = F.binary_cross_entropy(recon, x, reduction='sum') + KLD, KLD = -1/2 sum(1 + logvar - mu^2 - e^logvar),
         both summed over the whole batch
  Adam(lr 1e-3), batch 128, shuffled training set; the epoch's loss is sum(loss) / len(train set), and the test
  loss (the negative ELBO, one sample of z per image, as the example does) is sum(loss) / len(test set).
Differences, for a fair speed comparison: Fashion-MNIST instead of MNIST, read by fashion_mnist.py from
/usr/share/datasets/fashion-mnist (pixels / 255, what ToTensor does), and preloaded as one tensor that is
indexed batch by batch with a torch.randperm order, instead of a DataLoader (no worker processes).

Prints JSON lines: one "settings" line (torch version, BLAS library and its threads, torch's threads), then one
line per epoch with the train loss, the test negative ELBO and the seconds the training epoch took (the test pass
is not timed), as wall time and as the process's CPU time (all threads): on a busy machine the wall time includes
time other programs held the cores.

Threads: --threads sets torch's own (torch.set_num_threads); the matrix products run in OpenBLAS, whose pool
is sized by OPENBLAS_NUM_THREADS (default: every core) and reported as "blas_threads" (see blas.py). On a 2-core
machine the fastest setting is the default, --threads 1 with OpenBLAS on both cores; --threads 2 puts four
threads on two cores and is several times slower. OPENBLAS_NUM_THREADS=1 gives a true single-thread run.
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn, optim

from blas import blas_settings
from epoch import add_run_arguments, start_run, timed_epoch
from fashion_mnist import load_split

class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden=400):  # the example's sizes; hundun's --latent 2 is VAE(2)
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)
        self.fc22 = nn.Linear(hidden, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser, epochs=10, batch_size=128)
    args = parser.parse_args()

    start_run(args)
    train_x = load_split("train")[0].reshape(-1, 784)
    test_x = load_split("t10k")[0].reshape(-1, 784)
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    print(json.dumps({"bench": "vae_epoch", "impl": "pytorch", "torch": torch.__version__, **blas_settings(),
                      "mkldnn": torch.backends.mkldnn.is_available(), "threads": torch.get_num_threads(),
                      "epochs": args.epochs, "batch_size": args.batch_size, "lr": 1e-3, "seed": args.seed,
                      "train_size": len(train_x), "test_size": len(test_x)}), flush=True)

    b = args.batch_size

    def step(idx):
        data = train_x[idx]
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = loss_function(recon, data, mu, logvar)
        loss.backward()
        optimizer.step()
        return loss.item()

    for epoch in range(1, args.epochs + 1):
        train_loss, seconds, cpu_seconds = timed_epoch(model, len(train_x), b, step)

        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for i in range(0, len(test_x), b):
                data = test_x[i:i + b]
                recon, mu, logvar = model(data)
                test_loss += loss_function(recon, data, mu, logvar).item()
        print(json.dumps({"bench": "vae_epoch", "impl": "pytorch", "threads": torch.get_num_threads(), "epoch": epoch,
                          "train_loss": round(train_loss, 4),
                          "test_neg_elbo": round(test_loss / len(test_x), 4),
                          "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
