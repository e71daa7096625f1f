"""Write tests/fixtures/random_torch.txt: what PyTorch's CPU generator produces, for tests/test_random.cpp.

Run from the repository root (deterministic; rerunning gives the same file):
    /usr/bin/python3 tests/reference/make_random_fixtures.py
Needs torch 1.13 (CPU). The numbers of torch.randn for n >= 16 come from torch's AVX2 kernel, so
run it on an x86-64 machine with AVX2 (any recent one).

File format (plain text, '#' lines are comments):
    case <name> <seed>                     torch.manual_seed(seed), then the calls below, in order
    call <op> <n> <a> <b> <check> <k>      one call with n outputs, followed by k sample lines
    <index> <value>                        output[index] for some indices: for randn all of them
                                           when n <= 17, else the first 4, 4 spread, the last 17;
                                           for other ops all when n <= 8, else the first and last 4
    end                                    closes the case
ops:  rand a=lo b=hi      torch.empty(n).uniform_(lo, hi)      (torch.rand(n) when lo=0, hi=1)
      randn a=mean b=std  torch.empty(n).normal_(mean, std)    (torch.randn(n) when 0, 1)
      randint a=lo b=hi   torch.randint(lo, hi, (n,))          int64
      randperm            torch.randperm(n)                    int64; a, b unused (0)
      bernoulli a=p       torch.empty(n).bernoulli_(p)         the mask F.dropout draws (p = 1 - drop)
check: sum over all n outputs of (i + 1) * bits(output[i]), modulo 2^64, where bits is the float32
       bit pattern for float outputs and the two's-complement int64 for integer outputs. It pins
       every output exactly while the file stays small.
Floats are written with 9 significant digits (enough to round-trip a float32); a and b with 17.
"""
import math
import os
import sys

import torch

OUT_PATH = os.path.join("tests", "fixtures", "random_torch.txt")
TORCH_DEFAULT_SEED = 67280421310721
ALL_SAMPLES_UP_TO = 17
SMALL = [1, 2, 3, 7, 15]            # torch.randn's scalar Box-Muller path
LARGE = [16, 17, 31, 32, 33, 100, 1000]  # the 16-at-a-time path, with and without n % 16 == 0


def draw(op, n, a, b):
    if op == "rand":
        return torch.empty(n).uniform_(a, b)
    if op == "randn":
        return torch.empty(n).normal_(a, b)
    if op == "randint":
        return torch.randint(int(a), int(b), (n,))
    if op == "randperm":
        return torch.randperm(n)
    if op == "bernoulli":
        return torch.empty(n).bernoulli_(a)
    raise ValueError(op)


def checksum(t):
    if t.dtype == torch.float32:
        words = t.view(torch.int32).tolist()
        words = [w & 0xFFFFFFFF for w in words]
    else:
        words = [w & 0xFFFFFFFFFFFFFFFF for w in t.tolist()]
    return sum((i + 1) * w for i, w in enumerate(words)) % (1 << 64)


