"""Shared fixtures: the repository, its exercises, and every scenario graded by nbgrader.

Grading is the expensive part, so it happens once per session: each exercise gets a
scratch copy of the course (config, source, release) in which every scenario of that
exercise is a student, and one `nbgrader autograde` run grades them all. Two
exercises are graded at a time (the machines here have two cores).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import EXERCISES, FAST_GRADING, grade_every_exercise, runner_graded

from lrcourse.gradebook import CellScore


def pytest_configure(config):
    os.environ.pop("LRCOURSE_DB_URL", None)  # tests always grade into their own SQLite files
    config.addinivalue_line("markers", "slow: not in the fast lane (`make quick`); the README's test command runs it")



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
