#!/usr/bin/python3
"""PyTorch twin of hundun's DCGAN (models/gan.h, `hundun train gan`), on Fashion-MNIST.

    /usr/bin/python3 bench/torch/dcgan.py --epochs 1 --loss ns --threads 1 --seed 1
    /usr/bin/python3 bench/torch/dcgan.py --epochs 5 --save out/twin_gan.safetensors   # then: hundun eval gan --ckpt it

The same networks, layer names (so state_dicts interchange), initialisation order (G first, then D, PyTorch's
default init) and step as hundun, f = features (64), s = H/4 (7):
  G  fc Linear(100 -> 2f*s*s), view [2f, s, s], bn0 BatchNorm2d(2f), ReLU,
     up1 ConvTranspose2d(2f -> f, 4, 2, 1), bn1 BatchNorm2d(f), ReLU, up2 ConvTranspose2d(f -> 1, 4, 2, 1), Tanh
  D  conv1 Conv2d(1 -> f, 4, 2, 1), LeakyReLU(0.2), conv2 Conv2d(f -> 2f, 4, 2, 1), bn2 BatchNorm2d(2f)
     (not for WGAN-GP's critic), LeakyReLU(0.2), fc Linear(2f*s*s -> 1): a logit
  Adam(2e-4, betas (0.5, 0.999)) for each, batch 64, pixels / 255 scaled to [-1, 1].
Switches, as hundun's GanOptions: num_classes K (G reads [z, one_hot(y)], D reads the image and K label planes),
pack m (PacGAN: D judges m consecutive images as m*C channels), minibatch_std (one more plane before fc: the
features' standard deviation over the batch, averaged), r1_gamma (R1: (gamma/2) E||grad_x D(x)||^2 on real x).
One step (Goodfellow et al. 2014, Algorithm 1): z ~ N(0, I); the discriminator's loss on D(x) and D(G(z).detach()),
backward, step; then (every n_critic-th step for WGAN-GP, else always) the generator's loss on D(G(z)) through the
updated D, backward, step. The five losses are those of train_step in models/gan.cpp, formula for formula.

Prints JSON lines: a "settings" line, then one per epoch with the mean D and G losses and the seconds the epoch
took (wall and CPU). Threads as in vae.py: --threads sets torch's own, OpenBLAS sizes its own pool.
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn, optim

from blas import blas_settings
from epoch import add_run_arguments, start_run, timed_epoch
from fashion_mnist import load_split

LOSSES = ["ns", "minimax", "lsgan", "hinge", "wgan-gp"]


class GeneratorNet(nn.Module):
    def __init__(self, latent_dim=100, features=64, channels=1, height=28, width=28, num_classes=0):
        super().__init__()
        f, self.h, self.w, self.num_classes = features, height // 4, width // 4, num_classes
        self.fc = nn.Linear(latent_dim + num_classes, 2 * f * self.h * self.w)
        self.bn0 = nn.BatchNorm2d(2 * f)
        self.up1 = nn.ConvTranspose2d(2 * f, f, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(f)
        self.up2 = nn.ConvTranspose2d(f, channels, 4, 2, 1)

    def forward(self, z, labels=None):
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels.long(), self.num_classes).float()], 1)
        x = self.fc(z).view(z.shape[0], -1, self.h, self.w)
        x = F.relu(self.bn0(x))
        x = F.relu(self.bn1(self.up1(x)))
        return torch.tanh(self.up2(x))


def minibatch_std(x):
    """Karras et al. 2018: [N, c, h, w] -> [N, c + 1, h, w], the features' std over the batch, averaged."""
    sd = torch.sqrt(((x - x.mean(0, keepdim=True)) ** 2).mean(0) + 1e-8)
    return torch.cat([x, sd.mean().view(1, 1, 1, 1).expand(x.shape[0], 1, x.shape[2], x.shape[3])], 1)


class Discriminator(nn.Module):
    def __init__(self, features=64, channels=1, height=28, width=28, batchnorm=True, num_classes=0, pack=1,
                 mbstd=False):
        super().__init__()
        f, self.num_classes, self.pack, self.mbstd = features, num_classes, pack, mbstd
        self.conv1 = nn.Conv2d(pack * channels + num_classes, f, 4, 2, 1)
        self.conv2 = nn.Conv2d(f, 2 * f, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(2 * f) if batchnorm else None  # the WGAN-GP critic has none
        self.fc = nn.Linear((2 * f + int(mbstd)) * (height // 4) * (width // 4), 1)

    def forward(self, x, labels=None):
        if self.num_classes:
            planes = F.one_hot(labels.long(), self.num_classes).float()[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], 1)
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, -1, x.shape[2], x.shape[3])
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = self.conv2(x)
        if self.bn2 is not None:
            x = self.bn2(x)
        x = F.leaky_relu(x, 0.2)
        if self.mbstd:
            x = minibatch_std(x)
        return self.fc(x.flatten(1))


class GAN(nn.Module):
    """Both networks under the names hundun's checkpoints use: "generator.*", "discriminator.*"."""

    def __init__(self, loss="ns", latent_dim=100, features=64, channels=1, height=28, width=28, num_classes=0,
                 pack=1, mbstd=False, r1_gamma=0.0):
        super().__init__()
        self.loss, self.latent_dim, self.num_classes, self.pack, self.r1_gamma = loss, latent_dim, num_classes, pack, r1_gamma
        self.generator = GeneratorNet(latent_dim, features, channels, height, width, num_classes)
        self.discriminator = Discriminator(features, channels, height, width, batchnorm=loss != "wgan-gp",
                                           num_classes=num_classes, pack=pack, mbstd=mbstd)


def gradient_penalty(critic, real, fake, lam, labels=None):
    """lambda E[(||grad_x^ D(x^)||_2 - 1)^2], x^ = eps x + (1 - eps) G(z), eps ~ U[0, 1] per image."""
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat, labels).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(g.square().sum(dim=(1, 2, 3)) + 1e-12)
    return lam * (norm - 1).square().mean()


