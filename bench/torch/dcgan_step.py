#!/usr/bin/python3
"""PyTorch twin of bench/dcgan_step.cpp: one DCGAN training step (discriminator step + generator step, dcgan.py's
train_step) at batch 64, and the generator's sampling throughput at batch 1000. The same JSON lines:

    /usr/bin/python3 bench/torch/dcgan_step.py --steps 30 --threads 2

The step runs on the first 64 * (warmup + steps) Fashion-MNIST training images scaled to [-1, 1], batch after
batch; the warm-up steps are not timed. Reported: the median and the fastest step; then G(z) for 1000 z in
evaluation mode under torch.no_grad(), the best of three.
"""
import argparse
import json
import statistics
import time

import torch
from torch import optim

from blas import blas_settings
from dcgan import GAN, LOSSES, train_step
from fashion_mnist import load_split


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--loss", choices=LOSSES, default="ns")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    batch = 64
    n = batch * (args.steps + args.warmup)
    images = load_split("train")[0][:n].reshape(-1, 1, 28, 28) * 2 - 1
    n = len(images)
    gan = GAN(args.loss)
    adam_d = optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    adam_g = optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    print(json.dumps({"bench": "dcgan_step", "impl": "pytorch", "torch": torch.__version__, **blas_settings(),
                      "threads": torch.get_num_threads(), "batch_size": batch, "loss": args.loss,
                      "steps": args.steps, "warmup": args.warmup, "seed": args.seed}), flush=True)

    gan.train()
    times, losses = [], (0.0, 0.0)
    for s in range(args.warmup + args.steps):
        begin = (s * batch) % (n - batch + 1)
        real = images[begin:begin + batch]
        start = time.perf_counter()
        losses = train_step(gan, adam_d, adam_g, real, s)
        if s >= args.warmup:
            times.append(time.perf_counter() - start)
    med = statistics.median(times)
    print(json.dumps({"bench": "dcgan_step", "impl": "pytorch", "threads": torch.get_num_threads(),
                      "step_ms_median": round(1e3 * med, 2), "step_ms_min": round(1e3 * min(times), 2),
                      "d_loss": round(losses[0], 4), "g_loss": round(losses[1], 4)}), flush=True)

    gan.eval()
    z = torch.randn(1000, gan.latent_dim)
    best = float("inf")
    with torch.no_grad():
        for _ in range(3):
            start = time.perf_counter()
            (gan.generator(z) + 1) / 2
            best = min(best, time.perf_counter() - start)
    print(json.dumps({"bench": "dcgan_sample", "impl": "pytorch", "threads": torch.get_num_threads(),
                      "batch_size": 1000, "seconds": round(best, 4), "images_per_second": round(1000 / best)}),
          flush=True)


if __name__ == "__main__":
    main()
