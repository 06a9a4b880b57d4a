"""What the grading sandbox costs per notebook: sandboxed versus plain kernel.

    .venv/bin/python benchmarks/sandbox_cost.py [--repeat 5]

For each kernel (`lrcourse`, plain; `lrcourse-sandbox`, sandboxed) and each solution
notebook in source/, measures, alternating the two kernels so that background load
hits both alike:
  start    start a kernel (in a folder holding a notebook) until it answers kernel_info
  notebook execute the whole solution notebook with nbclient, kernel start included
Prints the median and the spread of each, and the sandbox's extra cost. Not a test:
timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from lrcourse.course import ASSIGNMENT, KERNEL_NAME  # noqa: E402
from lrcourse.notebooks import strip_solution_markers  # noqa: E402
from lrcourse.sandbox import KERNEL_NAME as SANDBOX_KERNEL  # noqa: E402
from lrcourse.sandbox import unavailable_reason  # noqa: E402

KERNELS = (KERNEL_NAME, SANDBOX_KERNEL)


def solution(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        cell.source = strip_solution_markers(cell.source) if cell.cell_type == "code" else cell.source
    return nb


def time_start(kernel: str, folder: Path) -> float:
    t = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=kernel, cwd=str(folder))
    elapsed = time.perf_counter() - t
    kc.stop_channels()
    km.shutdown_kernel()
    return elapsed


def time_notebook(kernel: str, nb, folder: Path) -> float:
    t = time.perf_counter()
    NotebookClient(nbformat.from_dict(nb), kernel_name=kernel, timeout=120,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - t


def row(label: str, samples: list[float]) -> str:
    return f"| {label:<52} | {statistics.median(samples):7.2f} | {min(samples):6.2f} | {max(samples):6.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"note: the sandboxed kernel will fall back to the plain one here ({reason})")
    notebooks = sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in notebooks:  # the kernel starts next to the notebook, as in autograde
            shutil.copy(path, folder)
        for _ in range(args.repeat):
            for kernel in KERNELS:
                results.setdefault(("start", kernel), []).append(time_start(kernel, folder))
                for path in notebooks:
                    results.setdefault((path.stem, kernel), []).append(time_notebook(kernel, solution(path), folder))
    print(f"\n{args.repeat} runs each, seconds\n")
    print(f"| {'what':<52} | {'median':>7} | {'min':>6} | {'max':>6} |")
    print(f"|{'-' * 54}|{'-' * 9}|{'-' * 8}|{'-' * 8}|")
    for what in ["start", *[p.stem for p in notebooks]]:
        plain, boxed = results[(what, KERNEL_NAME)], results[(what, SANDBOX_KERNEL)]
        label = "kernel start" if what == "start" else f"{what} (whole notebook)"
        print(row(f"{label}, plain", plain))
        print(row(f"{label}, sandboxed", boxed))
        extra = statistics.median(boxed) - statistics.median(plain)
        print(f"| {'  sandbox cost (median difference)':<52} | {extra:+7.2f} |        |        |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
