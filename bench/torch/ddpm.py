#!/usr/bin/python3
"""PyTorch twin of hundun's diffusion model (models/diffusion.h, `hundun train diffusion`): U-Net-28 and one DDPM
training step at batch 64.

    /usr/bin/python3 bench/torch/ddpm.py --steps 20 --threads 1 --seed 1
    /usr/bin/python3 bench/torch/ddpm.py --count-parameters
    /usr/bin/python3 bench/torch/ddpm.py --sample 50 --threads 2      (bench/ddim_sample's twin)

The same network, layer names (so state_dicts interchange), construction order (so the same seed draws the same
weights with PyTorch's default init) and step as hundun; channels c = (32, 64, 128), time embedding d = 128,
GroupNorm(8):
  time_mlp   sinusoidal(t) [B, d] -> Linear(d, d), SiLU, Linear(d, d) (+ label_emb(c) when class-conditional)
  conv_in    Conv2d(1 -> c0, 3, 1, 1)
  down.i     ResBlock(c_{i-1} -> c_i), kept as skip i; downsample.i Conv2d(c_i, c_i, 3, 2, 1) between levels
  mid        ResBlock(c2 -> c2)
  up.j       (after upsample.{j-1} ConvTranspose2d(c_{i+1} -> c_i, 4, 2, 1)) concat skip i, ResBlock(2 c_i -> c_i)
  out        norm_out GroupNorm(8, c0), SiLU, conv_out Conv2d(c0 -> 1, 3, 1, 1)
  ResBlock   GroupNorm, SiLU, conv1 3x3, + time_proj(SiLU(temb)), GroupNorm, SiLU, conv2 3x3, + x (1x1 "skip" conv
             when the channels change)
One step (Ho et al. 2020, Algorithm 1): t ~ U{0..T-1}, eps ~ N(0, I), x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,
loss = mean (eps_theta(x_t, t) - eps)^2, Adam(2e-4) step, EMA update (decay min(0.999, (1 + k) / (10 + k)) after k
steps); linear schedule, T = 1000.

Prints JSON lines: a "settings" line (with the parameter count), then one line per timed step block: the median
seconds per step (wall and CPU) over --steps steps after --warmup, and the peak memory of the process. Threads as in vae.py: --threads sets torch's own,
OpenBLAS sizes its own pool.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn, optim

from blas import blas_settings
from epoch import start_run


def timestep_embedding(t, dim):
    """emb[b, i] = sin(t_b w_i), emb[b, d/2 + i] = cos(t_b w_i), w_i = 10000^(-i / (d/2))."""
    half = dim // 2
    w = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * w[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.time_proj = nn.Linear(time_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class UNet(nn.Module):
    def __init__(self, channels=(32, 64, 128), time_dim=128, groups=8, image_channels=1, num_classes=0):
        super().__init__()
        ch, d, g, levels = channels, time_dim, groups, len(channels)
        self.time_dim, self.num_classes = d, num_classes
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        # class-conditional: one row per class and a last one for "no label" (classifier-free guidance)
        self.label_emb = nn.Embedding(num_classes + 1, d) if num_classes > 0 else None
        self.conv_in = nn.Conv2d(image_channels, ch[0], 3, 1, 1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        for i in range(levels):
            self.down.append(ResBlock(ch[0] if i == 0 else ch[i - 1], ch[i], d, g))
            if i + 1 < levels:
                self.downsample.append(nn.Conv2d(ch[i], ch[i], 3, 2, 1))
        self.mid = ResBlock(ch[-1], ch[-1], d, g)
        self.upsample, self.up = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(levels)):
            if i < levels - 1:
                self.upsample.append(nn.ConvTranspose2d(ch[i + 1], ch[i], 4, 2, 1))
            self.up.append(ResBlock(2 * ch[i], ch[i], d, g))
        self.norm_out = nn.GroupNorm(g, ch[0])
        self.conv_out = nn.Conv2d(ch[0], image_channels, 3, 1, 1)

    def forward(self, x, t, labels=None):
        temb = self.time_mlp(timestep_embedding(t, self.time_dim))
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.num_classes)
            temb = temb + self.label_emb(labels.long())
        h = self.conv_in(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, temb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, temb)
        for j, block in enumerate(self.up):
            if j > 0:
                h = self.upsample[j - 1](h)
            h = block(torch.cat([h, skips[-1 - j]], dim=1), temb)
        return self.conv_out(F.silu(self.norm_out(h)))


def linear_alpha_bar(T=1000, beta_start=1e-4, beta_end=0.02):
    beta = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return torch.cumprod(1 - beta, 0)


def train_step(unet, ema, adam, alpha_bar, x0, T=1000, decay=0.999):
    """Algorithm 1: t, then eps, drawn in hundun's order; one Adam step; one EMA update."""
    t = torch.randint(0, T, (x0.shape[0],))
    eps = torch.randn_like(x0)
    abar = alpha_bar[t].float()[:, None, None, None]
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    loss = (unet(x_t, t.float()) - eps).square().mean()
    adam.zero_grad()
    loss.backward()
    adam.step()
    k = adam.state[next(iter(unet.parameters()))]["step"]  # steps taken; warm-up as hundun's ema_warmup
    decay = min(decay, (1 + float(k)) / (10 + float(k)))
    with torch.no_grad():
        for s, p in zip(ema, unet.parameters()):
            s.mul_(decay).add_(p, alpha=1 - decay)
    return loss.item()


