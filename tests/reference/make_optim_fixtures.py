#!/usr/bin/python3
"""Writes tests/fixtures/optim.safetensors: PyTorch's optimizer updates, which tests/test_optim.cpp
compares hundun's SGD, Adam, AdamW and clip_grad_norm_ (nn/optim.h) against.

Run from anywhere:   /usr/bin/python3 tests/reference/make_optim_fixtures.py
Deterministic (fixed seed, float32, CPU); the file is about 9 KB.

Three parameters of shapes PARAM_SHAPES start from the same values for every optimizer config and take
STEPS steps with gradients stored in the file, so both sides see exactly the same numbers. Parameter 2 has
no gradient on the first NO_GRAD_STEPS steps (p.grad = None): PyTorch skips it then and creates its state
(momentum buffer, moments, step count) only on its first step with a gradient, and hundun must too.

Tensors (float32):
  init.<i>                     parameter i before the first step
  grad.<step>.<i>              the gradient of parameter i at step <step> (absent while it has none)
  <config>.after.<i>           parameter i after STEPS steps of <config> (CONFIGS below)
  <config>.state.<i>.<name>    the optimizer's state after STEPS steps (optimizer.state_dict()["state"]):
                               momentum_buffer, or step / exp_avg / exp_avg_sq
  clip.norm                    clip_grad_norm_'s returned norm on the step-0 gradients, max_norm = CLIP_MAX_NORM
  clip.grad.<i>                those gradients after clipping
Metadata: "torch" = the torch version, "<config>" = the optimizer's repr-like arguments.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "optim.safetensors")

PARAM_SHAPES = [(3, 4), (5,), (2, 3)]
STEPS = 10
NO_GRAD_STEPS = 3  # parameter 2 gets its first gradient at step 3
CLIP_MAX_NORM = 1.0

# name -> (class, keyword arguments); tests/test_optim.cpp builds the same optimizers.
CONFIGS = {
    "sgd_plain": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    "adam_default": (torch.optim.Adam, dict()),
    "adam_weight_decay": (torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1)),
    "adamw": (torch.optim.AdamW, dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1)),
}

tensors = {}
metadata = {"torch": torch.__version__}


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).contiguous().clone()


def main():
    torch.manual_seed(0)
    init = [torch.randn(shape) for shape in PARAM_SHAPES]
    grads = [[None if (i == 2 and step < NO_GRAD_STEPS) else torch.randn(shape)
              for i, shape in enumerate(PARAM_SHAPES)] for step in range(STEPS)]
    for i, p in enumerate(init):
        put(f"init.{i}", p)
    for step, step_grads in enumerate(grads):
        for i, g in enumerate(step_grads):
            if g is not None:
                put(f"grad.{step}.{i}", g)

    for config, (cls, kwargs) in CONFIGS.items():
        params = [p.clone().requires_grad_() for p in init]
        optimizer = cls(params, foreach=False, **kwargs)
        metadata[config] = f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = None if g is None else g.clone()
            optimizer.step()
        for i, p in enumerate(params):
            put(f"{config}.after.{i}", p)
        for i, state in optimizer.state_dict()["state"].items():
            for name, value in state.items():
                if value is not None:  # plain SGD keeps momentum_buffer = None
                    put(f"{config}.state.{i}.{name}", torch.as_tensor(value, dtype=torch.float32))

    params = [p.clone().requires_grad_() for p in init]
    for p, g in zip(params, grads[0]):
        p.grad = None if g is None else g.clone()
    put("clip.norm", torch.nn.utils.clip_grad_norm_(params, CLIP_MAX_NORM))
    for i, p in enumerate(params):
        if p.grad is not None:
            put(f"clip.grad.{i}", p.grad)

    save(OUT, tensors, metadata)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
