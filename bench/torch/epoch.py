"""One timed training epoch, the loop both PyTorch twins (classifier.py, vae.py) run: a fresh random order
(torch.randperm, as hundun's DataLoader draws it), then the model's own step on each batch of indices.
"""
import time

import torch


def add_run_arguments(parser, epochs, batch_size, seed=1):
    """The flags every twin takes: --epochs, --threads (torch's own pool), --seed, --batch-size."""
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--batch-size", type=int, default=batch_size)


def start_run(args):
    """Applies --threads and --seed, before any weight or batch is drawn."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)


def timed_epoch(model, n, batch_size, step):
    """step(indices) trains on one batch and returns its summed loss. Returns (mean loss per example,
    wall seconds, CPU seconds) of the epoch."""
    model.train()
    start, cpu_start = time.perf_counter(), time.process_time()
    order = torch.randperm(n)
    loss_sum = 0.0
    for i in range(0, n, batch_size):
        loss_sum += step(order[i:i + batch_size])
    return loss_sum / n, time.perf_counter() - start, time.process_time() - cpu_start
