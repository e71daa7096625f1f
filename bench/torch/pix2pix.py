#!/usr/bin/python3
"""PyTorch twin of hundun's pix2pix (models/pix2pix.h; Isola et al. 2017), inpainting a centre square of Fashion-MNIST.

    /usr/bin/python3 bench/torch/pix2pix.py --epochs 1 --threads 1 --seed 1
    /usr/bin/python3 bench/torch/pix2pix.py --epochs 1 --l1-only        # the L1-only baseline of the same G

The same networks, layer names (so state_dicts interchange 1:1 with hundun's "generator.*", "discriminator.*"),
initialisation order (G first, then D, PyTorch's default init) and step as hundun. f = base width (32), C_in = C
(+ 1 mask plane), convolutions before BatchNorm without bias:
  G  U-Net: enc1 Conv2d(C_in -> f, 4, 2, 1), LeakyReLU(0.2)                         e1 [f, H/2, W/2]
            enc2 Conv2d(f -> 2f, 4, 2, 1), bn2, LeakyReLU(0.2)                      e2 [2f, H/4, W/4]
            mid  Conv2d(2f -> 2f, 3, 1, 1), bn_mid, ReLU (, Dropout)               b
            up2  ConvTranspose2d(4f -> f, 4, 2, 1) on cat(b, e2), bn_up2, ReLU (, Dropout)   d2 [f, H/2, W/2]
            up1  ConvTranspose2d(2f -> C, 4, 2, 1) on cat(d2, e1), Sigmoid           [C, H, W] in [0, 1]
  D  PatchGAN on cat(x, candidate): conv1 Conv2d(C_in + C -> f, 4, 2, 1), LeakyReLU(0.2),
            conv2 Conv2d(f -> 2f, 4, 2, 1), bn2, LeakyReLU(0.2), conv3 Conv2d(2f -> 1, 3, 1, 1): [1, H/4, W/4] logits
One step (models/pix2pix.cpp's train_step): y^ = G(x) once; D step on 1/2 [BCE(D(x, y), 1) + BCE(D(x, y^.detach()), 0)];
G step on BCE(D(x, y^), 1) + lambda |y^ - y|_1 (lambda 100) through the updated D; Adam(2e-4, betas (0.5, 0.999)).
With --l1-only only the G step on lambda L1.

Prints JSON lines: a "settings" line, then one per epoch with the mean L1 and the seconds the epoch took.
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch import nn, optim


class UNetGenerator(nn.Module):
    def __init__(self, channels=1, with_mask=False, base_width=32, dropout=0.0):
        super().__init__()
        f, c_in = base_width, channels + int(with_mask)
        self.enc1 = nn.Conv2d(c_in, f, 4, 2, 1)
        self.enc2 = nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * f)
        self.mid = nn.Conv2d(2 * f, 2 * f, 3, 1, 1, bias=False)
        self.bn_mid = nn.BatchNorm2d(2 * f)
        self.up2 = nn.ConvTranspose2d(4 * f, f, 4, 2, 1, bias=False)
        self.bn_up2 = nn.BatchNorm2d(f)
        self.up1 = nn.ConvTranspose2d(2 * f, channels, 4, 2, 1)
        self.drop_mid = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.drop_up2 = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        e1 = F.leaky_relu(self.enc1(x), 0.2)
        e2 = F.leaky_relu(self.bn2(self.enc2(e1)), 0.2)
        b = self.drop_mid(F.relu(self.bn_mid(self.mid(e2))))
        d2 = self.drop_up2(F.relu(self.bn_up2(self.up2(torch.cat([b, e2], 1)))))
        return torch.sigmoid(self.up1(torch.cat([d2, e1], 1)))


class PatchDiscriminator(nn.Module):
    def __init__(self, channels=1, with_mask=False, base_width=32):
        super().__init__()
        f = base_width
        self.conv1 = nn.Conv2d(2 * channels + int(with_mask), f, 4, 2, 1)
        self.conv2 = nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * f)
        self.conv3 = nn.Conv2d(2 * f, 1, 3, 1, 1)

    def forward(self, x, candidate):
        h = F.leaky_relu(self.conv1(torch.cat([x, candidate], 1)), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        return self.conv3(h)


class Pix2Pix(nn.Module):
    """Both networks under the names hundun's checkpoints use: "generator.*", "discriminator.*"."""

    def __init__(self, channels=1, with_mask=False, base_width=32, lambda_l1=100.0, adversarial=True, dropout=0.0):
        super().__init__()
        self.lambda_l1, self.adversarial = lambda_l1, adversarial
        self.generator = UNetGenerator(channels, with_mask, base_width, dropout)
        self.discriminator = PatchDiscriminator(channels, with_mask, base_width)


def train_step(model, adam_d, adam_g, x, y):
    """One step of models/pix2pix.cpp's train_step; returns a dict of the losses."""
    G, D = model.generator, model.discriminator
    fake = G(x)
    out = {}
    if model.adversarial:
        d_real, d_fake = D(x, y), D(x, fake.detach())
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                        + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        adam_d.zero_grad()
        loss_d.backward()
        adam_d.step()
        out["loss_d"] = loss_d.item()
    l1 = model.lambda_l1 * F.l1_loss(fake, y)
    loss_g = l1
    if model.adversarial:
        d_fake = D(x, fake)
        adversarial = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        out["adversarial"] = adversarial.item()
        loss_g = adversarial + l1
    adam_g.zero_grad()
    loss_g.backward()
    adam_g.step()
    out["loss_g"] = loss_g.item()
    out["l1"] = F.l1_loss(fake.detach(), y).item()
    return out


def centre_mask(batch, height, width, side):
    """1 inside a centred side x side square (the missing pixels), 0 elsewhere: [B, 1, H, W]."""
    m = torch.zeros(batch, 1, height, width)
    top, left = (height - side) // 2, (width - side) // 2
    m[:, :, top:top + side, left:left + side] = 1
    return m


def main():
    from epoch import add_run_arguments, start_run, timed_epoch
    from fashion_mnist import load_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser, epochs=1, batch_size=64)
    parser.add_argument("--train-size", type=int, default=0)
    parser.add_argument("--l1-only", action="store_true")
    args = parser.parse_args()

    start_run(args)
    train_x, _ = load_split("train")
    train_x = train_x.reshape(-1, 1, 28, 28)
    if args.train_size:
        train_x = train_x[:args.train_size]
    model = Pix2Pix(with_mask=True, adversarial=not args.l1_only)
    adam_d = optim.Adam(model.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    adam_g = optim.Adam(model.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    print(json.dumps({"bench": "pix2pix_epoch", "impl": "pytorch", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "epochs": args.epochs, "l1_only": args.l1_only,
                      "batch_size": args.batch_size, "seed": args.seed, "train_size": len(train_x)}), flush=True)

    def step(idx):
        y = train_x[idx]
        mask = centre_mask(len(idx), 28, 28, 14)
        x = torch.cat([y * (1 - mask), mask], 1)  # the damaged image (hole set to 0) and its mask
        return train_step(model, adam_d, adam_g, x, y)["l1"] * len(idx)

    for epoch in range(1, args.epochs + 1):
        l1, seconds, cpu_seconds = timed_epoch(model, len(train_x), args.batch_size, step)
        print(json.dumps({"bench": "pix2pix_epoch", "impl": "pytorch", "epoch": epoch, "l1": round(l1, 4),
                          "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3)}), flush=True)


if __name__ == "__main__":
    main()
