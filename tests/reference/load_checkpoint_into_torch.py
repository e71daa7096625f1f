#!/usr/bin/python3
"""Loads a hundun checkpoint (nn/checkpoint.h) into the same network built in PyTorch: proof that hundun's
weights are PyTorch's weights, and a way to take a model trained in C++ over to Python.

    /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py CHECKPOINT MODEL [--eval] [--optimizer]

  CHECKPOINT   a file written by hd::save_checkpoint; its "model.<name>" entries are the module's state_dict
  MODEL        a key of MODELS below (e.g. "mlp")
  --eval       also prints the test accuracy on Fashion-MNIST (read with gzip + numpy from --data,
               default /usr/share/datasets/fashion-mnist), next to the accuracy hundun stored, if any
  --optimizer  also loads the "optimizer.<name>" entries into the torch.optim class named in OPTIMIZERS
               (hundun's optimizer state uses PyTorch's names: "<i>.exp_avg" is state[i]["exp_avg"])
               with the learning rate from the file and PyTorch's defaults for the other hyperparameters
               (betas, eps, weight decay), which the file does not store

Try it on the checkpoint tests/test_checkpoint.cpp (Checkpoint.TorchExport) leaves in /tmp:
    /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py /tmp/hundun_mlp_784_256_10.safetensors mlp --eval

To add a model: write a function returning the nn.Module whose state_dict names match hundun's (build the
hundun model, print its state_dict keys, mirror them), and a function turning a batch of Fashion-MNIST
images [N, 1, 28, 28] in [0, 1] into its input; add both to MODELS.
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import load  # noqa: E402


def mlp_784_256_10():
    """hundun: Sequential{Linear(784, 256), ReLU, Linear(256, 10)} -> "0.weight", "0.bias", "2.weight", "2.bias"."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def flatten(images):
    return images.reshape(images.shape[0], -1)


# name -> (builder, input transform for --eval)
MODELS = {
    "mlp": (mlp_784_256_10, flatten),
}

# name in hundun's optimizer -> torch.optim class; chosen by which per-parameter state the file holds
OPTIMIZERS = {"exp_avg": torch.optim.Adam, "momentum_buffer": torch.optim.SGD}


def split_entries(arrays):
    """{"model.0.weight": a, "optimizer.3.exp_avg": b, ...} -> {"model": {"0.weight": a}, "optimizer": {...}, ...}"""
    parts = {}
    for name, array in arrays.items():
        prefix, _, rest = name.partition(".")
        parts.setdefault(prefix, {})[rest] = array
    return parts


def load_model(module, entries, path):
    own = module.state_dict()
    # hundun stores every tensor as float32; PyTorch keeps e.g. BatchNorm's num_batches_tracked as int64.
    state = {name: torch.from_numpy(array).to(own[name].dtype) if name in own else torch.from_numpy(array)
             for name, array in entries.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        sys.exit(f"{path}: does not fit the PyTorch model:\n{e}")


def load_optimizer(module, entries):
    """A torch.optim optimizer over module.parameters() holding the checkpoint's optimizer state."""
    state = {}
    for name, array in entries.items():
        index, _, key = name.partition(".")
        if key:  # "<i>.<key>"; "step" and "lr" alone are optimizer-wide
            state.setdefault(int(index), {})[key] = torch.from_numpy(array)
    keys = {key for s in state.values() for key in s}
    cls = next((c for key, c in OPTIMIZERS.items() if key in keys), torch.optim.SGD)
    lr = float(entries["lr"])
    optimizer = cls(module.parameters(), lr=lr)
    group = {k: v for k, v in optimizer.state_dict()["param_groups"][0].items()}
    optimizer.load_state_dict({"state": state, "param_groups": [group]})
    return optimizer


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


def fashion_mnist_test(folder):
    def path(name):
        gz = os.path.join(folder, name + ".gz")
        return gz if os.path.exists(gz) else os.path.join(folder, name)
    images = torch.from_numpy(read_idx(path("t10k-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    labels = torch.from_numpy(read_idx(path("t10k-labels-idx1-ubyte")).astype(np.int64))
    return images, labels  # [10000, 1, 28, 28] in [0, 1], [10000]


def describe(name, tensor):
    flat = tensor.detach().flatten().double()
    head = ", ".join(f"{v:.6g}" for v in flat[:4].tolist())
    stats = f"mean={flat.mean():.6g} std={flat.std():.6g}" if flat.numel() > 1 else ""
    return f"  {name}: {list(tensor.shape)} [{head}{', ...' if flat.numel() > 4 else ''}] {stats}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--eval", action="store_true", help="test accuracy on Fashion-MNIST")
    parser.add_argument("--optimizer", action="store_true", help="also load the optimizer state")
    parser.add_argument("--data", default=os.environ.get("HUNDUN_DATA", "/usr/share/datasets/fashion-mnist"))
    args = parser.parse_args()

    arrays, metadata = load(args.checkpoint, with_metadata=True)
    parts = split_entries(arrays)
    build, prepare = MODELS[args.model]
    module = build()
    load_model(module, parts.get("model", {}), args.checkpoint)

    print(f"{args.checkpoint}: step {metadata.get('hundun.step', '?')}, epoch {metadata.get('hundun.epoch', '?')}")
    for key, value in sorted(metadata.items()):
        if not key.startswith("hundun."):
            print(f"  metadata {key} = {value}")
    print(f"loaded into PyTorch {module.__class__.__name__} ({sum(p.numel() for p in module.parameters())} parameters):")
    for name, tensor in module.state_dict().items():
        print(describe(name, tensor))

    if args.optimizer:
        if "optimizer" not in parts:
            sys.exit(f"{args.checkpoint}: has no optimizer state")
        optimizer = load_optimizer(module, parts["optimizer"])
        print(f"optimizer: {optimizer.__class__.__name__}, lr {optimizer.param_groups[0]['lr']:.6g}, "
              f"state for {len(optimizer.state)} of {len(optimizer.param_groups[0]['params'])} parameters")

    if args.eval:
        images, labels = fashion_mnist_test(args.data)
        module.eval()
        with torch.no_grad():
            predicted = module(prepare(images)).argmax(dim=1)
        accuracy = (predicted == labels).double().mean().item()
        print(f"Fashion-MNIST test accuracy in PyTorch: {accuracy:.4f}"
              + (f" (hundun measured {float(metadata['test_accuracy']):.4f})" if "test_accuracy" in metadata else ""))


if __name__ == "__main__":
    main()
