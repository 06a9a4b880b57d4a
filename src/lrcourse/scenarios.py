"""The scenario vocabulary: named submissions, correct approaches and known mistakes.

Each exercise's `exercises/<stem>/scenarios.py` lists `SCENARIOS`, made with the
functions here. A scenario is the solution with some answer cells replaced, as a
student would write them:

* `correct(name, **answers)`: must score full autograded marks;
* `mistake(name, loses=[...], **answers)`: must lose points on each test cell in
  `loses`, and keep full marks on every other test cell (a slip costs the points
  of the check that names it, not the whole notebook).

The grader tests grade every scenario; `lrcourse examples` builds the bundled
example students from them.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from textwrap import dedent

from nbformat.notebooknode import NotebookNode

from .course import SCENARIOS_FILE, Course, CourseError
from .notebooks import fill_answers, solution_answers


@dataclass(frozen=True)
class Scenario:
    name: str
    answers: dict[str, str] = field(default_factory=dict)
    loses: tuple[str, ...] = ()

    @property
    def is_correct(self) -> bool:
        return not self.loses


def code(*parts: str) -> str:
    """Join indented snippets into one cell's code (each part is dedented on its own)."""
    return "\n".join(dedent(part).strip("\n") for part in parts)


def _answers(answers: dict[str, str | tuple[str, ...]]) -> dict[str, str]:
    return {k: code(*v) if isinstance(v, tuple) else code(v) for k, v in answers.items()}


def correct(name: str, **answers: str | tuple[str, ...]) -> Scenario:
    return Scenario(name, _answers(answers))


def mistake(name: str, loses: list[str], **answers: str | tuple[str, ...]) -> Scenario:
    if not loses:
        raise ValueError(f"mistake {name!r} must name the test cells that catch it")
    return Scenario(name, _answers(answers), tuple(loses))


def scenarios_for(stem: str, course: Course | None = None) -> list[Scenario]:
    """The scenarios of one exercise, from exercises/<stem>/scenarios.py of `course`
    (default: the course around the working directory). A file that is missing, fails to
    import or lists no valid SCENARIOS is an error naming it."""
    path = (course or Course.here()).exercise_dir(stem) / SCENARIOS_FILE
    if not path.is_file():
        raise CourseError(f"{path.parent}: missing {SCENARIOS_FILE}")
    name = f"_lrcourse_exercise_{stem}_scenarios"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise CourseError(f"{path}: cannot be imported: {type(e).__name__}: {e}") from e
    sys.modules.pop(name, None)
    found = getattr(module, "SCENARIOS", None)
    if not isinstance(found, list | tuple) or not all(isinstance(s, Scenario) for s in found):
        raise CourseError(f"{path}: SCENARIOS must be a list of correct(...) and mistake(...)")
    names = [s.name for s in found]
    if len(names) != len(set(names)):
        raise CourseError(f"{path}: duplicate scenario names")
    return list(found)


def submission(source_nb: NotebookNode, release_nb: NotebookNode, scenario: Scenario) -> NotebookNode:
    """The release notebook as a student following `scenario` would submit it."""
    return fill_answers(release_nb, {**solution_answers(source_nb), **scenario.answers})
