"""Shared fixtures: the repository, its exercises, and every scenario graded by nbgrader.

Grading is the expensive part, so it happens once per session: each exercise gets a
scratch copy of the course (config, source, release) in which every scenario of that
exercise is a student, and one `nbgrader autograde` run grades them all. Two
exercises are graded at a time (the machines here have two cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from lrcourse.course import ASSIGNMENT, NOTEBOOKS, Course
from lrcourse.gradebook import CellScore, submission_scores
from lrcourse.notebooks import read
from lrcourse.scenarios import scenarios_for, submission

ROOT = Path(__file__).resolve().parents[1]
BLANK = "blank-release"
ALL_EXERCISES = [s for s in NOTEBOOKS if (ROOT / "source" / ASSIGNMENT / f"{s}.ipynb").is_file()]


def selected_exercises(only: str) -> list[str]:
    """The exercises named by LRCOURSE_EXERCISE (comma-separated prefixes: `ex2`), else all of them."""
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [s for s in ALL_EXERCISES if not wanted or any(s.startswith(w) for w in wanted)]
    if not chosen:
        raise pytest.UsageError(f"LRCOURSE_EXERCISE={only!r} names none of {ALL_EXERCISES}")
    return chosen


# The fast lane (`make quick EX=ex2`): only one exercise's notebooks are graded, and they are
# scored by RUNNER (one process, no kernel starts) instead of nbgrader; the full run grades
# with nbgrader, and test_numerics.py proves that both give the same scores.
EXERCISES = selected_exercises(os.environ.get("LRCOURSE_EXERCISE", ""))
FAST_GRADING = os.environ.get("LRCOURSE_FAST_GRADING") == "1"
RUNNER = Path(__file__).with_name("numerics_runner.py")


def pytest_configure(config):
    os.environ.pop("LRCOURSE_DB_URL", None)  # tests always grade into their own SQLite files
    config.addinivalue_line("markers", "slow: not in the fast lane (`make quick`); the README's test command runs it")


def source_nb(stem: str):
    return read(ROOT / "source" / ASSIGNMENT / f"{stem}.ipynb")


def release_nb(stem: str):
    return read(ROOT / "release" / ASSIGNMENT / f"{stem}.ipynb")


def autograded_cells(stem: str) -> dict[str, float]:
    """Test cells of an exercise and their points."""
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
        for c in source_nb(stem).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def scenario_problems(stem: str, scores: dict[str, float], loses: tuple[str, ...] | None) -> list[str]:
    """How one notebook's autograded scores break its promise. `loses=None`: the blank release,
    zero on every test cell; else a scenario: below full marks on each cell in `loses` and full
    marks on every other cell (a correct approach loses nothing)."""
    cells = autograded_cells(stem)
    if set(scores) != set(cells):
        return [f"scored test cells {sorted(scores)}, expected {sorted(cells)}"]
    found = []
    for cell, points in cells.items():
        if loses is None:
            broken = scores[cell] != 0
        elif cell in loses:
            broken = scores[cell] >= points
        else:
            broken = scores[cell] != points
        if broken:
            kept = loses is not None and cell in loses
            found.append(f"{cell} scored {scores[cell]} of {points}" + (" (should lose points)" if kept else ""))
    return found


def scratch_course(folder: Path, stems: list[str]) -> Course:
    """A minimal copy of the course (config, given source and release notebooks) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    for step in ("source", "release"):
        (folder / step / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            shutil.copy(ROOT / step / ASSIGNMENT / f"{stem}.ipynb", folder / step / ASSIGNMENT)
    return Course(folder)


def write_submission(course: Course, student: str, stem: str, nb) -> None:
    target = course.step_dir("submitted", student)
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target / f"{stem}.ipynb"))


def grade_students(folder: Path, stem: str, students: list[str], config: str = "") -> dict[str, list[CellScore]]:
    """Grade some of an exercise's students (scenario names or BLANK) with one `nbgrader autograde`;
    `config` is appended to the scratch course's nbgrader_config.py."""
    course = scratch_course(folder, [stem])
    with open(folder / "nbgrader_config.py", "a") as f:
        f.write(config)
    src, rel = source_nb(stem), release_nb(stem)
    by_name = {s.name: s for s in scenarios_for(stem)}
    for student in students:
        nb = rel if student == BLANK else submission(src, rel, by_name[student])
        write_submission(course, student, stem, nb)
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    proc = course.nbgrader("autograde", ASSIGNMENT, check=False, quiet=True)
    (folder / "autograde.log").write_text(proc.stdout)
    return {s: submission_scores(course.db_url, s) for s in students}


def all_students(stem: str) -> list[str]:
    return [BLANK] + [s.name for s in scenarios_for(stem)]


def run_scores(stems: list[str], out: Path, extra: list[str] = (), env: dict | None = None) -> dict:
    """numerics_runner.py's result for `stems` (see its docstring)."""
    proc = subprocess.run([sys.executable, str(RUNNER), "--out", str(out), *extra, *stems],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"the runner failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


def runner_graded(folder: Path, stem: str) -> dict[str, list[CellScore]]:
    points = autograded_cells(stem)
    scores = run_scores([stem], folder / f"{stem}.json")["scores"][stem]
    return {student: [CellScore(stem, cell, score, points[cell], True) for cell, score in cells.items()]
            for student, cells in scores.items()}


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[str, dict[str, list[CellScore]]]:
    """{exercise: {scenario: cell scores}} for every exercise's scenarios and its blank release.

    Two nbgrader runs at a time (two cores), each on half of one exercise's students, the
    largest halves first so that no long run is left alone at the end. The fast lane scores
    with RUNNER instead.
    """
    base = tmp_path_factory.mktemp("graded")
    if FAST_GRADING:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(zip(EXERCISES, pool.map(lambda stem: runner_graded(base, stem), EXERCISES), strict=True))
    return grade_every_exercise(base)


def grade_every_exercise(base: Path, config: str = "") -> dict[str, dict[str, list[CellScore]]]:
    """Every exercise's students graded by nbgrader (`config` appended to each scratch course's
    nbgrader_config.py): two runs at a time, each on half of one exercise's students, the largest
    halves first."""
    jobs = sorted(((stem, i, all_students(stem)[i::2]) for stem in EXERCISES for i in range(2)),
                  key=lambda job: -len(job[2]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [(stem, pool.submit(grade_students, base / f"{stem}-{i}", stem, students, config))
                   for stem, i, students in jobs]
        result: dict[str, dict[str, list[CellScore]]] = {stem: {} for stem in EXERCISES}
        for stem, future in futures:
            result[stem].update(future.result())
        return result


@contextmanager
def started_kernel(name: str, cwd: Path, *, env: dict | None = None, stderr=None):
    """A started kernel of kernelspec `name` in `cwd`: yields its manager and `run(code) -> stdout
    (and error)`."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name)
    km.start_kernel(cwd=str(cwd), env={**os.environ, **(env or {})}, stderr=stderr)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)

        def run(code: str) -> str:
            out = []

            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

            kc.execute_interactive(code, output_hook=hook, timeout=60)
            return "".join(out)

        run.client = kc
        yield km, run
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


def read_rows(path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts."""
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_table(path) -> list[list[str]]:
    import csv

    with open(path, newline="") as f:
        return list(csv.reader(f))
