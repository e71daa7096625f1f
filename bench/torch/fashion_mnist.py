"""Fashion-MNIST for the PyTorch twins and the reference scripts, read the way hundun reads it (data/idx.h,
data/fashion_mnist.h): IDX files, gzipped or raw, from $HUNDUN_DATA or /usr/share/datasets/fashion-mnist,
pixels / 255 (what torchvision's ToTensor does). One reader, so every script sees the same images.
"""
import gzip
import os

import numpy as np
import torch

DATA = os.environ.get("HUNDUN_DATA", "/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """An IDX file (the MNIST format) as a numpy array: magic (2 zero bytes, type 0x08 = uint8, rank),
    then rank big-endian uint32 sizes, then the data."""
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(shape)


def load_split(prefix, folder=DATA):
    """prefix "train" or "t10k" -> images [N, 1, 28, 28] float32 in [0, 1], labels [N] int64."""
    def path(name):
        gz = os.path.join(folder, name + ".gz")
        return gz if os.path.exists(gz) else os.path.join(folder, name)
    images = read_idx(path(f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(path(f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)