def r1_penalty(d_real, x, gamma):
    """(gamma / 2) E[||grad_x D(x)||^2] over the real batch (per D output)."""
    (g,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
    return 0.5 * gamma / d_real.shape[0] * g.square().sum()


def discriminator_loss(loss, d_real, d_fake, D, real, fake, lam=10.0, labels=None):
    if loss in ("ns", "minimax"):
        return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    if loss == "lsgan":
        return 0.5 * (d_real - 1).square().mean() + 0.5 * d_fake.square().mean()
    if loss == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    return d_fake.mean() - d_real.mean() + gradient_penalty(D, real, fake, lam, labels)


def generator_loss(loss, d_fake):
    if loss == "minimax":
        return -F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    if loss == "ns":
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    if loss == "lsgan":
        return 0.5 * (d_fake - 1).square().mean()
    return -d_fake.mean()


def train_step(gan, adam_d, adam_g, real, steps_done, labels=None):
    """One step of models/gan.cpp's train_step; returns (L_D, L_G)."""
    G, D = gan.generator, gan.discriminator
    n_critic = 5 if gan.loss == "wgan-gp" else 1
    generator_steps = (steps_done + 1) % n_critic == 0
    batch = real.shape[0] - real.shape[0] % gan.pack
    real = real[:batch].requires_grad_(gan.r1_gamma > 0)
    y = labels[:batch] if gan.num_classes else None
    z = torch.randn(batch, gan.latent_dim)
    with torch.set_grad_enabled(generator_steps):
        fake = G(z, y)
    d_real, d_fake = D(real, y), D(fake.detach(), y)
    loss_d = discriminator_loss(gan.loss, d_real, d_fake, D, real.detach(), fake.detach(), labels=y)
    if gan.r1_gamma > 0:
        loss_d = loss_d + r1_penalty(d_real, real, gan.r1_gamma)
    adam_d.zero_grad()
    loss_d.backward()
    adam_d.step()
    if not generator_steps:  # a critic-only step reports -E[D(G(z))] before the critic's update, as hundun
        return loss_d.item(), -d_fake.mean().item()
    loss_g = generator_loss(gan.loss, D(fake, y))
    adam_g.zero_grad()
    loss_g.backward()
    adam_g.step()
    return loss_d.item(), loss_g.item()


def save_as_hundun_checkpoint(gan, args, path):
    """Both networks under hundun's checkpoint names ("model.generator.*", "model.discriminator.*") with the
    metadata models/gan.cpp's GanOptions::from_metadata reads, so `hundun sample/eval gan` open the twin's weights."""
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
    from safetensors_io import save
    tensors = {"model." + k: v.detach().float().contiguous() for k, v in gan.state_dict().items()}
    metadata = {"model": "gan", "arch": "dcgan", "trained_by": "bench/torch/dcgan.py", "latent_dim": "100",
                "features": "64", "loss": args.loss, "image_shape": "1,28,28", "num_classes": str(gan.num_classes),
                "pack": str(gan.pack), "minibatch_std": "1" if args.mbstd else "0", "r1_gamma": str(args.r1),
                "hundun.epoch": str(args.epochs)}
    save(path, tensors, metadata)
    print(json.dumps({"bench": "dcgan_epoch", "impl": "pytorch", "saved": path}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser, epochs=1, batch_size=64)
    parser.add_argument("--loss", choices=LOSSES, default="ns")
    parser.add_argument("--train-size", type=int, default=0)
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--pack", type=int, default=1)
    parser.add_argument("--mbstd", action="store_true")
    parser.add_argument("--r1", type=float, default=0.0)
    parser.add_argument("--save", help="write both networks as a hundun checkpoint (`hundun eval gan` judges it)")
    args = parser.parse_args()

    start_run(args)
    train_x, train_y = load_split("train")
    train_x = train_x.reshape(-1, 1, 28, 28) * 2 - 1  # [0, 1] -> [-1, 1]
    if args.train_size:
        train_x, train_y = train_x[:args.train_size], train_y[:args.train_size]
    gan = GAN(args.loss, num_classes=10 if args.conditional else 0, pack=args.pack, mbstd=args.mbstd, r1_gamma=args.r1)
    adam_d = optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    adam_g = optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    print(json.dumps({"bench": "dcgan_epoch", "impl": "pytorch", "torch": torch.__version__, **blas_settings(),
                      "threads": torch.get_num_threads(), "epochs": args.epochs, "loss": args.loss,
                      "batch_size": args.batch_size, "seed": args.seed, "train_size": len(train_x)}), flush=True)
    steps = [0]
    g_sum = [0.0]

    def step(idx):
        real = train_x[idx]
        loss_d, loss_g = train_step(gan, adam_d, adam_g, real, steps[0], train_y[idx])
        steps[0] += 1
        g_sum[0] += loss_g * len(idx)
        return loss_d * len(idx)

    for epoch in range(1, args.epochs + 1):
        g_sum[0] = 0.0
        d_loss, seconds, cpu_seconds = timed_epoch(gan, len(train_x), args.batch_size, step)
        print(json.dumps({"bench": "dcgan_epoch", "impl": "pytorch", "epoch": epoch, "d_loss": round(d_loss, 4),
                          "g_loss": round(g_sum[0] / len(train_x), 4), "seconds": round(seconds, 3),
                          "cpu_seconds": round(cpu_seconds, 3)}), flush=True)
    if args.save:
        save_as_hundun_checkpoint(gan, args, args.save)


if __name__ == "__main__":
    main()
