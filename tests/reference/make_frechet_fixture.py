#!/usr/bin/python3
"""Writes tests/fixtures/frechet.safetensors: two sets of feature vectors and SciPy's Frechet distance between
them, which tests/test_frechet.cpp compares with metrics/frechet.h.

Run from anywhere:   /usr/bin/python3 tests/reference/make_frechet_fixture.py
Deterministic (numpy seed 0); the file is about 25 KB.

Tensors (float32):
  a [400, 16], b [300, 16]     features drawn from two different Gaussians (different means and covariances)
  mean_a [16], cov_a [16, 16]  numpy's mean and unbiased covariance (np.cov, rowvar=False) of a
Metadata:
  fd     the Frechet distance between Gaussians fitted to a and b, computed in float64 from the float32
         features with the classic FID formula |mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b)),
         scipy.linalg.sqrtm for the square root (hundun uses the equal symmetric form, see metrics/frechet.h)
  numpy, scipy  the versions that computed it
"""
import os
import sys

import numpy as np
import scipy
import scipy.linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "frechet.safetensors")
D = 16


def gaussian_features(rng, n, mean_scale, mix_scale):
    mean = rng.normal(0.0, mean_scale, D)
    mix = rng.normal(0.0, mix_scale, (D, D))  # covariance = mix mix^T
    return (rng.normal(0.0, 1.0, (n, D)) @ mix.T + mean).astype(np.float32)


def frechet_distance_scipy(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real  # sqrtm of a non-symmetric matrix may carry tiny imaginary parts
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def main():
    rng = np.random.default_rng(0)
    a = gaussian_features(rng, 400, 1.0, 0.5)
    b = gaussian_features(rng, 300, 1.0, 0.3)
    fd = frechet_distance_scipy(a, b)
    a64 = a.astype(np.float64)
    tensors = {"a": a, "b": b, "mean_a": a64.mean(axis=0).astype(np.float32),
               "cov_a": np.cov(a64, rowvar=False).astype(np.float32)}
    save(OUT, tensors, metadata={"fd": repr(fd), "numpy": np.__version__, "scipy": scipy.__version__})
    print(f"wrote {os.path.normpath(OUT)}: fd = {fd!r}")


if __name__ == "__main__":
    main()
