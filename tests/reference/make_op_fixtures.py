#!/usr/bin/python3
"""PyTorch reference values for every differentiable op in hundun.

Run from the repo root with Debian's PyTorch:  /usr/bin/python3 tests/reference/make_op_fixtures.py
Writes tests/fixtures/ops.safetensors. For each case NAME (the same names as tests/op_cases.h):
  NAME/x0, NAME/x1, ...  differentiable inputs (float32)
  NAME/c0, ...           constant inputs (masks, class indices), not differentiated
  NAME/out               the op's output
  NAME/gout              a random upstream gradient dL/d(out)
  NAME/g0, NAME/g1, ...  dL/d(x_i) computed by torch.autograd
  NAME/v0, NAME/v1, ...  random directions, one per input
  NAME/gg0, NAME/gg1 ... second derivatives: d/d(x_i) of s = sum_j <dL/d(x_j), v_j> (create_graph)
Inputs are drawn away from the points where an op is not differentiable (0 for relu/abs,
ties for max), so the same inputs also serve the finite-difference gradchecks.
Deterministic: the same file every run.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(0)


def normal(*shape):
    return torch.randn(*shape)


def positive(*shape):  # log, sqrt, divisors
    return torch.rand(*shape) * 1.5 + 0.5


def prob(*shape):  # probabilities, log1p
    return torch.rand(*shape) * 0.8 + 0.1


def mid_prob(*shape):  # probabilities away from 0 and 1, where BCE's third derivative keeps finite differences accurate
    return torch.rand(*shape) * 0.5 + 0.25


def abs_(x):
    """|x| with torch.abs's value and gradient; its second derivative is 0 where torch 1.13's abs gives
    uninitialized memory (its sgn backward does)."""
    return torch.where(x >= 0, x, -x)


def away(*shape):  # |x| in [0.2, 2]: away from the kink of relu/abs at 0
    sign = torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0)
    return sign * (torch.rand(*shape) * 1.8 + 0.2)


def distinct(*shape):  # well separated values: no ties for max/min/max_pool
    n = int(np.prod(shape))
    return (torch.randperm(n).float() * 0.37 - n * 0.18 + torch.rand(n) * 0.05).reshape(shape)


def clamp_inputs(*shape):  # inside and outside [-0.5, 0.5] but never within 0.05 of its ends
    x = torch.rand(*shape) * 2.0 - 1.0
    near = (x.abs() - 0.5).abs() < 0.05
    return torch.where(near, x * 0.5, x)


def apart(*shape):  # two inputs that differ by at least 0.2 everywhere (no ties for maximum, no kink for l1)
    a = normal(*shape)
    return [a, a + away(*shape)]


def mask(*shape):
    return (torch.rand(*shape) < 0.5).float()


def classes(n, c):
    return torch.randint(0, c, (n,)).float()


def conv2d_weight(x, gy, w_shape, stride, padding, dilation=1):
    return torch.nn.grad.conv2d_weight(x, w_shape, gy, stride=stride, padding=padding, dilation=dilation)


def conv2d_input(gy, w, x_shape, stride, padding, dilation=1):
    return torch.nn.grad.conv2d_input(x_shape, w, gy, stride=stride, padding=padding, dilation=dilation)


def avg_pool2d_backward(g, x_shape, k, s, p):
    x = torch.zeros(x_shape, requires_grad=True)
    return torch.autograd.grad(F.avg_pool2d(x, k, s, p), x, g, create_graph=True)[0]


def index_add0(src, index, rows):
    return torch.zeros(rows, *src.shape[1:]).index_add(0, index.long(), src)


def slice_scatter(src, shape, axis, start, end, step):
    out = torch.zeros(shape)
    idx = [slice(None)] * len(shape)
    idx[axis] = slice(start, end, step)
    out = out.clone()
    out[tuple(idx)] = src
    return out


# (name, op, [differentiable inputs], [constants], fn(xs, cs))
CASES = [
    # elementwise
    ("add_broadcast", "add", [normal(4, 1, 3), normal(5, 1)], [], lambda x, c: x[0] + x[1]),
    ("sub_broadcast", "sub", [normal(2, 3), normal(3)], [], lambda x, c: x[0] - x[1]),
    ("mul_broadcast", "mul", [normal(4, 1, 3), normal(5, 1)], [], lambda x, c: x[0] * x[1]),
    ("div_broadcast", "div", [normal(2, 3), positive(2, 1)], [], lambda x, c: x[0] / x[1]),
    ("maximum", "maximum", apart(3, 4), [], lambda x, c: torch.maximum(x[0], x[1])),
    ("minimum", "minimum", apart(3, 4), [], lambda x, c: torch.minimum(x[0], x[1])),
    ("where", "where", [normal(3, 4), normal(1, 4)], [mask(3, 4)], lambda x, c: torch.where(c[0] != 0, x[0], x[1])),
    ("add_scalar", "add", [normal(3, 4)], [], lambda x, c: x[0] + 1.5),
    ("mul_scalar", "mul", [normal(3, 4)], [], lambda x, c: x[0] * -2.5),
    ("pow", "pow", [positive(3, 4)], [], lambda x, c: x[0] ** 2.5),
    ("pow_zero", "pow", [torch.tensor([0.0, 1.5, -2.0, 0.0])], [], lambda x, c: x[0] ** 0.0),
    ("pow_one", "pow", [torch.tensor([0.0, 1.5, -2.0, 0.0])], [], lambda x, c: x[0] ** 1.0),
    ("neg", "neg", [normal(3, 4)], [], lambda x, c: -x[0]),
    ("exp", "exp", [normal(3, 4)], [], lambda x, c: torch.exp(x[0])),
    ("log", "log", [positive(3, 4)], [], lambda x, c: torch.log(x[0])),
    ("log1p", "log1p", [prob(3, 4)], [], lambda x, c: torch.log1p(x[0])),
    ("sqrt", "sqrt", [positive(3, 4)], [], lambda x, c: torch.sqrt(x[0])),
    ("abs", "abs", [away(3, 4)], [], lambda x, c: abs_(x[0])),
    ("sin", "sin", [normal(3, 4)], [], lambda x, c: torch.sin(x[0])),
    ("cos", "cos", [normal(3, 4)], [], lambda x, c: torch.cos(x[0])),
    ("square", "square", [normal(3, 4)], [], lambda x, c: torch.square(x[0])),
    ("clamp", "clamp", [clamp_inputs(3, 4)], [], lambda x, c: torch.clamp(x[0], -0.5, 0.5)),
    ("erf", "erf", [normal(3, 4)], [], lambda x, c: torch.erf(x[0])),
    # activation
    ("relu", "relu", [away(3, 4)], [], lambda x, c: F.relu(x[0])),
    ("leaky_relu", "leaky_relu", [away(3, 4)], [], lambda x, c: F.leaky_relu(x[0], 0.1)),
    ("sigmoid", "sigmoid", [normal(3, 4)], [], lambda x, c: torch.sigmoid(x[0])),
    ("tanh", "tanh", [normal(3, 4)], [], lambda x, c: torch.tanh(x[0])),
    ("silu", "silu", [normal(3, 4)], [], lambda x, c: F.silu(x[0])),
    ("gelu", "gelu", [normal(3, 4)], [], lambda x, c: F.gelu(x[0])),
    ("softplus", "softplus", [normal(3, 4) * 3], [], lambda x, c: F.softplus(x[0])),
    # reduction
    ("sum_all", "sum", [normal(3, 4)], [], lambda x, c: x[0].sum()),
    ("sum_axes", "sum", [normal(2, 3, 4)], [], lambda x, c: x[0].sum(dim=(0, 2))),
    ("sum_keepdim", "sum", [normal(2, 3, 4)], [], lambda x, c: x[0].sum(dim=-1, keepdim=True)),
    ("mean", "mean", [normal(2, 3, 4)], [], lambda x, c: x[0].mean(dim=1)),
    ("mean_empty", "mean", [torch.zeros(0, 3)], [], lambda x, c: x[0].mean(dim=0)),
    ("max", "max", [distinct(3, 5)], [], lambda x, c: x[0].amax(dim=1)),
    ("min", "min", [distinct(3, 5)], [], lambda x, c: x[0].amin(dim=0, keepdim=True)),
    ("var", "var", [normal(3, 5)], [], lambda x, c: x[0].var(dim=1)),
    ("logsumexp", "logsumexp", [normal(3, 5)], [], lambda x, c: torch.logsumexp(x[0], dim=1)),
    ("softmax", "softmax", [normal(3, 5)], [], lambda x, c: torch.softmax(x[0], dim=1)),
    ("log_softmax", "log_softmax", [normal(3, 5)], [], lambda x, c: torch.log_softmax(x[0], dim=0)),
    ("expand", "expand", [normal(3, 1)], [], lambda x, c: x[0].expand(2, 3, 4)),
    ("sum_to", "sum_to", [normal(2, 3, 4)], [], lambda x, c: x[0].sum(dim=(0, 2)).reshape(3, 1)),
    # shape
    ("reshape", "reshape", [normal(2, 6)], [], lambda x, c: x[0].reshape(3, 4)),
    ("flatten", "flatten", [normal(2, 3, 4)], [], lambda x, c: torch.flatten(x[0], 1)),
    ("squeeze", "squeeze", [normal(3, 1, 4)], [], lambda x, c: x[0].squeeze(1)),
    ("unsqueeze", "unsqueeze", [normal(3, 4)], [], lambda x, c: x[0].unsqueeze(0)),
    ("permute", "permute", [normal(2, 3, 4)], [], lambda x, c: x[0].permute(2, 0, 1)),
    ("transpose", "transpose", [normal(3, 4)], [], lambda x, c: x[0].transpose(0, 1)),
    ("concat", "concat", [normal(2, 3), normal(4, 3)], [], lambda x, c: torch.cat([x[0], x[1]], 0)),
    ("stack", "stack", [normal(2, 3), normal(2, 3)], [], lambda x, c: torch.stack([x[0], x[1]], 1)),
    ("slice", "slice", [normal(5, 4)], [], lambda x, c: x[0][1:5:2]),
    ("slice_scatter", "slice_scatter", [normal(2, 4)], [], lambda x, c: slice_scatter(x[0], (5, 4), 0, 1, 5, 2)),
    ("index_select0", "index_select0", [normal(5, 3)], [torch.tensor([4.0, 0.0, 4.0, 2.0])],
     lambda x, c: x[0].index_select(0, c[0].long())),
    ("index_add0", "index_add0", [normal(4, 3)], [torch.tensor([4.0, 0.0, 4.0, 2.0])],
     lambda x, c: index_add0(x[0], c[0], 5)),
    # matmul
    ("matmul_nn", "matmul", [normal(3, 4), normal(4, 5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_nt", "matmul", [normal(3, 4), normal(5, 4)], [], lambda x, c: x[0] @ x[1].T),
    ("matmul_tn", "matmul", [normal(4, 3), normal(4, 5)], [], lambda x, c: x[0].T @ x[1]),
    ("matmul_tt", "matmul", [normal(4, 3), normal(5, 4)], [], lambda x, c: x[0].T @ x[1].T),
    ("matmul_batched", "matmul", [normal(2, 3, 4), normal(4, 5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_batched_both", "matmul", [normal(2, 3, 4), normal(2, 4, 5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_vec_mat", "matmul", [normal(4), normal(4, 5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_mat_vec", "matmul", [normal(4, 5), normal(5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_vec_vec", "matmul", [normal(4), normal(4)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_batched_vec", "matmul", [normal(2, 3, 4), normal(4)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_vec_batched", "matmul", [normal(4), normal(2, 4, 5)], [], lambda x, c: x[0] @ x[1]),
    ("matmul_tn_vec", "matmul", [normal(4, 3), normal(4)], [], lambda x, c: x[0].T @ x[1]),
    ("linear", "linear", [normal(3, 4), normal(5, 4), normal(5)], [], lambda x, c: F.linear(x[0], x[1], x[2])),
    ("linear_vector", "linear", [normal(4), normal(5, 4), normal(5)], [], lambda x, c: F.linear(x[0], x[1], x[2])),
    # convolution
    ("conv2d", "conv2d", [normal(2, 3, 6, 5), normal(4, 3, 3, 3), normal(4)], [],
     lambda x, c: F.conv2d(x[0], x[1], x[2], stride=2, padding=1)),
    ("conv2d_dilated", "conv2d", [normal(1, 2, 7, 7), normal(3, 2, 3, 3)], [],
     lambda x, c: F.conv2d(x[0], x[1], None, stride=1, padding=2, dilation=2)),
    ("conv_transpose2d", "conv_transpose2d", [normal(2, 3, 4, 3), normal(3, 2, 3, 3), normal(2)], [],
     lambda x, c: F.conv_transpose2d(x[0], x[1], x[2], stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d_output_padding_above_stride", "conv_transpose2d",
     [normal(1, 2, 4, 3), normal(2, 3, 3, 2), normal(3)], [],
     lambda x, c: F.conv_transpose2d(x[0], x[1], x[2], stride=1, padding=0, output_padding=1, dilation=2)),
    ("conv_transpose2d_strided_output_padding", "conv_transpose2d", [normal(2, 2, 3, 4), normal(2, 2, 3, 3)], [],
     lambda x, c: F.conv_transpose2d(x[0], x[1], None, stride=2, padding=1, output_padding=2, dilation=3)),
    ("conv2d_weight", "conv2d_weight", [normal(2, 3, 5, 5), normal(2, 4, 3, 3)], [],
     lambda x, c: conv2d_weight(x[0], x[1], (4, 3, 3, 3), 2, 1)),
    ("conv2d_input", "conv2d_input", [normal(2, 4, 3, 3), normal(4, 3, 3, 3)], [],
     lambda x, c: conv2d_input(x[0], x[1], (2, 3, 6, 5), 2, 1)),
    ("max_pool2d", "max_pool2d", [distinct(2, 2, 5, 6)], [], lambda x, c: F.max_pool2d(x[0], 2, 2)),
    ("max_pool2d_padded", "max_pool2d", [distinct(2, 2, 5, 6)], [], lambda x, c: F.max_pool2d(x[0], 3, 2, 1)),
    ("avg_pool2d", "avg_pool2d", [normal(2, 2, 5, 6)], [], lambda x, c: F.avg_pool2d(x[0], 3, 2, 1)),
    ("avg_pool2d_backward", "avg_pool2d_grad", [normal(2, 2, 3, 3)], [],
     lambda x, c: avg_pool2d_backward(x[0], (2, 2, 5, 6), 3, 2, 1)),
    ("upsample_nearest2d", "upsample_nearest2d", [normal(1, 2, 3, 4)], [],
     lambda x, c: F.interpolate(x[0], scale_factor=2, mode="nearest")),
    ("upsample_nearest2d_backward", "upsample_nearest2d_grad", [normal(1, 2, 6, 8)], [],
     lambda x, c: F.avg_pool2d(x[0], 2) * 4),
    # normalization (running statistics None in training: the op is then a pure function of its inputs)
    ("batch_norm_train", "batch_norm", [normal(4, 3, 3, 2) * 2 + 1, positive(3), normal(3)], [],
     lambda x, c: F.batch_norm(x[0], None, None, x[1], x[2], training=True)),
    ("batch_norm_train_1d_no_affine", "batch_norm", [normal(6, 4)], [],
     lambda x, c: F.batch_norm(x[0], None, None, None, None, training=True)),
    ("batch_norm_eval", "batch_norm", [normal(4, 3, 5), positive(3), normal(3)], [normal(3), positive(3)],
     lambda x, c: F.batch_norm(x[0], c[0], c[1], x[1], x[2], training=False, eps=1e-3)),
    # loss
    ("mse_loss", "mse_loss", [normal(3, 4), normal(3, 4)], [], lambda x, c: F.mse_loss(x[0], x[1])),
    ("l1_loss", "l1_loss", apart(3, 4), [], lambda x, c: abs_(x[0] - x[1]).sum()),
    ("binary_cross_entropy", "binary_cross_entropy", [mid_prob(3, 4), prob(3, 4)], [],
     lambda x, c: F.binary_cross_entropy(x[0], x[1], reduction="none")),
    ("binary_cross_entropy_saturated", "binary_cross_entropy", [torch.tensor([0.0, 1.0, 1e-13, 0.3, 1.0, 0.0])],
     [torch.tensor([0.3, 0.3, 0.5, 0.7, 1.0, 0.0])], lambda x, c: F.binary_cross_entropy(x[0], c[0], reduction="none")),
    ("binary_cross_entropy_of_sigmoid", "binary_cross_entropy", [torch.tensor([20.0, -110.0, 0.5, 30.0])],
     [torch.tensor([0.2, 0.6, 1.0, 1.0])],
     lambda x, c: F.binary_cross_entropy(torch.sigmoid(x[0]), c[0], reduction="sum")),
    ("binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits", [normal(3, 4) * 2, prob(3, 4)], [],
     lambda x, c: F.binary_cross_entropy_with_logits(x[0], x[1])),
    ("nll_loss", "nll_loss", [normal(4, 5)], [classes(4, 5)], lambda x, c: F.nll_loss(x[0], c[0].long())),
    ("cross_entropy", "cross_entropy", [normal(4, 5)], [classes(4, 5)],
     lambda x, c: F.cross_entropy(x[0], c[0].long(), reduction="sum")),
    ("gaussian_kl", "gaussian_kl", [normal(3, 4), normal(3, 4) * 0.5], [],
     lambda x, c: (-0.5 * (1 + x[1] - x[0] ** 2 - x[1].exp())).sum()),
]


# Cases added later draw their inputs from a stream of their own (fork_rng puts the global one back), and come
# last, so that every earlier case keeps its inputs, upstream gradients and directions bit for bit.
with torch.random.fork_rng():
    torch.manual_seed(17)
    CASES += [
        # normalization: group norm (the diffusion U-Net's)
        ("group_norm", "group_norm", [normal(3, 4, 3, 2) * 2 + 1, positive(4), normal(4)], [],
         lambda x, c: F.group_norm(x[0], 2, x[1], x[2])),
        ("group_norm_per_channel_no_affine", "group_norm", [normal(2, 3, 5)], [],
         lambda x, c: F.group_norm(x[0], 3, None, None, eps=1e-3)),
        ("group_norm_one_group", "group_norm", [normal(1, 4, 2, 3), positive(4), normal(4)], [],
         lambda x, c: F.group_norm(x[0], 1, x[1], x[2])),
    ]


def second_derivatives(xs, grads, vs):
    """d/dx_i of s = sum_j <g_j, v_j>, with zeros where s does not depend on x_i."""
    terms = [(g * v).sum() for g, v in zip(grads, vs) if g is not None and g.requires_grad]
    if not terms:
        return [torch.zeros_like(x) for x in xs]
    gg = torch.autograd.grad(sum(terms), xs, allow_unused=True)
    return [torch.zeros_like(x) if d is None else d for x, d in zip(xs, gg)]


def main():
    out = {}
    ops = set()
    directions = torch.Generator().manual_seed(1)  # its own stream: the first-order values stay as they were
    for name, op, xs, cs, fn in CASES:
        xs = [x.detach().clone().float().requires_grad_(True) for x in xs]
        y = fn(xs, cs)
        gout = torch.randn(y.shape)
        grads = torch.autograd.grad(y, xs, gout, allow_unused=True, create_graph=True)
        vs = [torch.randn(x.shape, generator=directions) for x in xs]
        ggs = second_derivatives(xs, grads, vs)
        for i, x in enumerate(xs):
            out[f"{name}/x{i}"] = x.detach()
            g = grads[i] if grads[i] is not None else torch.zeros_like(x)
            out[f"{name}/g{i}"] = g.detach()
            out[f"{name}/v{i}"] = vs[i]
            out[f"{name}/gg{i}"] = ggs[i].detach()
        for i, c in enumerate(cs):
            out[f"{name}/c{i}"] = c.float()
        out[f"{name}/out"] = y.detach()
        out[f"{name}/gout"] = gout
        ops.add(op)
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ops.safetensors")
    save(path, {k: v.numpy().astype(np.float32) for k, v in out.items()},
         metadata={"generator": "tests/reference/make_op_fixtures.py", "torch": torch.__version__})
    print(f"wrote {os.path.normpath(path)}: {len(CASES)} cases covering {len(ops)} ops")


if __name__ == "__main__":
    main()
