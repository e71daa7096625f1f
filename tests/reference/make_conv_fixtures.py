#!/usr/bin/python3
"""Writes tests/fixtures/conv.txt: PyTorch's values for hundun's convolution, pooling and upsampling
kernels (tensor/conv.h), which tests/test_conv.cpp compares against.

Run from the repository root:   /usr/bin/python3 tests/reference/make_conv_fixtures.py
It is deterministic (fixed seed, float32, CPU) and the file is small (a few hundred KB at most).

File format (plain text, one item per line):
    # comment
    case <name> <op> <key>=<int> <key>=<int> ...     starts a case; op is one of conv2d, conv_transpose2d,
                                                      max_pool2d, avg_pool2d, upsample_nearest2d
    <tensor> <ndim> <d0> ... <d(ndim-1)> <v0> <v1> ...   one tensor: its name, shape, then its values in
                                                      row-major order, each with 9 significant digits
                                                      (enough to round-trip a float32 exactly)
    end                                               closes the case
Tensors of a case:
    conv2d, conv_transpose2d: x, w, [b], gy (the upstream gradient), y, gx, gw, [gb]
    max_pool2d:               x, gy, y, indices (flat h*W + w in each plane), gx
    avg_pool2d, upsample_nearest2d: x, gy, y, gx
where gx, gw, gb = torch.autograd.grad(y, (x, w, b), gy).
"""
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "conv.txt")


def tensor_line(name, t):
    t = t.detach().to(torch.float32).contiguous()
    values = " ".join("%.9g" % v for v in t.flatten().tolist())
    dims = " ".join(str(d) for d in t.shape)
    return "%s %d %s %s" % (name, t.dim(), dims, values)


def write_case(out, name, op, params, tensors):
    out.append("case %s %s %s" % (name, op, " ".join("%s=%d" % kv for kv in params.items())))
    out.extend(tensor_line(n, t) for n, t in tensors)
    out.append("end")


def conv_case(out, name, transposed, x_shape, w_shape, bias, **params):
    x = torch.randn(x_shape, requires_grad=True)
    w = torch.randn(w_shape, requires_grad=True)
    c_out = w_shape[1] if transposed else w_shape[0]
    b = torch.randn(c_out, requires_grad=True) if bias else None
    if transposed:
        y = F.conv_transpose2d(x, w, b, **params)
    else:
        y = F.conv2d(x, w, b, **params)
    gy = torch.randn(y.shape)
    inputs = (x, w, b) if bias else (x, w)
    grads = torch.autograd.grad(y, inputs, gy)
    tensors = [("x", x), ("w", w)] + ([("b", b)] if bias else []) + [("gy", gy), ("y", y), ("gx", grads[0]),
                                                                        ("gw", grads[1])]
    if bias:
        tensors.append(("gb", grads[2]))
    write_case(out, name, "conv_transpose2d" if transposed else "conv2d", params, tensors)


def pool_case(out, name, op, x_shape, **params):
    x = torch.randn(x_shape, requires_grad=True)
    if op == "max_pool2d":
        y, indices = F.max_pool2d(x, params["kernel"], params["stride"], params["padding"], return_indices=True)
    elif op == "avg_pool2d":
        y = F.avg_pool2d(x, params["kernel"], params["stride"], params["padding"], count_include_pad=True)
    else:
        y = F.interpolate(x, scale_factor=params["scale"], mode="nearest")
    gy = torch.randn(y.shape)
    (gx,) = torch.autograd.grad(y, (x,), gy)
    tensors = [("x", x), ("gy", gy), ("y", y)]
    if op == "max_pool2d":
        tensors.append(("indices", indices.to(torch.float32)))
    tensors.append(("gx", gx))
    write_case(out, name, op, params, tensors)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = ["# PyTorch %s reference values for tests/test_conv.cpp." % torch.__version__,
           "# Written by tests/reference/make_conv_fixtures.py (see its docstring for the format); do not edit."]
    conv_case(out, "conv2d_k3_s1_p1_bias", False, (2, 3, 5, 6), (4, 3, 3, 3), True,
              stride=1, padding=1, dilation=1)
    conv_case(out, "conv2d_k4_s2_p1", False, (2, 2, 8, 7), (3, 2, 4, 4), False, stride=2, padding=1, dilation=1)
    conv_case(out, "conv2d_k3_p2_d2_bias", False, (1, 2, 7, 8), (2, 2, 3, 3), True, stride=1, padding=2,
              dilation=2)
    conv_case(out, "conv2d_k3_s2_p0_odd", False, (3, 1, 9, 6), (2, 1, 3, 3), True, stride=2, padding=0,
              dilation=1)
    conv_case(out, "conv2d_1x1_bias", False, (2, 4, 3, 5), (3, 4, 1, 1), True, stride=1, padding=0, dilation=1)
    conv_case(out, "conv_transpose2d_k4_s2_p1_bias", True, (2, 3, 4, 5), (3, 2, 4, 4), True,
              stride=2, padding=1, output_padding=0, dilation=1)
    conv_case(out, "conv_transpose2d_k3_s2_p1_op1_bias", True, (2, 2, 4, 3), (2, 3, 3, 3), True,
              stride=2, padding=1, output_padding=1, dilation=1)
    conv_case(out, "conv_transpose2d_k3_s3_p2_op2", True, (1, 2, 3, 4), (2, 2, 3, 3), False,
              stride=3, padding=2, output_padding=2, dilation=1)
    # output_padding >= stride is allowed when it is smaller than the dilation.
    conv_case(out, "conv_transpose2d_k3_s1_d2_op1", True, (1, 2, 3, 4), (2, 2, 3, 3), False,
              stride=1, padding=0, output_padding=1, dilation=2)
    pool_case(out, "max_pool2d_k2_s2", "max_pool2d", (2, 3, 6, 7), kernel=2, stride=2, padding=0)
    pool_case(out, "max_pool2d_k3_s2_p1", "max_pool2d", (2, 2, 7, 6), kernel=3, stride=2, padding=1)
    pool_case(out, "max_pool2d_k3_s1_p1", "max_pool2d", (1, 2, 5, 5), kernel=3, stride=1, padding=1)
    pool_case(out, "avg_pool2d_k2_s2", "avg_pool2d", (2, 3, 6, 7), kernel=2, stride=2, padding=0)
    pool_case(out, "avg_pool2d_k3_s2_p1", "avg_pool2d", (2, 2, 7, 6), kernel=3, stride=2, padding=1)
    pool_case(out, "avg_pool2d_k3_s1_p1", "avg_pool2d", (1, 2, 5, 5), kernel=3, stride=1, padding=1)
    pool_case(out, "upsample_nearest2d_x2", "upsample_nearest2d", (2, 3, 3, 4), scale=2)
    pool_case(out, "upsample_nearest2d_x3", "upsample_nearest2d", (1, 2, 2, 3), scale=3)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
