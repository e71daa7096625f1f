"""One timed training epoch, the loop both PyTorch twins (classifier.py, vae.py) run: a fresh random order
(torch.randperm, as hundun's DataLoader draws it), then the model's own step on each batch of indices.
"""
import time

import torch


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
