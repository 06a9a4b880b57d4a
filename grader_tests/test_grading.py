"""Tests of the tests: the solution, the blank release, correct approaches and mistakes."""

from __future__ import annotations

import pytest
from helpers import BLANK, COURSE, EXERCISES, autograded_cells, scenario_problems

from lrcourse.scenarios import scenarios_for

SCENARIOS = [(stem, s) for stem in EXERCISES for s in scenarios_for(stem, COURSE)]
CORRECT = [pytest.param(stem, s, id=f"{stem}:{s.name}") for stem, s in SCENARIOS if s.is_correct]
MISTAKES = [pytest.param(stem, s, id=f"{stem}:{s.name}") for stem, s in SCENARIOS if not s.is_correct]


def auto_scores(graded, stem: str, student: str) -> dict[str, float]:
    rows = graded[stem][student]
    assert rows, f"{student} was not graded at all (see autograde.log in the scratch course)"
    return {r.cell: r.score for r in rows if r.auto}


@pytest.mark.parametrize("stem", EXERCISES)
def test_solution_scenario_exists_for_every_exercise(stem):
    assert "solution" in {s.name for s in scenarios_for(stem, COURSE)}


@pytest.mark.parametrize("stem", EXERCISES)
def test_every_scenario_names_real_test_cells(stem):
    cells = autograded_cells(stem)
    for s in scenarios_for(stem, COURSE):
        assert set(s.loses) <= set(cells), f"{s.name} names unknown test cells"


@pytest.mark.parametrize("stem", EXERCISES)
def test_blank_release_scores_zero_without_crashing(graded, stem):
    problems = scenario_problems(stem, auto_scores(graded, stem, BLANK), None)
    assert not problems, problems


@pytest.mark.parametrize(("stem", "scenario"), CORRECT)
def test_correct_approach_scores_full_autograded_marks(graded, stem, scenario):
    problems = scenario_problems(stem, auto_scores(graded, stem, scenario.name), scenario.loses)
    assert not problems, f"{scenario.name}: {problems}"


@pytest.mark.parametrize(("stem", "scenario"), MISTAKES)
def test_mistake_loses_points_exactly_on_the_cells_that_name_it(graded, stem, scenario):
    problems = scenario_problems(stem, auto_scores(graded, stem, scenario.name), scenario.loses)
    assert not problems, f"{scenario.name}: {problems}"
