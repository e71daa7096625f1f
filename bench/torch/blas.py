"""What BLAS a PyTorch twin really runs on, for the settings line every twin prints.

Debian's torch is built against the generic BLAS interface (torch.__config__ says BLAS_INFO=generic); which
library serves it is chosen by the system's alternatives, here OpenBLAS (libopenblas0). OpenBLAS keeps a
thread pool of its own that torch.set_num_threads does not limit: with `--threads 1` the matrix products
still use every core unless OPENBLAS_NUM_THREADS says otherwise. So the line names the library mapped into
the process and its thread count, not just torch's.
"""
import ctypes
import os

import torch


def blas_settings():
    config = torch.__config__.show()
    info = next((p.split("=", 1)[1] for p in config.replace(",", "\n").split() if p.startswith("BLAS_INFO=")), "?")
    with open("/proc/self/maps") as f:
        mapped = sorted({line.split()[-1] for line in f if "blas" in os.path.basename(line.split()[-1])})
    library = next((path for path in mapped if "openblas" in path), mapped[0] if mapped else None)
    threads = None
    try:
        threads = ctypes.CDLL("libblas.so.3").openblas_get_num_threads()
    except (OSError, AttributeError):
        pass  # not OpenBLAS: its thread count is not ours to read
    return {"blas": info, "blas_library": library, "blas_threads": threads}
