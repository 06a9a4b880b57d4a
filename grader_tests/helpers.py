"""Helpers shared by the test modules: the repository, its exercises, scratch courses,
submissions made from scenarios, and reading what grading wrote.

Test modules import from here, never from each other; conftest.py holds the fixtures.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lrcourse.course import ASSIGNMENT, Course
from lrcourse.gradebook import CellScore, submission_scores
from lrcourse.notebooks import read
from lrcourse.scenarios import scenarios_for, submission

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
BLANK = "blank-release"
ALL_EXERCISES = COURSE.exercises()  # the folders of exercises/: the only list of exercises


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


def source_nb(stem: str, course: Course = COURSE):
    return read(course.step_dir("source") / f"{stem}.ipynb")


def release_nb(stem: str, course: Course = COURSE):
    return read(course.step_dir("release") / f"{stem}.ipynb")


def autograded_cells(stem: str, course: Course = COURSE) -> dict[str, float]:
    """Test cells of an exercise and their points."""
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
        for c in source_nb(stem, course).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def scenario_problems(stem: str, scores: dict[str, float], loses: tuple[str, ...] | None,
                      course: Course = COURSE) -> list[str]:
    """How one notebook's autograded scores break its promise. `loses=None`: the blank release,
    zero on every test cell; else a scenario: below full marks on each cell in `loses` and full
    marks on every other cell (a correct approach loses nothing)."""
    cells = autograded_cells(stem, course)
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
    """Grade some of an exercise's students (scenario names or BLANK) in a scratch course;
    `config` is appended to its nbgrader_config.py."""
    course = scratch_course(folder, [stem])
    with open(folder / "nbgrader_config.py", "a") as f:
        f.write(config)
    return autograde_scenarios(course, stem, students, exercises=COURSE)


def grade_every_exercise(base: Path, config: str = "") -> dict[str, dict[str, list[CellScore]]]:
    """Every exercise's students graded by nbgrader (`config` appended to each scratch course's
    nbgrader_config.py): two runs at a time (two cores), each on half of one exercise's students,
    the largest halves first so that no long run is left alone at the end."""
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


def autograde_scenarios(course: Course, stem: str, students: list[str],
                        exercises: Course | None = None) -> dict[str, list[CellScore]]:
    """Grade some of an exercise's students (scenario names or BLANK) with one `nbgrader autograde`
    in `course`, the scenarios taken from `exercises` (default: the course itself)."""
    src, rel = source_nb(stem, course), release_nb(stem, course)
    by_name = {s.name: s for s in scenarios_for(stem, exercises or course)}
    for student in students:
        nb = rel if student == BLANK else submission(src, rel, by_name[student])
        write_submission(course, student, stem, nb)
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    proc = course.nbgrader("autograde", ASSIGNMENT, check=False, quiet=True)
    (course.root / "autograde.log").write_text(proc.stdout)
    return {s: submission_scores(course.db_url, s) for s in students}


def all_students(stem: str, course: Course = COURSE) -> list[str]:
    return [BLANK] + [s.name for s in scenarios_for(stem, course)]


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


REF_LINE = re.compile(r"^\s*(_[A-Za-z0-9_]+)\s*=\s*(.+?)\s*#\s*ref:\s*(.+?)\s*$")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def hidden_blocks(nb) -> list[str]:
    return [b for c in nb.cells if c.cell_type == "code" for b in HIDDEN.findall(c.source)]


def references(stem: str) -> list[tuple[str, object, str]]:
    """(name, literal value, expression) for every `# ref:` line in the hidden tests."""
    refs = []
    for block in hidden_blocks(source_nb(stem)):
        for line in block.splitlines():
            m = REF_LINE.match(line)
            if m:
                refs.append((m.group(1), ast.literal_eval(m.group(2)), m.group(3)))
    return refs


def scenario_nb(stem: str, name: str):
    """The release notebook of `stem` filled in as the scenario `name` says (a submission)."""
    chosen = next(s for s in scenarios_for(stem, COURSE) if s.name == name)
    return submission(source_nb(stem), release_nb(stem), chosen)


def solution_nb(stem: str):
    """The solution handed in as a student's submission."""
    return scenario_nb(stem, "solution")


def gradebook_rows(course: Course) -> dict[tuple[str, str, str], tuple]:
    """Every grade in a course's gradebook: (student, notebook, cell) -> scores and flags."""
    rows = {}
    with Gradebook(course.db_url) as gb:
        for student in gb.students:
            for sub in student.submissions:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        rows[(student.id, nb.name, g.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade,
                                                               g.extra_credit)
    return rows


def read_rows(path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_table(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


# One exercise's cohort for the grading tests (test_grade, test_scaleout): the solution,
# another correct approach, a mistake and the blank release.
EX1 = "ex1_probability_curve"
COHORT = {
    "correct": lambda: scenario_nb(EX1, "solution"),
    "sklearn": lambda: scenario_nb(EX1, "sklearn-no-penalty-integer-grid"),
    "mistake-medians": lambda: scenario_nb(EX1, "others-held-at-medians"),
    "blank": lambda: release_nb(EX1),
}


# Appended to a course's nbgrader_config.py: nbgrader's own steps where the course replaces them
# (lrcourse.preprocessors.REPLACES), as nbgrader comes.
NBGRADERS_OWN_STEPS = """
from lrcourse.preprocessors import REPLACES as _REPLACES
_THEIRS = {ours: theirs for theirs, ours in _REPLACES.items()}
for _pipeline in ("autograde_preprocessors", "sanitize_preprocessors"):
    setattr(c.Autograde, _pipeline, [_THEIRS.get(s, s) if isinstance(s, str) else s
                                     for s in getattr(c.Autograde, _pipeline)])
"""


def with_nbgraders_own_steps(course: Course) -> Course:
    with open(course.root / "nbgrader_config.py", "a") as f:
        f.write(NBGRADERS_OWN_STEPS)
    return course


def make_course(folder: Path, students) -> Course:
    """A scratch course with exercise 1 and these students' submissions, assignment generated."""
    course = scratch_course(folder, [EX1])
    for student, make in students.items():
        write_submission(course, student, EX1, make())
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    return course



# Git repositories with controlled commit dates, as students push them (the GitHub tests).
DEADLINE = "2026-11-20T17:00:00+00:00"
PREFIX = "logistic-regression"


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "s@example.org"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", "-c", "commit.gpgsign=false", "-C", str(repo), *args], env=env,
                          check=True, capture_output=True, text=True).stdout


def commit(repo: Path, files: dict[str, object], date: str, message: str = "work") -> None:
    for name, nb in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if nb is None:
            path.unlink()
        else:
            nbformat.write(nb, str(path))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)


def new_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    git(folder, "init", "-q", "-b", "main")
    return folder


def cmdline(pid: int) -> bytes:
    """The command line of process `pid` (NUL-separated), or b"" when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
