"""docs/authoring.md's walk-through works: adding an exercise is one folder and the documented commands.

In a scratch copy of the course (its config and exercises/), the two files the walk-through
shows are written into exercises/ex6_roc_curve/, the course is built, and the new exercise's
blank release and scenarios are graded with `nbgrader autograde`: each must keep the promise
its scenario makes. The repository itself must come out untouched.
"""

from __future__ import annotations

import hashlib
import re
import shutil

import pytest
from helpers import BLANK, ROOT, autograde_scenarios, scenario_problems

from lrcourse.build import build
from lrcourse.course import ASSIGNMENT, Course
from lrcourse.scenarios import scenarios_for

pytestmark = pytest.mark.slow  # not in the fast lane: builds the whole course and grades a new exercise

NEW = "ex6_roc_curve"
WALKTHROUGH = (ROOT / "docs" / "authoring.md").read_text()
# A file the walk-through shows: a fenced block whose info string names the file after the language.
SHOWN_FILE = re.compile(r"^```python (exercises/\S+)\n(.*?)^```$", re.S | re.M)
TRACKED = ("exercises", "source", "release", "solutions", "examples", "student-template")


def shown_files() -> dict[str, str]:
    return dict(SHOWN_FILE.findall(WALKTHROUGH))


def digest(root) -> dict[str, str]:
    """Every file of the repository's authored and generated folders, by content."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in TRACKED for p in sorted((root / folder).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """(scratch course with the sixth exercise built, its scores by student, the repository before)."""
    before = digest(ROOT)
    root = tmp_path_factory.mktemp("new-exercise") / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "exercises", root / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    for rel, text in shown_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    course = build(root=str(root))
    students = [BLANK] + [s.name for s in scenarios_for(NEW, course)]
    scores = autograde_scenarios(course, NEW, students)
    return course, scores, before


def test_the_walkthrough_shows_one_folder_with_the_text_and_the_scenarios():
    assert sorted(shown_files()) == [f"exercises/{NEW}/{NEW}.py", f"exercises/{NEW}/scenarios.py"]


def test_the_new_folder_is_discovered_after_the_others_and_built(added):
    course, _, _ = added
    assert course.exercises() == [*Course(ROOT).exercises(), NEW]
    for step in ("source", "release", "solutions"):
        assert (course.step_dir(step) / f"{NEW}.ipynb").is_file(), f"no {step} notebook for {NEW}"
    assert "`ex6_auc_answer`" in (course.step_dir("solutions") / "rubric.md").read_text()
    assert "BEGIN HIDDEN TESTS" not in (course.step_dir("release") / f"{NEW}.ipynb").read_text()


def test_the_new_exercise_scenarios_keep_their_promises(added):
    course, scores, _ = added
    promises = {BLANK: None, **{s.name: s.loses for s in scenarios_for(NEW, course)}}
    assert set(scores) == set(promises) and len(promises) == 4
    broken = {}
    for student, loses in promises.items():
        auto = {r.cell: r.score for r in scores[student] if r.auto and r.notebook == NEW}
        found = scenario_problems(NEW, auto, loses, course)
        if found:
            broken[student] = found
    log = (course.root / "autograde.log").read_text()[-3000:]
    assert not broken, f"{broken}\n{log}"


def test_the_repository_is_untouched(added):
    _, _, before = added
    assert digest(ROOT) == before
    assert not (ROOT / "exercises" / NEW).exists()
    assert not list(ROOT.glob(f"*/{ASSIGNMENT}/{NEW}*"))
