#!/usr/bin/python3
"""Loads a hundun checkpoint (nn/checkpoint.h) into the same network built in PyTorch: proof that hundun's
weights are PyTorch's weights, and a way to take a model trained in C++ over to Python.

    /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py CHECKPOINT MODEL [--eval] [--optimizer]

  CHECKPOINT   a file written by hd::save_checkpoint; its "model.<name>" entries are the module's state_dict
  MODEL        a key of MODELS below:
                 cnn  the classifier of models/classifier.h (`hundun train classifier`), built by
                      bench/torch/classifier.py
                 ae   the autoencoder of models/autoencoder.h (`hundun train ae`, --arch mlp or conv)
                 vae  the VAE of models/vae.h (`hundun train vae`): pytorch/examples' VAE, built by
                      bench/torch/vae.py
                 gan  the DCGAN of models/gan.h (`hundun train gan`, any switches): both networks,
                      "generator.*" and "discriminator.*", built by bench/torch/dcgan.py
                 mlp  the 784-256-10 Sequential that Checkpoint.TorchExport writes
               sizes (latent_dim, hidden, arch) come from the checkpoint's metadata
  --eval       also measures the model on the Fashion-MNIST test set (read by bench/torch/fashion_mnist.py from --data,
               default /usr/share/datasets/fashion-mnist) as hundun measures it, and prints hundun's own
               number from the checkpoint (its metadata "test_accuracy", or the last epoch of
               "history_epochs") beside it:
                 cnn, mlp  the test accuracy, with BatchNorm in eval mode (running statistics)
                 ae        the reconstruction BCE per image
                 gan       the mean logit D(x) on the test images and D(G(z)) on 1000 z ~ N(0, I) drawn after
                           torch.manual_seed(0) (conditional: the classes in turn), with BatchNorm in eval mode;
                           hundun keeps no such number, so the third column is empty
                 vae       the negative ELBO per image with one z per image, eps drawn after
                           torch.manual_seed(0) in batches of 500: hundun's generator gives PyTorch's
                           numbers, so this repeats `hundun eval vae --seed 0` draw for draw
  --optimizer  also loads the "optimizer.<name>" entries into the torch.optim class named in OPTIMIZERS
               (hundun's optimizer state uses PyTorch's names: "<i>.exp_avg" is state[i]["exp_avg"])
               with the learning rate from the file and PyTorch's defaults for the other hyperparameters
               (betas, eps, weight decay), which the file does not store

Open a shipped checkpoint, e.g. the classifier (prints 92.11%, as `hundun eval classifier` does):
    /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py weights/classifier.safetensors cnn --eval
or the checkpoint tests/test_checkpoint.cpp (Checkpoint.TorchExport) leaves in /tmp:
    /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py /tmp/hundun_mlp_784_256_10.safetensors mlp --eval
`make test` checks the shipped files without Python: tests/test_weights.cpp
(ShippedWeights.SameOutputsAsThePyTorchTwins) compares hundun's outputs with those that
make_shipped_weights_fixture.py computed through this script's MODELS.

To add a model: write a function taking the checkpoint's metadata and returning the nn.Module whose
state_dict names match hundun's (build the hundun model, print its state_dict keys, mirror them), and a
function measuring it on the test set; add both to MODELS.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# The PyTorch twins the speed benchmarks train: one definition of each network, not one per script.
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "torch"))
from safetensors_io import load  # noqa: E402
from classifier import Classifier  # noqa: E402
from vae import VAE, loss_function as vae_loss  # noqa: E402
from dcgan import GAN  # noqa: E402
from fashion_mnist import DATA, load_split  # noqa: E402

# --- the networks, by the names hundun gives their parameters ---


def mlp_784_256_10(metadata):
    """hundun: Sequential{Linear(784, 256), ReLU, Linear(256, 10)} -> "0.weight", "0.bias", "2.weight", "2.bias"."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn(metadata):
    """models/classifier.h: conv1, bn1, conv2, bn2, fc1, fc2 (bench/torch/classifier.py, layer for layer)."""
    return Classifier()


