"""Benchmark: stock serial `nbgrader autograde` vs `lrcourse grade` (warm and cold kernels) vs the floor.

Builds a synthetic cohort from the scenarios (complete, partial and broken
submissions), grades identical copies of it, checks that the gradebooks agree, and
prints wall time, notebooks per second, the speed-up over stock serial nbgrader and the
overhead per notebook above the floor:

  stock nbgrader   `nbgrader autograde` as it comes: a plain `python3` kernel, nbgrader's
                   default autograde pipeline (tests in the student's kernel), one notebook
                   after another; the course's source notebooks
  lrcourse grade   the course as configured (sandboxed kernels, tests judged in a second,
                   verifier kernel), `-j 1` and `-j N`, kernels forked from a pre-warmed
                   template (`lrcourse-sandbox`) and, with --cold, started cold
                   (`lrcourse-sandbox-cold`)
  floor            the same autograded notebooks' cells (answers and hidden tests) run in
                   one interpreter that already holds the libraries, a fresh namespace each:
                   the least any grader can spend

Each run is a process of its own, started as an instructor starts it (`nbgrader
autograde`, `lrcourse grade`): its start-up (imports, the kernel template) counts.

    .venv/bin/python benchmarks/grade_benchmark.py --students 40 --workers 2 [--cold]

It measures and prints; it asserts nothing about speed (no timed tests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "grader_tests"))

from helpers import COURSE, gradebook_rows, release_nb, scratch_course, source_nb, write_submission  # noqa: E402

from lrcourse.course import ASSIGNMENT  # noqa: E402
from lrcourse.grade import ensure_assignment  # noqa: E402
from lrcourse.sandbox import COLD_KERNEL_NAME  # noqa: E402
from lrcourse.scenarios import scenarios_for, submission  # noqa: E402


def cohort(n_students: int, seed: int = 0) -> dict[str, dict[str, object]]:
    """{student: {stem: notebook or raw text}}: 60% complete, 30% partial, 10% broken."""
    rng = random.Random(seed)
    stems = COURSE.exercises()
    students = {}
    for i in range(n_students):
        kind = "complete" if i % 10 < 6 else "partial" if i % 10 < 9 else "broken"
        work = {}
        for stem in stems:
            src, rel = source_nb(stem), release_nb(stem)
            correct = [s for s in scenarios_for(stem, COURSE) if s.is_correct]
            mistakes = [s for s in scenarios_for(stem, COURSE) if not s.is_correct]
            if kind == "complete":
                work[stem] = submission(src, rel, rng.choice(correct))
            elif kind == "partial":
                work[stem] = submission(src, rel, rng.choice(mistakes)) if rng.random() < 0.7 else rel
            elif stem == stems[0]:
                work[stem] = nbformat.writes(rel)[:2000]  # truncated file
            else:
                work[stem] = rel
        students[f"student{i:03d}-{kind}"] = work
    return students


def make_course(folder: Path, students, config: str = "") -> object:
    stems = sorted({stem for work in students.values() for stem in work})
    course = scratch_course(folder, stems)
    with open(folder / "nbgrader_config.py", "a") as f:
        f.write(config)
    for student, work in students.items():
        for stem, nb in work.items():
            if isinstance(nb, str):
                target = course.step_dir("submitted", student)
                target.mkdir(parents=True, exist_ok=True)
                (target / f"{stem}.ipynb").write_text(nb)
            else:
                write_submission(course, student, stem, nb)
    # The assignment enters the gradebook before the clock starts, for every run alike (what
    # an instructor's `nbgrader generate_assignment` or first `lrcourse grade` has done).
    ensure_assignment(course)
    return course


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds


def stock_config() -> str:
    """nbgrader as it comes: the plain python3 kernel and nbgrader's default autograde pipeline."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    names = [f"{p.__module__}.{p.__name__}" if isinstance(p, type) else p for p in default]
    return f"\nc.Execute.kernel_name = 'python3'\nc.Autograde.autograde_preprocessors = {names!r}\n"


