"""Benchmark: serial `nbgrader autograde` vs `lrcourse grade` at 1 and N workers vs bare execution.

Builds a synthetic cohort from the scenarios (complete, partial and broken
submissions), grades identical copies of it three ways, checks that the gradebooks
agree, and prints wall time, notebooks per second, speed-up over serial nbgrader and
the per-notebook cost relative to `jupyter nbconvert --execute` of the same notebooks.

    .venv/bin/python benchmarks/grade_benchmark.py --students 40 --workers 2

It measures and prints; it asserts nothing about speed (no timed tests).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "grader_tests"))

from conftest import release_nb, scratch_course, source_nb, write_submission  # noqa: E402
from test_grade import gradebook_rows  # noqa: E402

from lrcourse.course import ASSIGNMENT, NOTEBOOKS, run_in_env  # noqa: E402
from lrcourse.grade import grade  # noqa: E402
from lrcourse.scenarios import scenarios_for, submission  # noqa: E402


def cohort(n_students: int, seed: int = 0) -> dict[str, dict[str, object]]:
    """{student: {stem: notebook or raw text}}: 60% complete, 30% partial, 10% broken."""
    rng = random.Random(seed)
    stems = [s for s in NOTEBOOKS if (ROOT / "source" / ASSIGNMENT / f"{s}.ipynb").is_file()]
    students = {}
    for i in range(n_students):
        kind = "complete" if i % 10 < 6 else "partial" if i % 10 < 9 else "broken"
        work = {}
        for stem in stems:
            src, rel = source_nb(stem), release_nb(stem)
            correct = [s for s in scenarios_for(stem) if s.is_correct]
            mistakes = [s for s in scenarios_for(stem) if not s.is_correct]
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


def make_course(folder: Path, students) -> object:
    stems = sorted({stem for work in students.values() for stem in work})
    course = scratch_course(folder, stems)
    for student, work in students.items():
        for stem, nb in work.items():
            if isinstance(nb, str):
                target = course.step_dir("submitted", student)
                target.mkdir(parents=True, exist_ok=True)
                (target / f"{stem}.ipynb").write_text(nb)
            else:
                write_submission(course, student, stem, nb)
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    return course


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses")
    args = parser.parse_args()

    students = cohort(args.students)
    n_notebooks = sum(len(w) for w in students.values())
    base = Path(tempfile.mkdtemp(prefix="lrcourse-bench-"))
    print(f"cohort: {len(students)} students, {n_notebooks} notebooks, in {base}")
    courses = {name: make_course(base / name, students) for name in ("serial", "one", "many", "bare")}

    results = {}
    results["serial nbgrader autograde"] = timed("serial nbgrader autograde", lambda: courses["serial"].nbgrader(
        "autograde", ASSIGNMENT, check=False, quiet=True))
    results["lrcourse grade -j 1"] = timed(
        "lrcourse grade -j 1", lambda: grade(root=str(courses["one"].root), workers=1, progress=False))
    results[f"lrcourse grade -j {args.workers}"] = timed(
        f"lrcourse grade -j {args.workers}",
        lambda: grade(root=str(courses["many"].root), workers=args.workers, progress=False))

    # bare execution of the same (valid) notebooks, one nbconvert process, one after another
    bare = courses["bare"]
    valid = []
    for path in sorted((bare.root / "submitted").rglob("*.ipynb")):
        try:
            nbformat.read(str(path), as_version=4)
            valid.append(str(path))
        except Exception:  # noqa: BLE001 - the truncated ones cannot be executed by anyone
            pass
    bare_seconds = timed("jupyter nbconvert --execute", lambda: run_in_env(
        [str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--execute", "--to", "notebook",
         "--ExecutePreprocessor.kernel_name=lrcourse", "--ExecutePreprocessor.timeout=60",
         "--allow-errors", "--output-dir", str(base / "bare-out"), *valid], cwd=bare.root, check=False, quiet=True))

    def graded_rows(course) -> dict:
        """Gradebook rows of the notebooks this run autograded."""
        return {k: v for k, v in gradebook_rows(course).items()
                if (course.step_dir("autograded", k[0]) / f"{k[1]}.ipynb").is_file()}

    serial_rows = graded_rows(courses["serial"])
    same = True
    for name in ("one", "many"):
        ours = graded_rows(courses[name])
        both = serial_rows.keys() & ours.keys()
        same &= bool(both) and all(serial_rows[k] == ours[k] for k in both)

    serial = results["serial nbgrader autograde"]
    per_bare = bare_seconds / len(valid)
    print(f"\ngrades identical to serial nbgrader (notebooks both graded): {same}")
    print("\n| run | wall time (s) | notebooks/s | speed-up vs serial nbgrader | per notebook (s) | "
          "vs bare execution |")
    print("|---|---|---|---|---|---|")
    for label, seconds in results.items():
        per = seconds / n_notebooks
        print(f"| {label} | {seconds:.1f} | {n_notebooks / seconds:.2f} | {serial / seconds:.2f}x | "
              f"{per:.2f} | {per / per_bare:.2f}x |")
    print(f"| jupyter nbconvert --execute ({len(valid)} valid notebooks) | {bare_seconds:.1f} | "
          f"{len(valid) / bare_seconds:.2f} | | {per_bare:.2f} | 1.00x |")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
