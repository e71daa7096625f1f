#!/usr/bin/python3
"""Writes tests/fixtures/nn.safetensors: PyTorch's values for hundun's layers (nn/layers.h) and weight
initialisation (nn/init.h), which tests/test_layers.cpp compares against.

Run from anywhere:   /usr/bin/python3 tests/reference/make_nn_fixtures.py
Deterministic (fixed seeds, float32, CPU, one thread); the file is about 110 KB.

Tensors (all float32; integer tensors such as Embedding indices are stored as floats):

  init.<layer>.<param>        weights drawn by PyTorch's default initialisation after torch.manual_seed(0),
                              building in order l1 = Linear(784, 400), l2 = Linear(400, 20),
                              conv = Conv2d(1, 8, 3), deconv = ConvTranspose2d(8, 4, 4, stride=2),
                              emb = Embedding(10, 3), l3 = Linear(6, 5, bias=False), bn = BatchNorm2d(3).
                              init.l1.weight is big, so only init.l1.weight.head and .tail are stored
                              (its first and last 512 elements, flat).
  initfn.<n>                  torch.nn.init functions applied one after another after torch.manual_seed(1),
                              see INIT_FNS below.
  dropout.x, dropout.y1, dropout.y2, dropout.grad.x
                              nn.Dropout(0.3) in training mode after torch.manual_seed(2): two forward
                              calls on the same x, and the gradient of sum(y1 * dropout.R).
  <case>.x, <case>.R, <case>.y, <case>.grad.x, <case>.state.<name>, <case>.grad.<param>,
  <case>.after.<buffer>       one layer case (CASES below): its state_dict before the forward call
                              (num_batches_tracked included), input x, output y, R, the gradients of
                              loss = sum(y * R) with respect to x and each parameter, and for layers with
                              buffers the buffers after the call (BatchNorm's running statistics).
Metadata: "<case>.repr" = repr(layer), "<case>.train" = "1" or "0", "torch" = the torch version.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "nn.safetensors")

tensors = {}
metadata = {"torch": torch.__version__}


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).contiguous().clone()


def init_fixtures():
    torch.manual_seed(0)
    layers = [("l1", nn.Linear(784, 400)), ("l2", nn.Linear(400, 20)), ("conv", nn.Conv2d(1, 8, 3)),
              ("deconv", nn.ConvTranspose2d(8, 4, 4, stride=2)), ("emb", nn.Embedding(10, 3)),
              ("l3", nn.Linear(6, 5, bias=False)), ("bn", nn.BatchNorm2d(3))]
    for layer_name, layer in layers:
        for name, value in layer.state_dict().items():
            if name == "num_batches_tracked":
                continue
            if value.numel() > 10000:
                put(f"init.{layer_name}.{name}.head", value.flatten()[:512])
                put(f"init.{layer_name}.{name}.tail", value.flatten()[-512:])
            else:
                put(f"init.{layer_name}.{name}", value)


# (shape, function) applied in this order from torch.manual_seed(1); tests/test_layers.cpp repeats them.
INIT_FNS = [
    ((4, 6, 3, 3), lambda t: nn.init.xavier_uniform_(t)),
    ((5, 7), lambda t: nn.init.xavier_normal_(t, gain=2.0)),
    ((8, 3, 2, 2), lambda t: nn.init.kaiming_uniform_(t, a=0.1, mode="fan_out", nonlinearity="leaky_relu")),
    ((3, 4), lambda t: nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu")),  # < 16 values
    ((6, 5), lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh")),
    ((20,), lambda t: nn.init.uniform_(t, -2.0, 3.0)),
    ((7,), lambda t: nn.init.normal_(t, 1.5, 0.5)),
]


def init_fn_fixtures():
    torch.manual_seed(1)
    for i, (shape, fn) in enumerate(INIT_FNS):
        t = torch.empty(shape)
        fn(t)
        put(f"initfn.{i}", t)


def dropout_fixture():
    x = torch.randn(4, 50, generator=torch.Generator().manual_seed(9)).requires_grad_()
    torch.manual_seed(2)
    layer = nn.Dropout(0.3)
    y1 = layer(x)
    y2 = layer(x)
    r = torch.randn(y1.shape, generator=torch.Generator().manual_seed(10))
    (y1 * r).sum().backward()
    for name, t in [("x", x), ("y1", y1), ("y2", y2), ("R", r), ("grad.x", x.grad)]:
        put(f"dropout.{name}", t)


def perturb(layer, seed):
    """Moves every parameter and buffer away from its default, so each one matters in the test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
        for name, b in layer.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


