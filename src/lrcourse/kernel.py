"""Verb `kernel`: install the course's own Jupyter kernel into this environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .course import KERNEL_NAME

# Pinned for every kernel the course starts: the inline backend (so `plt.show()`
# never warns about a non-interactive backend, even where MPLBACKEND=Agg is set)
# and no bytecode writes into a student's folder.
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def kernel_dir(prefix: str | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def install_kernel(*, prefix: str | None = None) -> Path:
    """Write the `lrcourse` kernelspec (this interpreter) under `prefix` (default: sys.prefix)."""
    folder = kernel_dir(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (logistic-regression course)",
        "language": "python",
        "env": KERNEL_ENV,
        "metadata": {"debugger": False},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder
