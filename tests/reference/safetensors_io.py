#!/usr/bin/python3
"""A small safetensors reader/writer in plain Python (json, struct, numpy), twin of tensor/safetensors.cpp.

Debian ships no `safetensors` package and torch 1.13 cannot read the format, so the scripts that write
hundun's reference values, and those that load hundun's checkpoints into PyTorch modules, import this:

    import sys, os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from safetensors_io import save, load, load_torch
    save("x.safetensors", {"w": torch.randn(3, 4), "b": np.zeros(4, np.float32)}, metadata={"step": "10"})
    arrays = load("x.safetensors")                     # {name: numpy array}
    arrays, meta = load("x.safetensors", with_metadata=True)
    module.load_state_dict(load_torch("checkpoint.safetensors"))

The file: 8 bytes little-endian header length N, N bytes of UTF-8 JSON
{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...} padded with
spaces to a multiple of 8, then the data buffer (little-endian, row-major), which the tensors tile exactly.
The writer sorts names and lays the tensors out in that order, as hundun's writer does.

Run as a script:
    /usr/bin/python3 tests/reference/safetensors_io.py           writes the fixture tests/test_safetensors.cpp
                                                                 loads (tests/fixtures/safetensors_from_python.safetensors)
    /usr/bin/python3 tests/reference/safetensors_io.py --check FILE   loads FILE (e.g. written by hundun) and
                                                                 prints its metadata and tensors
"""
import json
import os
import struct
import sys

import numpy as np

# safetensors dtype name <-> numpy dtype. numpy has no bfloat16: BF16 is read into float32 (exactly),
# and written from a torch.bfloat16 tensor.
_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_NAME_OF = {np.dtype(t): name for name, t in _DTYPES.items()}
_SIZE = {name: np.dtype(t).itemsize for name, t in _DTYPES.items()} | {"BF16": 2}
_MAX_HEADER = 100_000_000


def _as_array(value):
    """(contiguous little-endian numpy array of the raw elements, safetensors dtype name)."""
    if type(value).__module__.startswith("torch"):
        import torch
        value = value.detach().cpu().contiguous()
        if value.dtype == torch.bfloat16:
            return value.view(torch.int16).numpy().view(np.uint16), "BF16"
        value = value.numpy()
    array = np.asarray(value, order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    if array.dtype not in _NAME_OF:
        raise TypeError(f"safetensors_io.save: unsupported dtype {array.dtype}")
    return array.astype(array.dtype.newbyteorder("<"), copy=False), _NAME_OF[array.dtype]


def save(path, tensors, metadata=None):
    """Writes {name: numpy array or torch tensor} (and optional {str: str} metadata) to path, atomically."""
    header, chunks, offset = {}, [], 0
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors_io.save: metadata must map str to str")
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("safetensors_io.save: '__metadata__' cannot name a tensor")
        array, dtype = _as_array(tensors[name])
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for data in chunks:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key in header: {keys}")
    return dict(pairs)


def load(path, with_metadata=False):
    """{name: numpy array} (BF16 as float32), or ({name: array}, {str: str}) with with_metadata=True.
    Checks what hundun's reader checks; raises ValueError naming the file on any problem."""
    with open(path, "rb") as f:
        raw = f.read()

    def bad(what):
        return ValueError(f"{path}: {what}")

    if len(raw) < 8:
        raise bad(f"file is {len(raw)} bytes long, too short for the header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER or n > len(raw) - 8:
        raise bad(f"header length {n} does not fit the file ({len(raw)} bytes)")
    if raw[8:9] != b"{":
        raise bad("header does not start with '{'")
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ values must be strings")

    tensors, ranges = {}, []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"} or info["dtype"] not in _SIZE:
            raise bad(f"tensor {name!r}: bad entry {info}")
        shape, (begin, end) = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape + [begin, end]) \
                or not begin <= end <= len(data):
            raise bad(f"tensor {name!r}: bad shape {shape} or data_offsets {[begin, end]}")
        if end - begin != int(np.prod(shape, dtype=np.int64)) * _SIZE[info["dtype"]]:
            raise bad(f"tensor {name!r}: data_offsets {[begin, end]} do not hold {info['dtype']} {shape}")
        chunk = data[begin:end]
        if info["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            array = (np.frombuffer(chunk, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(chunk, np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = array.reshape(shape).copy()
        ranges.append((begin, end, name))

    covered = 0  # the tensors must tile the buffer: no overlaps, no gaps
    for begin, end, name in sorted(ranges):
        if begin != covered:
            raise bad(f"tensor {name!r} starts at byte {begin}, expected {covered} (overlap or gap)")
        covered = end
    if covered != len(data):
        raise bad(f"bytes [{covered}, {len(data)}) of the data buffer belong to no tensor")
    return (tensors, metadata) if with_metadata else tensors


def load_torch(path):
    """{name: torch tensor}, ready for module.load_state_dict."""
    import torch
    return {name: torch.from_numpy(array) for name, array in load(path).items()}


def write_fixture():
    """tests/fixtures/safetensors_from_python.safetensors: one tensor per dtype, values chosen so that the
    C++ test can state each expected float exactly."""
    import torch
    tensors = {
        "weight": (np.arange(6, dtype=np.float32).reshape(2, 3) - np.float32(2.5)) / np.float32(3),
        "scalar_f64": np.array(np.pi, dtype=np.float64),                       # 0-d
        "half": np.array([1.0, -2.5, 65504.0, 2.0**-24, np.inf, -0.0], dtype=np.float16),
        "bf16": torch.tensor([1.0, -3.140625, 2.0**100], dtype=torch.bfloat16),
        "int64": np.array([[-7, 0], [2**40, 123456789]], dtype=np.int64),
        "int32": np.array([-2**31, 5, 2**31 - 1], dtype=np.int32),
        "int16": np.array([-32768, 32767], dtype=np.int16),
        "int8": np.array([-128, 0, 127], dtype=np.int8),
        "uint8": np.array([0, 1, 200, 255], dtype=np.uint8),
        "mask": np.array([[True, False], [False, True]]),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    metadata = {"format": "pt", "note": 'He said "hi" \\ ünïcødé ✓ 🙂'}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "safetensors_from_python.safetensors")
    save(out, tensors, metadata)
    assert load(out)["weight"].tolist() == tensors["weight"].tolist()
    print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out)} bytes, {len(tensors)} tensors)")


def check(path):
    tensors, metadata = load(path, with_metadata=True)
    for key, value in metadata.items():
        print(f"metadata {key!r}: {value!r}")
    for name, array in tensors.items():
        summary = f"sum={float(array.astype(np.float64).sum()):.6g}" if array.size else "empty"
        print(f"{name}: {array.dtype} {list(array.shape)} {summary}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        write_fixture()
    else:
        sys.exit(__doc__)