class Autoencoder(nn.Module):
    """models/autoencoder.h: encoder and decoder are Sequentials, so the names are "encoder.1.weight" etc.;
    forward returns the decoder's logits [B, 1, 28, 28] (no sigmoid), as hundun's does."""

    def __init__(self, arch, latent_dim, hidden):
        super().__init__()
        if arch == "mlp":  # 784 -> hidden -> latent -> hidden -> 784
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, latent_dim))
            self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 784),
                                         nn.Unflatten(1, (1, 28, 28)))
        else:  # conv: [B, 1, 28, 28] -> [B, 32, 14, 14] -> [B, 64, 7, 7] -> [B, latent] and back
            self.encoder = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                         nn.Flatten(), nn.Linear(64 * 7 * 7, latent_dim))
            self.decoder = nn.Sequential(nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                         nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                         nn.ConvTranspose2d(32, 1, 4, 2, 1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def autoencoder(metadata):
    return Autoencoder(metadata.get("arch", "mlp"), int(metadata.get("latent_dim", 20)),
                       int(metadata.get("hidden", 400)))


def vae(metadata):
    """models/vae.h: fc1, fc21, fc22, fc3, fc4 (pytorch/examples' VAE, from bench/torch/vae.py)."""
    return VAE(int(metadata.get("latent_dim", 20)), int(metadata.get("hidden", 400)))


def gan(metadata):
    """models/gan.h: GAN with "generator.*" and "discriminator.*" (bench/torch/dcgan.py), sizes and switches
    from the metadata GanOptions::to_metadata writes."""
    channels, height, width = (int(v) for v in metadata.get("image_shape", "1,28,28").split(","))
    return GAN(metadata.get("loss", "ns"), int(metadata.get("latent_dim", 100)), int(metadata.get("features", 64)),
               channels, height, width, num_classes=int(metadata.get("num_classes", 0)),
               pack=int(metadata.get("pack", 1)), mbstd=metadata.get("minibatch_std", "0") == "1",
               r1_gamma=float(metadata.get("r1_gamma", 0)))


def gan_labels(module, n):
    """A conditional GAN's classes in turn (0, 1, ..., K-1, 0, ...), as hundun's decode_images takes them."""
    return torch.arange(n) % module.num_classes if module.num_classes else None


# --- --eval: each model measured as hundun measures it; returns (what, PyTorch's number, hundun's number) ---


def last_epoch(metadata, field):
    """Field `field` of the last record of "history_epochs" ("<epoch> <train loss> <test ...> <seconds>;" per
    epoch, written by `hundun train`), or None if the file has no history or was tested on a part of the set."""
    records = [r.split() for r in metadata.get("history_epochs", "").split(";") if r.strip()]
    if not records or metadata.get("test_size", "0") != "0":
        return None
    return float(records[-1][field])


def test_accuracy(module, images, labels, metadata):
    with torch.no_grad():  # module.eval(): BatchNorm normalises with its running statistics
        predicted = module(images).argmax(dim=1)
    hundun = metadata.get("test_accuracy")  # Checkpoint.TorchExport's; `hundun train classifier`'s history:
    hundun = float(hundun) if hundun is not None else last_epoch(metadata, 3)  # epoch train test_loss accuracy
    return "test accuracy", (predicted == labels).double().mean().item(), hundun


def test_accuracy_flat(module, images, labels, metadata):
    return test_accuracy(module, images.reshape(images.shape[0], -1), labels, metadata)


def reconstruction_bce(module, images, labels, metadata):
    """hundun: binary_cross_entropy_with_logits summed over each image's pixels, averaged over the images."""
    with torch.no_grad():
        total = sum(F.binary_cross_entropy_with_logits(module(x), x, reduction="sum").item()
                    for x in images.split(500))
    return "reconstruction BCE per image", total / len(images), last_epoch(metadata, 2)


def negative_elbo(module, images, labels, metadata):
    """hundun's test loss (cli/generative.cpp): batches of 500, eps from a generator seeded 0, summed."""
    torch.manual_seed(0)
    total = 0.0
    with torch.no_grad():
        for x in images.split(500):
            recon, mu, logvar = module(x)  # draws eps = randn_like(std): [500, latent_dim]
            total += vae_loss(recon, x, mu, logvar).item()
    return "negative ELBO per image", total / len(images), last_epoch(metadata, 2)


def gan_logits(module, images, labels, metadata):
    torch.manual_seed(0)
    z = torch.randn(1000, module.latent_dim)
    with torch.no_grad():
        fake = module.generator(z, gan_labels(module, 1000))
        d_real = module.discriminator(images * 2 - 1, labels if module.num_classes else None).mean().item()
        d_fake = module.discriminator(fake, gan_labels(module, 1000)).mean().item()
    print(f"  mean logit D(G(z)) on 1000 samples: {d_fake:.4f}")
    return "mean logit D(x) on the test images", d_real, None


# name -> (builder taking the checkpoint's metadata, measure for --eval)
MODELS = {
    "mlp": (mlp_784_256_10, test_accuracy_flat),
    "cnn": (cnn, test_accuracy),
    "ae": (autoencoder, reconstruction_bce),
    "vae": (vae, negative_elbo),
    "gan": (gan, gan_logits),
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
    parser.add_argument("--data", default=DATA)
    args = parser.parse_args()

    arrays, metadata = load(args.checkpoint, with_metadata=True)
    parts = split_entries(arrays)
    build, measure = MODELS[args.model]
    module = build(metadata)
    load_model(module, parts.get("model", {}), args.checkpoint)

    print(f"{args.checkpoint}: step {metadata.get('hundun.step', '?')}, epoch {metadata.get('hundun.epoch', '?')}")
    for key, value in sorted(metadata.items()):
        if not key.startswith("hundun."):
            shown = value if len(value) <= 100 else f"{value[:100]}... ({len(value)} characters)"  # the histories
            print(f"  metadata {key} = {shown}")
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
        images, labels = load_split("t10k", args.data)
        module.eval()
        what, value, hundun = measure(module, images, labels, metadata)
        print(f"Fashion-MNIST {what} in PyTorch: {value:.4f}"
              + (f" (hundun measured {hundun:.4f})" if hundun is not None else ""))


if __name__ == "__main__":
    main()
