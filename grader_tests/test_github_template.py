"""The student template repository: in sync with release/, a valid Classroom workflow whose
steps score the blank release zero and the solution full visible marks, and no leaks."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ALL_EXERCISES as EXERCISES
from conftest import ROOT, release_nb, source_nb
from packaging.requirements import Requirement

from lrcourse.cli import main
from lrcourse.course import Course
from lrcourse.scenarios import scenarios_for, submission
from lrcourse.template import ACTIONS, CHECKS, WORKFLOW, write_template

pytestmark = pytest.mark.slow  # not in the fast lane: the student template of the whole course

TEMPLATE = ROOT / "student-template"
VENV_BIN = Path(sys.executable).parent


def solution(stem: str):
    scenario = next(s for s in scenarios_for(stem) if s.name == "solution")
    return submission(source_nb(stem), release_nb(stem), scenario)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".check-cache" not in p.parts}


def workflow() -> dict:
    return yaml.safe_load((TEMPLATE / WORKFLOW).read_text())


def grader_steps() -> list[dict]:
    return [s for s in workflow()["jobs"]["run-autograding-tests"]["steps"]
            if s.get("uses") == ACTIONS["grader"]]


def visible_tests() -> dict[str, float]:
    checks = json.loads((TEMPLATE / CHECKS).read_text())
    return {c["id"]: c["points"] for nb in checks["notebooks"].values() for c in nb["cells"]
            if c["kind"] == "tests" and c["visible"]}


@pytest.fixture
def student_repo(tmp_path) -> Path:
    """A fresh copy of the template, as a student's clone (no cached check results)."""
    repo = tmp_path / "repo"
    shutil.copytree(TEMPLATE, repo, ignore=shutil.ignore_patterns(".check-cache"))
    return repo


def run_as_runner(repo: Path, command: str, timeout_minutes: float) -> subprocess.CompletedProcess:
    """A step's command as autograding-command-grader runs it: a shell in the repository with
    only PATH and HOME (and its fixed variables) set. PATH starts with the course venv's bin,
    standing in for setup-python plus `pip install -r requirements.txt` (no network in tests;
    the venv holds exactly those pins, see the test below)."""
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
           "FORCE_COLOR": "true", "DOTNET_CLI_HOME": "/tmp", "DOTNET_NOLOGO": "true"}
    return subprocess.run(["/bin/sh", "-c", command], cwd=repo, env=env, text=True, capture_output=True,
                          timeout=timeout_minutes * 60)


def run_workflow(repo: Path) -> dict[str, tuple[int, int, str]]:
    """{step id: (score, max score, output)} for every grader step, run in order."""
    scores = {}
    for step in grader_steps():
        inputs = step["with"]
        setup = run_as_runner(repo, inputs["setup-command"], inputs["timeout"])
        assert setup.returncode == 0, setup.stdout + setup.stderr
        proc = run_as_runner(repo, inputs["command"], inputs["timeout"])
        assert not proc.stderr, f"{step['id']} wrote to stderr (older graders fail on it): {proc.stderr}"
        scores[step["id"]] = (inputs["max-score"] if proc.returncode == 0 else 0, inputs["max-score"],
                              proc.stdout)
    return scores


def test_template_is_in_sync_with_release(tmp_path):
    rebuilt = tmp_path / "template"
    write_template(Course(ROOT), rebuilt)
    assert tree(rebuilt) == tree(TEMPLATE), "student-template/ is stale: run `lrcourse template`"


def test_template_holds_every_release_notebook_byte_for_byte():
    for stem in EXERCISES:
        assert (TEMPLATE / f"{stem}.ipynb").read_bytes() == (
            ROOT / "release" / "logistic_regression" / f"{stem}.ipynb").read_bytes()