FLOOR = r"""
import json, os, sys, tempfile, time, warnings
os.environ["MPLBACKEND"] = "Agg"
import numpy, pandas, scipy.special, scipy.stats, sklearn.linear_model, sklearn.metrics, sklearn.model_selection
import sklearn.preprocessing, sklearn.pipeline, sklearn.datasets, statsmodels.api, matplotlib.pyplot as plt
import nbformat
from IPython.core.inputtransformer2 import TransformerManager
transform = TransformerManager().transform_cell
warnings.simplefilter("ignore")
total, counted = 0.0, 0
for path in json.load(sys.stdin):
    nb = nbformat.read(path, as_version=4)
    cells = [compile(transform(c.source), "<cell>", "exec") for c in nb.cells if c.cell_type == "code"]
    here = tempfile.mkdtemp()
    os.chdir(here)
    start = time.perf_counter()
    namespace = {"__name__": "__main__"}
    for code in cells:
        try:
            exec(code, namespace)
        except BaseException:
            pass
    plt.close("all")
    total += time.perf_counter() - start
    counted += 1
print(json.dumps({"seconds": total, "notebooks": counted}))
"""


def floor_seconds(course) -> tuple[float, int]:
    """The autograded notebooks' cells, run in one warm interpreter (see FLOOR)."""
    paths = sorted(str(p) for p in (course.root / "autograded").rglob("*.ipynb"))
    proc = subprocess.run([sys.executable, "-c", FLOOR], input=json.dumps(paths), capture_output=True, text=True,
                          check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["notebooks"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--cold", action="store_true", help="also grade with cold kernels at -j N")
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses")
    args = parser.parse_args()

    students = cohort(args.students)
    n_notebooks = sum(len(w) for w in students.values())
    base = Path(tempfile.mkdtemp(prefix="lrcourse-bench-"))
    print(f"cohort: {len(students)} students, {n_notebooks} notebooks, in {base}")
    cold = f"\nc.Execute.kernel_name = {COLD_KERNEL_NAME!r}\n"
    runs = {"stock": stock_config(), "warm-1": "", f"warm-{args.workers}": ""}
    if args.cold:
        runs[f"cold-{args.workers}"] = cold
    courses = {name: make_course(base / name, students, config) for name, config in runs.items()}

    labels = {"stock": "stock nbgrader autograde (serial)", "warm-1": "lrcourse grade -j 1, warm kernels",
              f"warm-{args.workers}": f"lrcourse grade -j {args.workers}, warm kernels",
              f"cold-{args.workers}": f"lrcourse grade -j {args.workers}, cold kernels"}
    results = {}
    results["stock"] = timed(labels["stock"], lambda: courses["stock"].nbgrader(
        "autograde", ASSIGNMENT, check=False, quiet=True))
    for name in runs:
        if name != "stock":
            workers = 1 if name.endswith("-1") else args.workers
            results[name] = timed(labels[name], lambda name=name, workers=workers: subprocess.run(
                [sys.executable, "-m", "lrcourse.cli", "grade", "-j", str(workers), "--no-progress"],
                cwd=courses[name].root, check=False, capture_output=True))
    floor, floor_notebooks = floor_seconds(courses["warm-1"])
    print(f"  floor ({floor_notebooks} autograded notebooks, one warm interpreter): {floor:.1f} s", flush=True)

    def graded_rows(course) -> dict:
        """Gradebook rows of the notebooks this run autograded."""
        return {k: v for k, v in gradebook_rows(course).items()
                if (course.step_dir("autograded", k[0]) / f"{k[1]}.ipynb").is_file()}

    stock_rows = graded_rows(courses["stock"])
    same = True
    for name in runs:
        if name != "stock":
            ours = graded_rows(courses[name])
            both = stock_rows.keys() & ours.keys()
            agree = bool(both) and all(stock_rows[k] == ours[k] for k in both)
            print(f"grades of {labels[name]} identical to stock nbgrader ({len(both)} gradebook rows graded by both): "
                  f"{agree}")
            same &= agree

    stock = results["stock"]
    print("\n| run | wall time (s) | notebooks/s | speed-up vs stock nbgrader | per notebook (s) | "
          "above the floor per notebook (s) |")
    print("|---|---|---|---|---|---|")
    for name, seconds in results.items():
        per = seconds / n_notebooks
        print(f"| {labels[name]} | {seconds:.1f} | {n_notebooks / seconds:.2f} | {stock / seconds:.2f}x | "
              f"{per:.2f} | {(seconds - floor) / n_notebooks:.2f} |")
    print(f"| floor: cells in one warm interpreter | {floor:.1f} | {n_notebooks / floor:.2f} | "
          f"{stock / floor:.2f}x | {floor / n_notebooks:.2f} | 0 |")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