def ddim_sample(unet, alpha_bar, x, steps, T=1000):
    """DDIM with eta = 0 (Song et al. 2021, eq. 12) over tau_i = (i + 1) T / S - 1, as models/diffusion.cpp."""
    tau = [(i + 1) * T // steps - 1 for i in range(steps)]
    with torch.no_grad():
        for i in reversed(range(steps)):
            t = tau[i]
            abar = alpha_bar[t].item()
            abar_prev = alpha_bar[tau[i - 1]].item() if i > 0 else 1.0
            eps = unet(x, torch.full((x.shape[0],), float(t)))
            x0 = (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
            x = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps
    return x.clamp(-1, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--count-parameters", action="store_true", help="print the U-Net's parameter count and stop")
    parser.add_argument("--sample", type=int, default=0, metavar="S",
                        help="time DDIM with S steps for 64 images instead (bench/ddim_sample's twin)")
    args = parser.parse_args()

    start_run(args)
    unet = UNet()
    n_params = sum(p.numel() for p in unet.parameters())
    if args.count_parameters:
        print(json.dumps({"model": "unet28", "parameters": n_params}))
        return
    if args.sample:
        unet.eval()
        x_T = torch.randn(64, 1, 28, 28)
        start, cpu_start = time.perf_counter(), time.process_time()
        images = ddim_sample(unet, linear_alpha_bar(), x_T, args.sample)
        print(json.dumps({"bench": "ddim_sample", "impl": "pytorch", "threads": torch.get_num_threads(), "images": 64,
                          "steps": args.sample, "seconds": round(time.perf_counter() - start, 3),
                          "cpu_seconds": round(time.process_time() - cpu_start, 3),
                          "mean_pixel": round(images.mean().item(), 5),
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}), flush=True)
        return
    adam = optim.Adam(unet.parameters(), lr=2e-4)
    ema = [p.detach().clone() for p in unet.parameters()]
    alpha_bar = linear_alpha_bar()
    # The data do not change a step's cost: random images in [-1, 1] stand in for Fashion-MNIST.
    x0 = torch.rand(args.batch_size, 1, 28, 28) * 2 - 1
    print(json.dumps({"bench": "ddpm_step", "impl": "pytorch", "torch": torch.__version__, **blas_settings(),
                      "threads": torch.get_num_threads(), "batch_size": args.batch_size, "seed": args.seed,
                      "parameters": n_params, "steps": args.steps, "warmup": args.warmup}), flush=True)
    unet.train()
    for _ in range(args.warmup):
        train_step(unet, ema, adam, alpha_bar, x0)
    walls, cpus, losses = [], [], []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(train_step(unet, ema, adam, alpha_bar, x0))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    print(json.dumps({"bench": "ddpm_step", "impl": "pytorch", "steps": args.steps,
                      "median_seconds": round(statistics.median(walls), 4), "min_seconds": round(min(walls), 4),
                      "median_cpu_seconds": round(statistics.median(cpus), 4), "last_loss": round(losses[-1], 4),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}),
          flush=True)


if __name__ == "__main__":
    main()