def test_requirements_are_the_course_lock_and_the_course_venv_satisfies_them():
    pins = [Requirement(line) for line in (TEMPLATE / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert {p.name for p in pins} >= {"nbgrader", "nbclient", "ipykernel", "scikit-learn", "statsmodels"}
    for pin in pins:
        assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==", pin
        if pin.marker is None or pin.marker.evaluate():
            installed = importlib.metadata.version(pin.name)
            assert pin.specifier.contains(installed, prereleases=True), f"{pin} but venv has {installed}"


def test_workflow_validates_against_githubs_workflow_schema():
    proc = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(TEMPLATE / WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_has_the_classroom_autograding_shape():
    wf = workflow()
    assert wf["name"] == "Autograding Tests" and "push" in wf["on"]
    assert wf["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    steps = wf["jobs"]["run-autograding-tests"]["steps"]
    graders = grader_steps()
    assert [s["id"] for s in graders] == list(visible_tests()), "one grader step per visible test cell"
    for step in graders:
        assert set(step["with"]) == {"test-name", "setup-command", "command", "timeout", "max-score"}
        assert isinstance(step["with"]["max-score"], int) and isinstance(step["with"]["timeout"], int)
    scale = json.loads((TEMPLATE / CHECKS).read_text())["classroom_scale"]
    total = sum(s["with"]["max-score"] for s in graders)
    assert total == pytest.approx(scale * sum(visible_tests().values()))
    reporter = steps[-1]
    assert reporter["uses"] == ACTIONS["reporter"] and reporter["if"] == "always()"
    ids = reporter["with"]["runners"].split(",")
    assert ids == [s["id"] for s in graders]
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids}


def test_workflow_steps_score_the_blank_release_zero(student_repo):
    scores = run_workflow(student_repo)
    assert scores and all(got == 0 for got, _, _ in scores.values()), scores


def test_workflow_steps_give_the_solution_full_visible_points(student_repo):
    for stem in EXERCISES:
        nbformat.write(solution(stem), str(student_repo / f"{stem}.ipynb"))
    scores = run_workflow(student_repo)
    lost = {k: v for k, v in scores.items() if v[0] != v[1]}
    assert not lost, lost


def test_a_crashing_or_hanging_notebook_costs_only_the_steps_after_it(student_repo):
    stem = "ex1_probability_curve"
    nb = solution(stem)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "ex1_plot":
            cell.source = "import os\nos._exit(1)  # the kernel dies here"
    nbformat.write(nb, str(student_repo / f"{stem}.ipynb"))
    scores = run_workflow(student_repo)
    ex1 = {k: v for k, v in scores.items() if k.startswith("ex1_")}
    assert {k for k, v in ex1.items() if v[0] == v[1]} == {"ex1_data_tests", "ex1_model_tests", "ex1_curve_tests"}
    assert "did not run" in scores["ex1_crossing_tests"][2]

    checks_path = student_repo / CHECKS
    checks = json.loads(checks_path.read_text())
    checks["cell_timeout"] = 10
    checks_path.write_text(json.dumps(checks))
    nb = solution(stem)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1_crossing":
            cell.source = "import time\ntime.sleep(600)\n" + cell.source
    nbformat.write(nb, str(student_repo / f"{stem}.ipynb"))
    scores = run_workflow(student_repo)
    assert {k for k, v in scores.items() if k.startswith("ex1_") and v[0] != v[1]} == {"ex1_crossing_tests"}


def test_local_check_tells_the_student_what_to_look_at(student_repo):
    before = tree(student_repo)
    proc = run_as_runner(student_repo, "python check.py", 10)
    assert proc.returncode == 1 and not proc.stderr
    assert re.search(r"FAIL\s+ex1_model_tests", proc.stdout)
    assert "look at answer cell ex1_model: not answered yet" in proc.stdout
    assert re.search(r"LATER\s+ex1_curve_tests_shape", proc.stdout)
    assert "visible tests: 0 of 6 points pass" in proc.stdout
    assert tree(student_repo) == before, "the check must change no file of the repository"


# --- leak scan ------------------------------------------------------------------------------

def block_lines(source: str, begin: str, end: str) -> set[str]:
    lines, inside = set(), False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) >= 8:
            lines.add(line.strip())
    return lines


def secrets() -> dict[str, set[str]]:
    """Solution lines, hidden-test lines and reference literals of every source notebook,
    minus what the release itself shows (an instruction may quote a line of the solution)."""
    found = {"solution": set(), "hidden test": set(), "reference value": set()}
    for stem in EXERCISES:
        released_lines = {line.strip() for cell in release_nb(stem).cells
                          for line in cell.source.splitlines()}
        for cell in source_nb(stem).cells:
            found["solution"] |= block_lines(cell.source, "BEGIN SOLUTION", "END SOLUTION")
            found["hidden test"] |= block_lines(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
            for line in cell.source.splitlines():
                if "# ref:" in line:
                    value = line.split("=", 1)[1].split("# ref:")[0]
                    for num in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", value):
                        if len(num.replace(".", "").strip("-0")) >= 4:  # not 0.212 or 106.0
                            found["reference value"] |= {num, num[: num.index(".") + 5]}
        for kind in ("solution", "hidden test"):
            found[kind] = {line for line in found[kind] if line not in released_lines}
    return found


def test_secrets_are_found_in_the_source_so_the_leak_scan_has_teeth():
    found = secrets()
    assert all(found.values()), {k: len(v) for k, v in found.items()}


def template_lines() -> dict[str, set[str]]:
    """Every stripped line of every template file; notebook and JSON strings are decoded first."""
    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            for item in value.values() if isinstance(value, dict) else value:
                yield from strings(item)

    out = {}
    for name, data in tree(TEMPLATE).items():
        text = data.decode("utf-8", "replace")
        parts = list(strings(json.loads(text))) if name.endswith((".ipynb", ".json")) else [text]
        out[name] = {line.strip() for part in parts for line in part.splitlines()} | {text}
    return out


def test_template_contains_no_solution_no_hidden_test_and_no_reference_value():
    lines = template_lines()
    found = secrets()
    leaks = [(kind, item, name) for kind in ("solution", "hidden test") for item in found[kind]
             for name, have in lines.items() if item in have]
    leaks += [("reference value", item, name) for item in found["reference value"]
              for name, have in lines.items() if any(item in line for line in have)]
    assert not leaks, leaks[:10]


def test_every_command_in_the_github_doc_is_a_real_verb_or_check_option(capsys):
    doc = (ROOT / "docs" / "github-classroom.md").read_text()
    verbs = set(re.findall(r"lrcourse ([a-z-]+)", doc))
    assert {"template", "collect", "grade", "feedback", "export", "return-feedback"} <= verbs
    for verb in verbs:
        with pytest.raises(SystemExit) as done:
            main([verb, "--help"])
        assert done.value.code == 0, f"`lrcourse {verb}` is not a verb"
    checks = json.loads((TEMPLATE / CHECKS).read_text())
    names = set(checks["notebooks"]) | {c["id"] for nb in checks["notebooks"].values() for c in nb["cells"]}
    names |= {"--cell", "--run", "--fresh"}
    shown = re.findall(r"^\s+python check\.py([^\n#]*)", doc + (TEMPLATE / "README.md").read_text(), re.M)
    assert len(shown) >= 4
    for line in shown:
        assert set(line.split()) <= names, f"python check.py{line}"
    capsys.readouterr()