def layer_case(name, layer, x, train=True, seed=0):
    """One forward + backward of `layer` on x, everything stored under `name.`."""
    perturb(layer, seed)
    layer.train(train)
    metadata[f"{name}.repr"] = repr(layer)
    metadata[f"{name}.train"] = "1" if train else "0"
    for key, value in layer.state_dict().items():
        put(f"{name}.state.{key}", value)
    differentiable = x.is_floating_point()
    if differentiable:
        x = x.clone().requires_grad_()
    y = layer(x)
    r = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1000))
    (y * r).sum().backward()
    put(f"{name}.x", x)
    put(f"{name}.y", y)
    put(f"{name}.R", r)
    if differentiable:
        put(f"{name}.grad.x", x.grad)
    for key, p in layer.named_parameters():
        put(f"{name}.grad.{key}", p.grad)
    for key, b in layer.named_buffers():
        put(f"{name}.after.{key}", b)


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def layer_fixtures():
    layer_case("linear", nn.Linear(5, 3), randn(4, 5, seed=1), seed=1)
    layer_case("linear_nobias_3d", nn.Linear(5, 3, bias=False), randn(2, 3, 5, seed=2), seed=2)
    layer_case("conv2d", nn.Conv2d(3, 4, 3, stride=2, padding=1), randn(2, 3, 7, 7, seed=3), seed=3)
    layer_case("conv2d_dilated_nobias", nn.Conv2d(2, 3, 3, dilation=2, bias=False), randn(1, 2, 8, 8, seed=4),
               seed=4)
    layer_case("conv_transpose2d", nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), randn(2, 4, 3, 3, seed=5),
               seed=5)
    layer_case("conv_transpose2d_output_padding", nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
               randn(1, 3, 4, 4, seed=6), seed=6)
    layer_case("batchnorm1d_train", nn.BatchNorm1d(4), randn(6, 4, seed=7) * 2 + 1, seed=7)
    layer_case("batchnorm1d_train_3d", nn.BatchNorm1d(3, momentum=0.25), randn(4, 3, 5, seed=8), seed=8)
    layer_case("batchnorm1d_eval", nn.BatchNorm1d(4), randn(6, 4, seed=9), train=False, seed=9)
    layer_case("batchnorm2d_train", nn.BatchNorm2d(3), randn(4, 3, 5, 5, seed=10) * 3 - 1, seed=10)
    layer_case("batchnorm2d_eval", nn.BatchNorm2d(3, eps=1e-3), randn(2, 3, 4, 4, seed=11), train=False, seed=11)
    layer_case("groupnorm", nn.GroupNorm(2, 6), randn(3, 6, 4, 4, seed=12), seed=12)
    layer_case("groupnorm_3d_noaffine", nn.GroupNorm(3, 3, affine=False), randn(2, 3, 7, seed=13), seed=13)
    layer_case("layernorm", nn.LayerNorm(8), randn(3, 5, 8, seed=14), seed=14)
    layer_case("layernorm_2d", nn.LayerNorm([4, 4], eps=1e-4), randn(2, 3, 4, 4, seed=15), seed=15)
    layer_case("embedding", nn.Embedding(10, 4), torch.tensor([[1, 3, 3], [9, 0, 2]]), seed=16)
    layer_case("relu", nn.ReLU(), randn(3, 7, seed=17), seed=17)
    layer_case("leaky_relu", nn.LeakyReLU(0.2), randn(3, 7, seed=18), seed=18)
    layer_case("silu", nn.SiLU(), randn(3, 7, seed=19), seed=19)
    layer_case("gelu", nn.GELU(), randn(3, 7, seed=20), seed=20)
    layer_case("tanh", nn.Tanh(), randn(3, 7, seed=21), seed=21)
    layer_case("sigmoid", nn.Sigmoid(), randn(3, 7, seed=22), seed=22)
    layer_case("softplus", nn.Softplus(), randn(3, 7, seed=23) * 4, seed=23)
    layer_case("flatten", nn.Flatten(), randn(2, 3, 4, 5, seed=24), seed=24)
    layer_case("unflatten", nn.Unflatten(1, (3, 4)), randn(2, 12, 5, seed=25), seed=25)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
                          nn.Sequential(nn.Flatten(), nn.Linear(4 * 5 * 5, 3)), nn.Dropout(0.0), nn.Tanh())
    layer_case("sequential", model, randn(2, 2, 5, 5, seed=26), seed=26)


def main():
    torch.set_num_threads(1)
    init_fixtures()
    init_fn_fixtures()
    dropout_fixture()
    layer_fixtures()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, tensors, metadata)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
