#!/usr/bin/python3
"""Writes tests/fixtures/diffusion.safetensors: PyTorch's values for the diffusion model's schedules and a tiny
U-Net (the network of bench/torch/ddpm.py), which tests/test_diffusion.cpp compares against.

Run from anywhere:   /usr/bin/python3 tests/reference/make_diffusion_fixture.py
Deterministic (fixed seed, float32 network, float64 schedules, CPU, one thread); the file is a few tens of KB.

Tensors (float32):
  linear.alpha_bar, cosine.alpha_bar   [1000]: abar_t of the linear (1e-4 .. 0.02) and cosine (s = 0.008, beta
                                       clipped at 0.999) schedules, computed in float64 as Ho et al. and Nichol &
                                       Dhariwal write them
  linear.beta, cosine.beta             [1000]
  state.<name>                         the tiny U-Net's state_dict as built after torch.manual_seed(0): channels
                                       (8, 16), time_dim 16, GroupNorm(4), images 1 x 8 x 8
  x [3, 1, 8, 8], t [3]                an input and its steps;  out [3, 1, 8, 8] = unet(x, t)
  grad.<name>                          d sum(out * gout) / d(each parameter), gout [3, 1, 8, 8]
  parameters_unet28                    the parameter count of the full U-Net-28 (channels 32, 64, 128), a scalar
  train.x0 [4, 1, 8, 8], train.losses [3]   three steps of Algorithm 1 (bench/torch/ddpm.py's train_step, T = 50,
                                       Adam 1e-3, EMA 0.999) of the tiny U-Net built after torch.manual_seed(0), x0 drawn
                                       right after it: the same weights, t and eps as hundun's Generator(0) draws
Metadata: "torch" = the torch version.
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "torch"))
from safetensors_io import save  # noqa: E402
from ddpm import UNet, linear_alpha_bar, train_step  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "diffusion.safetensors")


def cosine_betas(T=1000, s=0.008, max_beta=0.999):
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return torch.tensor([min(1 - f(t + 1) / f(t), max_beta) for t in range(T)], dtype=torch.float64)


def main():
    torch.set_num_threads(1)
    tensors = {}
    linear_beta = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    tensors["linear.beta"] = linear_beta.float()
    tensors["linear.alpha_bar"] = linear_alpha_bar().float()
    cb = cosine_betas()
    tensors["cosine.beta"] = cb.float()
    tensors["cosine.alpha_bar"] = torch.cumprod(1 - cb, 0).float()

    torch.manual_seed(0)
    unet = UNet(channels=(8, 16), time_dim=16, groups=4)
    tensors.update({"state." + k: v.detach().clone() for k, v in unet.state_dict().items()})
    x = torch.randn(3, 1, 8, 8)
    t = torch.tensor([0.0, 17.0, 999.0])
    out = unet(x, t)
    gout = torch.randn(out.shape)
    names = [n for n, _ in unet.named_parameters()]
    grads = torch.autograd.grad((out * gout).sum(), [p for _, p in unet.named_parameters()])
    tensors.update({"x": x, "t": t, "out": out.detach(), "gout": gout})
    tensors.update({"grad." + n: g for n, g in zip(names, grads)})
    tensors["parameters_unet28"] = torch.tensor(float(sum(p.numel() for p in UNet().parameters())))

    torch.manual_seed(0)
    unet = UNet(channels=(8, 16), time_dim=16, groups=4)
    x0 = torch.rand(4, 1, 8, 8) * 2 - 1
    adam = torch.optim.Adam(unet.parameters(), lr=1e-3)
    ema = [p.detach().clone() for p in unet.parameters()]
    losses = [train_step(unet, ema, adam, linear_alpha_bar(50), x0, T=50) for _ in range(3)]
    tensors["train.x0"] = x0
    tensors["train.losses"] = torch.tensor(losses)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, {k: v.numpy() for k, v in tensors.items()}, {"torch": torch.__version__})
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
