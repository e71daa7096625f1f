"""PyTorch twin of bench/gemm.cpp: the same shapes through torch.matmul, the same JSON lines ("impl":"torch").

Run with the system interpreter: /usr/bin/python3 bench/torch/gemm.py
Each timing is the median of several repetitions after a warm-up, on torch.set_num_threads(2).
max_rel_err compares 512 sampled entries (corners included) with a float64 dot product:
|c - exact| / sum_k |a_ik * b_kj|, as in the C++ bench.
"""
import json
import time

import numpy as np
import torch

THREADS = 2

# (M, N, K, trans_a, trans_b): C[M, N] = op(A) @ op(B), where op(X) = X or X^T.
SHAPES = [
    (256, 256, 256, False, False),
    (512, 512, 512, False, False),
    (1024, 1024, 1024, False, False),
    (2048, 2048, 2048, False, False),
    (128, 400, 784, False, True),   # MLP forward:  Y = X @ W^T,  X [128, 784], W [400, 784]
    (128, 784, 400, False, False),  # MLP backward: dX = dY @ W,  dY [128, 400]
    (400, 784, 128, True, False),   # MLP backward: dW = dY^T @ X
]


def median_ms(run):
    """Median wall time of run() in ms, after one warm-up; repeats until ~0.5 s or 21 runs."""
    run()
    times = []
    while len(times) < 5 or (sum(times) < 500.0 and len(times) < 21):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def max_rel_err(op_a, op_b, c, samples=512):
    m, n = c.shape
    rng = np.random.default_rng(7)
    rows = np.concatenate([[0, 0, m - 1, m - 1], rng.integers(0, m, samples - 4)])
    cols = np.concatenate([[0, n - 1, 0, n - 1], rng.integers(0, n, samples - 4)])
    a = op_a.double().numpy()
    b = op_b.double().numpy()
    terms = a[rows, :] * b[:, cols].T          # [samples, K]: a_ik * b_kj
    exact = terms.sum(axis=1)
    scale = np.maximum(np.abs(terms).sum(axis=1), 1e-30)
    got = c.double().numpy()[rows, cols]
    return float(np.max(np.abs(got - exact) / scale))


def main():
    torch.set_num_threads(THREADS)
    gen = torch.Generator().manual_seed(42)
    for m, n, k, trans_a, trans_b in SHAPES:
        # Stored A is [M, K] or [K, M]; stored B is [K, N] or [N, K]; .t() is a view, no copy.
        a = torch.rand((k, m) if trans_a else (m, k), generator=gen) * 2 - 1
        b = torch.rand((n, k) if trans_b else (k, n), generator=gen) * 2 - 1
        op_a = a.t() if trans_a else a
        op_b = b.t() if trans_b else b
        c = torch.empty(m, n)
        ms = median_ms(lambda: torch.matmul(op_a, op_b, out=c))
        print(json.dumps({
            "bench": "gemm", "impl": "torch", "kernel": "torch.matmul " + torch.__version__,
            "m": m, "n": n, "k": k, "trans_a": trans_a, "trans_b": trans_b, "threads": THREADS,
            "gflops": round(2.0 * m * n * k / (ms * 1e6), 1), "ms": round(ms, 4),
            "max_rel_err": float(f"{max_rel_err(op_a, op_b, c):.2e}"),
        }, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
