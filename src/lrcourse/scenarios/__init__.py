"""Named submissions for every exercise: correct approaches and known mistakes.

Each exercise module (`scenarios/<notebook stem>.py`) lists `SCENARIOS`. A scenario
is the solution with some answer cells replaced, as a student would write them:

* `correct(name, **answers)`: must score full autograded marks;
* `mistake(name, loses=[...], **answers)`: must lose points on each test cell in
  `loses`, and keep full marks on every other test cell (a slip costs the points
  of the check that names it, not the whole notebook).

The grader tests grade every scenario; `lrcourse examples` builds the bundled
example students from them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from textwrap import dedent

from nbformat.notebooknode import NotebookNode

from ..notebooks import fill_answers, solution_answers


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


def scenarios_for(stem: str) -> list[Scenario]:
    """The scenarios of one exercise ([] when the exercise has none yet)."""
    try:
        module = importlib.import_module(f"{__name__}.{stem}")
    except ModuleNotFoundError:
        return []
    names = [s.name for s in module.SCENARIOS]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate scenario names in {stem}")
    return list(module.SCENARIOS)


def submission(source_nb: NotebookNode, release_nb: NotebookNode, scenario: Scenario) -> NotebookNode:
    """The release notebook as a student following `scenario` would submit it."""
    return fill_answers(release_nb, {**solution_answers(source_nb), **scenario.answers})
