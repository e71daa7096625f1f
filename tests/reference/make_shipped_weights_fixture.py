#!/usr/bin/python3
"""Writes tests/fixtures/shipped_weights_torch.safetensors: what the PyTorch twins compute with the shipped
weights (weights/*.safetensors, loaded as load_checkpoint_into_torch.py loads them), which
tests/test_weights.cpp (ShippedWeights.*SameAsPyTorch) compares with hundun's models on the same images.

Run from anywhere:   /usr/bin/python3 tests/reference/make_shipped_weights_fixture.py
after `make weights` (the fixture belongs to the weights it was made from). Deterministic (eval mode, no
random draws, float32, one thread); the file is about 150 KB.

The images are the first N = 16 Fashion-MNIST test images. Tensors (float32):
  classifier.logits [N, 10]          the CNN's logits, BatchNorm with its running statistics (eval mode)
  ae.reconstruction [N, 1, 28, 28]   sigmoid(decoder(encoder(x))): hundun's Autoencoder::reconstruct
  vae.decoded_mu    [N, 1, 28, 28]   the decoder's pixel probabilities at z = mu (no noise)
  vae2d.decoded_mu  [N, 1, 28, 28]   the same for the 2-D VAE
  gan.z             [N, 100]         noise from torch.Generator().manual_seed(0)
  gan.generated, cgan.generated [N, 1, 28, 28]   (G(z) + 1) / 2, hundun's decode_images (cgan: classes in turn)
  gan.d_logits, cgan.d_logits   [N, 1]           D on the test images scaled to [-1, 1] (cgan: told the classes in turn)
Metadata: "torch" = the torch version, "<name>.step" = the training step the weights file records (a
test failing after `make weights` names it, so a stale fixture is easy to tell from a broken model).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from load_checkpoint_into_torch import MODELS, load_model, split_entries  # noqa: E402
from fashion_mnist import load_split  # noqa: E402
from safetensors_io import load, save  # noqa: E402

WEIGHTS = os.path.join(HERE, "..", "..", "weights")
OUT = os.path.join(HERE, "..", "fixtures", "shipped_weights_torch.safetensors")
N = 16


def twin(name, model):
    """The weights file weights/<name>.safetensors in the PyTorch twin MODELS[model], in eval mode."""
    path = os.path.join(WEIGHTS, name + ".safetensors")
    arrays, metadata = load(path, with_metadata=True)
    module = MODELS[model][0](metadata)
    load_model(module, split_entries(arrays)["model"], path)
    return module.eval(), metadata


def main():
    torch.set_num_threads(1)
    images, _ = load_split("t10k")
    x = images[:N]  # [N, 1, 28, 28]
    tensors, metadata = {}, {"torch": torch.__version__}
    with torch.no_grad():
        classifier, info = twin("classifier", "cnn")
        tensors["classifier.logits"] = classifier(x)
        metadata["classifier.step"] = info["hundun.step"]

        ae, info = twin("ae", "ae")
        tensors["ae.reconstruction"] = torch.sigmoid(ae(x))
        metadata["ae.step"] = info["hundun.step"]

        for name in ("vae", "vae2d"):
            vae, info = twin(name, "vae")
            mu, _ = vae.encode(x.reshape(N, 784))
            tensors[f"{name}.decoded_mu"] = vae.decode(mu).reshape(N, 1, 28, 28)  # decode ends in a sigmoid
            metadata[f"{name}.step"] = info["hundun.step"]

        # The GANs: G(z) for N fixed z (the conditional one's classes in turn) and D's logits on the test images.
        z = torch.randn(N, 100, generator=torch.Generator().manual_seed(0))
        tensors["gan.z"] = z
        for name in ("gan", "cgan"):
            model, info = twin(name, "gan")
            labels = torch.arange(N) % model.num_classes if model.num_classes else None
            tensors[f"{name}.generated"] = (model.generator(z, labels) + 1) / 2  # hundun's decode_images: [0, 1]
            tensors[f"{name}.d_logits"] = model.discriminator(x * 2 - 1, labels)
            metadata[f"{name}.step"] = info["hundun.step"]
    save(OUT, {k: v.contiguous() for k, v in tensors.items()}, metadata)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
