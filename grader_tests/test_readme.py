"""The README's commands exist and are the ones CI and the Makefile run."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from helpers import ROOT

from lrcourse.cli import main

pytestmark = pytest.mark.slow  # not in the fast lane: the README's commands

README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_readme_opens_with_the_two_commands_demo_and_test():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.M)


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z]+):", MAKEFILE, re.M))
    for target in re.findall(r"`make (\w+)`|^make (\w+)", README, re.M):
        name = target[0] or target[1]
        assert name in targets, f"README mentions `make {name}` but the Makefile has no such target"


def test_make_targets_call_the_lrcourse_verbs():
    assert re.search(r"^demo: setup\n\t\$\(VENV_BIN\)/lrcourse demo$", MAKEFILE, re.M)
    assert re.search(r"^test: setup lint\n\t\$\(VENV_BIN\)/pytest$", MAKEFILE, re.M)


def test_every_lrcourse_verb_in_the_readme_is_a_real_verb(capsys):
    verbs = set(re.findall(r"lrcourse ([a-z][\w-]*)", README + MAKEFILE))
    assert verbs
    for verb in verbs:
        try:
            main([verb, "--help"])
        except SystemExit as done:
            assert done.code == 0, f"`lrcourse {verb}` is not a verb"
    assert "usage: lrcourse" in capsys.readouterr().out


def test_makefile_bootstraps_uv_when_missing():
    assert "python -m pip install --quiet uv" in MAKEFILE and "sync --frozen" in MAKEFILE


def test_the_fast_lane_runs_one_exercise_and_not_the_slow_tests():
    proc = subprocess.run(["make", "quick", "EX=ex4"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTEST_ADDOPTS": "-v -p no:cacheprovider"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"\d+ passed(, \d+ skipped)?, \d+ deselected", proc.stdout), proc.stdout[-2000:]
    ran = [line for line in proc.stdout.splitlines() if "PASSED" in line]
    assert any("test_grading.py" in line and "[ex4_logistic_vs_linear" in line for line in ran), proc.stdout[-2000:]
    assert not any("ex2_decision_thresholds" in line or "test_numerics" in line for line in ran)