def sample_indices(op, n):
    if op != "randn":
        # Exact ops are pinned by the checksum; a few values are kept to make failures readable.
        return list(range(n)) if n <= 8 else list(range(4)) + list(range(n - 4, n))
    if n <= ALL_SAMPLES_UP_TO:
        return list(range(n))
    # First 4, 4 spread through the middle, and the last 17 (they cover the block that
    # randn redoes when n % 16 != 0, and the element before it).
    middle = [4 + (n - 21) * k // 5 for k in range(1, 5)]
    return sorted(set(list(range(4)) + middle + list(range(n - 17, n))))


def fmt(x):
    if isinstance(x, float):
        return "%.9g" % x
    return str(x)


def write_case(lines, name, seed, calls):
    torch.manual_seed(seed)
    lines.append("case %s %d" % (name, seed))
    for op, n, a, b in calls:
        t = draw(op, n, a, b)
        assert t.numel() == n
        idx = sample_indices(op, n)
        values = t.tolist()
        lines.append("call %s %d %.17g %.17g %d %d" % (op, n, a, b, checksum(t), len(idx)))
        lines.extend("%d %s" % (i, fmt(values[i])) for i in idx)
    lines.append("end")


def main():
    if not os.path.isdir(os.path.join("tests", "fixtures")):
        sys.exit("run from the repository root: /usr/bin/python3 tests/reference/make_random_fixtures.py")
    # A new torch.Generator() starts from this seed, and so does a default-constructed hd::Generator.
    # (torch's process-wide generator is instead seeded from the OS at start-up.)
    assert torch.Generator().initial_seed() == TORCH_DEFAULT_SEED
    torch.set_num_threads(1)

    lines = ["# torch %s CPU random streams, written by tests/reference/make_random_fixtures.py" % torch.__version__,
             "# format: see the docstring of that script"]
    for n in SMALL:
        write_case(lines, "normal_small_n%d" % n, 0, [("randn", n, 0.0, 1.0)])
    for n in LARGE:
        write_case(lines, "normal_large_n%d" % n, 0, [("randn", n, 0.0, 1.0)])
    for n in (3, 7, 17, 33, 100):
        write_case(lines, "normal_%s_n%d_seed1234" % ("small" if n < 16 else "large", n), 1234,
                   [("randn", n, 0.0, 1.0)])
    write_case(lines, "normal_small_mean_std", 7, [("randn", 5, 0.5, 2.0), ("randn", 3, -1.0, 0.1)])
    write_case(lines, "normal_large_mean_std", 7, [("randn", 40, 0.5, 2.0), ("randn", 100, -1.25, 0.02)])

    for n in (1, 7, 16, 17, 100, 1000):
        write_case(lines, "uniform_n%d" % n, 42, [("rand", n, 0.0, 1.0)])
    bound = 1.0 / math.sqrt(784.0)  # nn.Linear(784, ...)'s init bound
    write_case(lines, "uniform_range", 3, [("rand", 33, -3.0, 5.0), ("rand", 100, -bound, bound)])

    write_case(lines, "randint_ranges", 0, [
        ("randint", 100, 0, 10),
        ("randint", 33, -5, 1000003),
        ("randint", 17, 0, 1 << 40),               # range >= 2^32: one 64-bit word per value
        ("randint", 5, -(1 << 62), 1 << 62),
    ])
    for n in (1, 2, 3, 10, 100, 1000, 60000):
        write_case(lines, "randperm_n%d" % n, 0, [("randperm", n, 0, 0)])
    for n in (10, 60000):  # 60000: the MNIST loader's shuffle
        write_case(lines, "randperm_n%d_seed1" % n, 1, [("randperm", n, 0, 0)])

    write_case(lines, "bernoulli_masks", 0, [("bernoulli", 100, 0.5, 0), ("bernoulli", 1000, 1 - 0.1, 0)])

    # Call sequences: the cached second normal sample and the stream position must carry over.
    write_case(lines, "sequence_mixed", 42, [
        ("randn", 5, 0.0, 1.0), ("randn", 20, 0.0, 1.0), ("rand", 3, 0.0, 1.0),
        ("randn", 1, 0.0, 1.0), ("randn", 3, 0.0, 1.0), ("randint", 7, 0, 10),
        ("randperm", 10, 0, 0), ("randn", 17, 0.0, 1.0), ("randn", 1, 0.0, 1.0),
    ])
    write_case(lines, "sequence_seed_above_2_32", (1 << 40) + 7, [
        ("rand", 5, 0.0, 1.0), ("randn", 3, 0.0, 1.0), ("rand", 2, 0.0, 1.0), ("randn", 16, 0.0, 1.0),
        ("randn", 1, 0.0, 1.0),
    ])
    write_case(lines, "sequence_past_one_twist", 5, [   # 624 words per twist: cross several
        ("rand", 700, 0.0, 1.0), ("randn", 999, 0.0, 1.0), ("randn", 7, 0.0, 1.0), ("randperm", 300, 0, 0),
    ])
    write_case(lines, "default_seed", TORCH_DEFAULT_SEED, [("rand", 5, 0.0, 1.0), ("randn", 5, 0.0, 1.0)])

    with open(OUT_PATH, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d bytes)" % (OUT_PATH, os.path.getsize(OUT_PATH)))


if __name__ == "__main__":
    main()
