#!/usr/bin/python3
"""Writes tests/fixtures/gan.safetensors: PyTorch's values for one WGAN-GP critic step of a tiny DCGAN (the
networks of bench/torch/dcgan.py), which tests/test_gan.cpp compares against.

Run from anywhere:   /usr/bin/python3 tests/reference/make_gan_fixture.py
Deterministic (fixed seed, float32, CPU, one thread); the file is a few KB.

The GAN: latent_dim 5, features 3, images 1 x 8 x 8, loss wgan-gp (so the critic has no BatchNorm), built after
torch.manual_seed(0), G first then D, in training mode. Tensors (float32):
  state.<name>      its state_dict as built ("generator.fc.weight", ..., BatchNorm's num_batches_tracked as a float)
  x                 a real batch [4, 1, 8, 8] in [-1, 1]
  z                 the noise [4, 5];  fake = G(z) [4, 1, 8, 8] (G in training mode: batch statistics)
  eps               the interpolation weights [4, 1, 1, 1] of x^ = eps x + (1 - eps) fake
  penalty           10 E[(||grad_x^ D(x^)||_2 - 1)^2]   (scalar)
  loss_d            E[D(fake)] - E[D(x)] + penalty          (scalar)
  grad.<name>       d loss_d / d(each critic parameter): the gradient of the penalty goes through the
                    critic's gradient (create_graph), the path tests/test_gan.cpp checks

Then two whole steps of dcgan.py's train_step (Algorithm 1: D step, then G step, Adam(2e-4, (0.5, 0.999))) on
the same tiny sizes with the switches on, each under a prefix P:
  cond   loss ns, num_classes 3, minibatch_std, r1_gamma 1 (R1 through BatchNorm's double backward), batch 8
  pack   loss lsgan, pack 2, batch 7 (cut to 6: PacGAN drops the image that makes no pack)
  P.x, P.y          the real batch and its labels (y unused by pack)
  P.after.<name>    every parameter after the step
  P.grad.<name>     every parameter's .grad after the step: G's from L_G; D's from L_D plus L_G's pass through D
                    (adam_d.zero_grad comes only at the next D step, in both frameworks)
  P.loss_d, P.loss_g
The networks are built after torch.manual_seed(0) (G then D), x and y drawn next, then torch.manual_seed(1)
before the step, so hundun's Generator(1) draws the same z.
Metadata: "torch" = the torch version.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "torch"))
from safetensors_io import save  # noqa: E402
from dcgan import GAN, train_step  # noqa: E402
from torch import optim  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "gan.safetensors")


def whole_step(prefix, options, batch):
    torch.manual_seed(0)
    loss = options.pop("loss")
    gan = GAN(loss, latent_dim=5, features=3, channels=1, height=8, width=8, **options)
    gan.train()
    x = torch.rand(batch, 1, 8, 8) * 2 - 1
    y = torch.randint(0, 3, (batch,)).float()
    adam_d = optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    adam_g = optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    torch.manual_seed(1)
    loss_d, loss_g = train_step(gan, adam_d, adam_g, x, 0, y)
    out = {f"{prefix}.x": x, f"{prefix}.y": y, f"{prefix}.loss_d": torch.tensor(loss_d),
           f"{prefix}.loss_g": torch.tensor(loss_g)}
    for name, p in gan.named_parameters():
        out[f"{prefix}.after.{name}"] = p.detach().clone()
        out[f"{prefix}.grad.{name}"] = p.grad.detach().clone()
    return out


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gan = GAN("wgan-gp", latent_dim=5, features=3, channels=1, height=8, width=8)
    gan.train()
    tensors = {"state." + k: v.detach().clone().float() for k, v in gan.state_dict().items()}
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    z = torch.randn(4, 5)
    eps = torch.rand(4, 1, 1, 1)
    with torch.no_grad():
        fake = gan.generator(z)
    D = gan.discriminator
    x_hat = (eps * x + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    penalty = 10.0 * (torch.sqrt(g.square().sum(dim=(1, 2, 3)) + 1e-12) - 1).square().mean()
    loss_d = D(fake).mean() - D(x).mean() + penalty
    names = [n for n, _ in D.named_parameters()]
    grads = torch.autograd.grad(loss_d, [p for _, p in D.named_parameters()])
    tensors.update({"x": x, "z": z, "eps": eps, "fake": fake, "penalty": penalty.detach(), "loss_d": loss_d.detach()})
    tensors.update({"grad.discriminator." + n: gr for n, gr in zip(names, grads)})
    for prefix, options, batch in [("cond", dict(loss="ns", num_classes=3, mbstd=True, r1_gamma=1.0), 8),
                                   ("pack", dict(loss="lsgan", pack=2), 7)]:
        tensors.update(whole_step(prefix, options, batch))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, tensors, {"torch": torch.__version__})
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
