#!/usr/bin/python3
"""Writes tests/fixtures/pix2pix.safetensors: PyTorch's values for one whole pix2pix step (the networks and
train_step of bench/torch/pix2pix.py), which tests/test_pix2pix.cpp compares against.

Run from anywhere:   /usr/bin/python3 tests/reference/make_pix2pix_fixture.py
Deterministic (fixed seed, float32, CPU, one thread); the file is about 230 KB.

Two cases, each under a prefix P, a batch of 4, no dropout, in training mode:
  gan   adversarial, with_mask, base width 8, 1 x 28 x 28: x = [the image with a centre hole (pixels 0), the hole's
        mask], y the image
  l1    the L1-only baseline, no mask, base width 4, 1 x 12 x 12: x a noisy image, y the clean one (D's entries are
        left out: it is never run)
Built after torch.manual_seed(0) (G then D), x and y drawn next. Adam(2e-4, betas (0.5, 0.999)) for each network.
Tensors (float32):
  P.init.<name>     the state_dict as built ("generator.enc1.weight", ..., num_batches_tracked as a float)
  P.x, P.y          G's input [4, C_in, H, W] and the clean images [4, C, H, W]
  P.fake            G(x) before the step [4, C, H, W]
  P.loss_d, P.adversarial, P.l1, P.loss_g   the step's losses (loss_d and adversarial only for gan)
  P.grad.<name>     every parameter's .grad after the step: G's from L_G; D's from L_D plus L_G's pass through D
                    (adam_d.zero_grad comes only at the next D step, in both frameworks); l1: G's only
  P.after.<name>    the whole state_dict after the step (BatchNorm's running statistics included)
Metadata: "torch" = the torch version.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "torch"))
from safetensors_io import save  # noqa: E402
from pix2pix import Pix2Pix, train_step, centre_mask  # noqa: E402
from torch import optim  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "pix2pix.safetensors")


def state(model):
    """The state_dict; the L1-only baseline's D never moves, so only G's entries are kept for it."""
    return {k: v.detach().clone().float() for k, v in model.state_dict().items()
            if model.adversarial or k.startswith("generator.")}


def one_step(prefix, adversarial, with_mask, size, width):
    torch.manual_seed(0)
    model = Pix2Pix(channels=1, with_mask=with_mask, base_width=width, adversarial=adversarial)
    model.train()
    out = {f"{prefix}.init.{k}": v for k, v in state(model).items()}
    y = torch.rand(4, 1, size, size)
    if with_mask:
        mask = centre_mask(4, size, size, size // 2)
        x = torch.cat([y * (1 - mask), mask], 1)
    else:
        x = (y + 0.3 * torch.randn(4, 1, size, size)).clamp(0, 1)
    with torch.no_grad():
        fake = model.generator(x)  # G's output as the step sees it (running statistics move; they are not compared)
    torch.manual_seed(0)
    model = Pix2Pix(channels=1, with_mask=with_mask, base_width=width, adversarial=adversarial)
    model.train()
    adam_d = optim.Adam(model.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    adam_g = optim.Adam(model.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    losses = train_step(model, adam_d, adam_g, x, y)
    out.update({f"{prefix}.x": x, f"{prefix}.y": y, f"{prefix}.fake": fake})
    out.update({f"{prefix}.{k}": torch.tensor(v) for k, v in losses.items()})
    for name, p in model.named_parameters():
        if p.grad is not None:
            out[f"{prefix}.grad.{name}"] = p.grad.detach().clone()
    out.update({f"{prefix}.after.{k}": v for k, v in state(model).items()})
    return out


def main():
    torch.set_num_threads(1)
    tensors = {}
    tensors.update(one_step("gan", adversarial=True, with_mask=True, size=28, width=8))
    tensors.update(one_step("l1", adversarial=False, with_mask=False, size=12, width=4))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, tensors, {"torch": torch.__version__})
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
