"""The student template repository: in sync with release/, a valid Classroom workflow whose
steps score the blank release zero and the solution full visible marks, GitHub checks that
can fail, results on the job summary, student-only requirements, and no leaks."""

from __future__ import annotations

import base64
import importlib.metadata
import importlib.util
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
from helpers import ALL_EXERCISES as EXERCISES
from helpers import COURSE, ROOT, release_nb, scenario_nb, solution_nb, source_nb
from packaging.requirements import Requirement

from lrcourse.cli import main
from lrcourse.course import Course
from lrcourse.scenarios import scenarios_for
from lrcourse.template import ACTIONS, CHECKS, RUNNER_ID, WORKFLOW, runs_an_assert, step_id, write_template

pytestmark = pytest.mark.slow  # not in the fast lane: the student template of the whole course

TEMPLATE = ROOT / "student-template"
VENV_BIN = Path(sys.executable).parent


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".check-cache" not in p.parts}


def workflow() -> dict:
    return yaml.safe_load((TEMPLATE / WORKFLOW).read_text())


def grader_steps() -> list[dict]:
    return [s for s in workflow()["jobs"]["run-autograding-tests"]["steps"]
            if s.get("uses") == ACTIONS["grader"]]


def checks_json() -> dict:
    return json.loads((TEMPLATE / CHECKS).read_text())


def visible_tests() -> dict[str, float]:
    """{test cell id: points} of every GitHub check (a visible test cell)."""
    return {c["id"]: c["points"] for nb in checks_json()["notebooks"].values() for c in nb["cells"]
            if c["kind"] == "tests" and c["visible"]}


def load_check(repo: Path):
    """The repository's check.py as a module (its HERE is the repository)."""
    spec = importlib.util.spec_from_file_location(f"check_{abs(hash(repo))}", repo / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    """{test cell id: (score, max score, output)} for every grader step, run in order."""
    scores = {}
    for step in grader_steps():
        inputs = step["with"]
        setup = run_as_runner(repo, inputs["setup-command"], inputs["timeout"])
        assert setup.returncode == 0, setup.stdout + setup.stderr
        proc = run_as_runner(repo, inputs["command"], inputs["timeout"])
        assert not proc.stderr, f"{step['id']} wrote to stderr (older graders fail on it): {proc.stderr}"
        scores[inputs["command"].split()[-1]] = (inputs["max-score"] if proc.returncode == 0 else 0,
                                                 inputs["max-score"], proc.stdout)
    return scores


def test_template_is_in_sync_with_release(tmp_path):
    rebuilt = tmp_path / "template"
    write_template(Course(ROOT), rebuilt)
    assert tree(rebuilt) == tree(TEMPLATE), "student-template/ is stale: run `lrcourse template`"


def test_template_holds_every_release_notebook_byte_for_byte():
    for stem in EXERCISES:
        assert (TEMPLATE / f"{stem}.ipynb").read_bytes() == (
            ROOT / "release" / "logistic_regression" / f"{stem}.ipynb").read_bytes()


def test_requirements_are_the_student_group_and_the_course_venv_satisfies_them():
    pins = [Requirement(line) for line in (TEMPLATE / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    names = {p.name for p in pins}
    assert names >= {"nbclient", "nbformat", "ipykernel", "numpy", "pandas", "scipy", "scikit-learn",
                     "statsmodels", "matplotlib", "jupyterlab"}
    assert not names & {"nbgrader", "dask", "distributed", "psycopg2-binary", "jupytext", "sqlalchemy",
                        "pytest", "ruff"}, "instructor packages in the student requirements"
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
    # The reporter writes annotations (core.notice), no check runs: no `checks: write`.
    assert wf["permissions"] == {"actions": "read", "contents": "read"}
    steps = wf["jobs"]["run-autograding-tests"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert ACTIONS["checkout"] == "actions/checkout@v7" and ACTIONS["python"] == "actions/setup-python@v7"
    assert uses[:3] == [ACTIONS["checkout"], ACTIONS["python"], ACTIONS["cache-restore"]]
    install = next(s for s in steps if s.get("id") == "install")
    assert install["run"] == "python -m pip install -r requirements.txt"
    save = steps[steps.index(install) + 1]
    assert save["uses"] == ACTIONS["cache-save"] and save["with"] == steps[2]["with"]
    assert "hashFiles('requirements.txt')" in save["with"]["key"]
    graders = grader_steps()
    assert [s["with"]["command"].split()[-1] for s in graders] == list(visible_tests()), (
        "one grader step per visible test cell")
    for step in graders:
        assert set(step["with"]) == {"test-name", "setup-command", "command", "timeout", "max-score"}
        assert isinstance(step["with"]["max-score"], int) and isinstance(step["with"]["timeout"], int)
        assert step["id"] == step_id(step["with"]["command"].split()[-1])
    reporter = steps[-1]
    assert reporter["uses"] == ACTIONS["reporter"] and reporter["if"] == "always()"
    total_step = steps[-2]
    assert total_step == {"name": "Total of the visible checks", "if": "always()",
                          "run": "python check.py --total"}
    ids = reporter["with"]["runners"].split(",")
    assert ids == [s["id"] for s in graders] and len(set(ids)) == len(ids)
    # The reporter's own check of `runners` (its src/main.js), applied when anything fails.
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", reporter["with"]["runners"])
    assert all(RUNNER_ID.match(i) for i in ids)
    assert set(reporter["env"]) == {f"{i.upper()}_RESULTS" for i in ids}


def reporter_inputs(outputs: dict[str, str]) -> list[dict]:
    """What the reporter reads for each runner (as its src/main.js does: env
    `<ID upper>_RESULTS`, base64 JSON), given the grader steps' `result` outputs (a step
    skipped has none). GitHub's `a || 'b'` gives b when a is empty."""
    reporter = workflow()["jobs"]["run-autograding-tests"]["steps"][-1]
    results = []
    for runner in reporter["with"]["runners"].split(","):
        expr = reporter["env"][f"{runner.strip().upper()}_RESULTS"]
        found = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outputs\.result \|\| '([A-Za-z0-9+/=]+)' \}\}", expr)
        assert found and found.group(1) == runner, expr
        results.append(json.loads(base64.b64decode(outputs.get(runner) or found.group(2))))
    return results


def test_a_failed_install_gives_the_reporter_a_clear_result_for_every_step():
    """Install failed: every grader step is skipped and has no `result`. The reporter must get
    a result it can read (JSON.parse of an empty output used to crash it) that says why."""
    graders = {s["id"]: s for s in grader_steps()}
    results = reporter_inputs({})
    assert len(results) == len(graders)
    for result, step in zip(results, graders.values(), strict=True):
        assert result["status"] == "error" and result["max_score"] == step["with"]["max-score"]
        (test,) = result["tests"]
        assert test["score"] == 0 and test["name"] == step["with"]["test-name"]
        assert "did not run: an earlier step failed" in test["message"]
        assert "requirements.txt" in test["message"]
    # A step that ran keeps its own result.
    first = next(iter(graders))
    ran = base64.b64encode(json.dumps({"version": 1, "status": "pass", "max_score": 2, "tests": []}).encode())
    assert reporter_inputs({first: ran.decode()})[0]["status"] == "pass"


def test_github_checks_are_the_test_cells_whose_handed_out_code_runs_an_assert():
    assert runs_an_assert("x = 1\nassert x == 1, 'one'")
    assert runs_an_assert("for v in [1]:\n    if v:\n        assert v")
    assert runs_an_assert("import numpy as np\nnp.testing.assert_allclose(1, 1)")
    assert not runs_an_assert("# Checks x against the reference (hidden).")
    assert not runs_an_assert("_a = sorted(x)\n_b = list(y)")  # computes, never asserts
    assert not runs_an_assert("def helper(v):\n    assert v\n")  # defined, never called here
    checks = checks_json()
    seen = set()
    for stem in EXERCISES:
        for cell in release_nb(stem).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade"):
                seen.add(meta["grade_id"])
                assert (meta["grade_id"] in visible_tests()) == runs_an_assert(cell.source), meta["grade_id"]
    assert set(visible_tests()) <= seen
    # The two exercise 3 cells whose asserts are all hidden used to count on GitHub.
    assert not {"ex3_downsample_tests_rows", "ex3_fit_tests_reference"} & set(visible_tests())
    # What the student sees adds up: reporter total = scale x visible points; names agree.
    scale, unit = checks["classroom_scale"], checks["classroom_unit"]
    graders = grader_steps()
    assert sum(s["with"]["max-score"] for s in graders) == round(scale * sum(visible_tests().values()))
    for step in graders:
        pts = visible_tests()[step["with"]["command"].split()[-1]]
        assert step["with"]["max-score"] == pts * scale
        worth = f"{pts:g} point" + ("" if pts == 1 else "s")
        assert step["name"] == step["with"]["test-name"]
        assert step["name"].endswith(f"({worth})" if scale == 1 else f"({step['with']['max-score']} {unit} = {worth})")
    visible = sum(visible_tests().values())
    header = (TEMPLATE / WORKFLOW).read_text().split("\nname:")[0]
    assert f"total of {round(visible * scale)} is {visible:g} points" in header.replace("\n# ", " ")
    assert f"| **{visible:g}** |" in (TEMPLATE / "README.md").read_text()


def run_total(repo: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, str]:
    """The workflow's `python check.py --total` step, a plain `run:` step on the runner: it
    sees GITHUB_STEP_SUMMARY and GITHUB_ACTIONS (the grader action's commands do not)."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    proc = subprocess.run(["/bin/sh", "-c", "python check.py --total"], cwd=repo, env=env, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0 and not proc.stderr, proc.stdout + proc.stderr
    return proc, summary.read_text()


def test_every_github_check_fails_on_the_blank_release_and_the_summary_says_so(student_repo, tmp_path):
    """The blank release is a wrong answer to every exercise: each check GitHub counts must fail
    on it (with the asserts of the test above, no check gives points whatever the answer).
    The total step then lists every check with its message, and the total of the visible checks."""
    scores = run_workflow(student_repo)
    assert scores and set(scores) == set(visible_tests())
    assert all(got == 0 for got, _, _ in scores.values()), scores
    proc, summary = run_total(student_repo, tmp_path)
    visible = sum(visible_tests().values())
    headline = f"visible checks: 0 of {visible:g} points; hidden tests and written answers are graded later"
    assert headline in proc.stdout and f"### {headline}" in summary
    scale = checks_json()["classroom_scale"]
    assert f"::notice title=Visible checks::{headline}" in proc.stdout
    assert f"0 of {round(visible * scale)}" in proc.stdout.splitlines()[-1]
    for test_id, (_, _, output) in scores.items():
        assert f"❌ **FAIL** `{test_id}`" in summary
        message = next(line.strip() for line in output.splitlines() if "Error" in line)
        assert message in summary, (test_id, message)  # the step's message, on the summary page
    assert "AssertionError: define the fitted model as `model`" in summary
    for stem in EXERCISES:  # every written answer of the blank release is still empty
        for cell in checks_json()["notebooks"][stem]["cells"]:
            if cell["kind"] == "written":
                assert f"`{cell['id']}`" in summary


def test_workflow_steps_give_the_solution_full_visible_points(student_repo, tmp_path):
    for stem in EXERCISES:
        nbformat.write(solution_nb(stem), str(student_repo / f"{stem}.ipynb"))
    scores = run_workflow(student_repo)
    lost = {k: v for k, v in scores.items() if v[0] != v[1]}
    assert not lost, lost
    proc, summary = run_total(student_repo, tmp_path)
    visible = sum(visible_tests().values())
    assert f"visible checks: {visible:g} of {visible:g} points" in proc.stdout
    assert "FAIL" not in summary and "still empty" not in summary + proc.stdout
    assert summary.count("✅ **PASS**") == len(visible_tests())


def test_a_failing_check_puts_its_assertion_message_on_the_job_summary(student_repo, tmp_path):
    """A known mistake (from the course's scenarios) that a visible check catches: the step's
    command run with GITHUB_STEP_SUMMARY set writes the verdict and the assert's message there."""
    stem, test_id = "ex1_probability_curve", "ex1_curve_tests"
    scenario = next(s for s in scenarios_for(stem, COURSE) if s.name == "class-labels-not-probabilities")
    assert test_id in scenario.loses
    nbformat.write(scenario_nb(stem, scenario.name), str(student_repo / f"{stem}.ipynb"))
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier steps\n")
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
           "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run(["/bin/sh", "-c", f"python check.py {stem} --cell {test_id}"], cwd=student_repo,
                          env=env, text=True, capture_output=True, timeout=600)
    assert proc.returncode == 1 and not proc.stderr
    message = "AssertionError: p_fail should hold probabilities strictly between 0 and 1 (not class labels)"
    assert message in proc.stdout
    text = summary.read_text()
    assert text.startswith("# earlier steps\n"), "the summary is appended to, never overwritten"
    assert f"❌ **FAIL** `{test_id}` ({stem}, 0 of 1 point)" in text and message in text
    assert "look at answer cell ex1_curve" in text
    # The other checks of that notebook pass; the total step reports all of them from the cache.
    proc, text = run_total(student_repo, tmp_path)
    assert "✅ **PASS** `ex1_model_tests`" in text and f"❌ **FAIL** `{test_id}`" in text and message in text
    assert "#### ex1_probability_curve.ipynb: visible checks 5 of 6 points" in text
    assert "#### ex2_decision_thresholds.ipynb: visible checks 0 of" in text
    assert "no result kept" in text  # ex2..ex5 were not run: not run, never a pass


def test_check_without_its_packages_says_what_to_install(student_repo, tmp_path):
    """`python -S` has no site-packages: a Python where requirements.txt is not installed."""
    summary = tmp_path / "summary.md"
    proc = subprocess.run([sys.executable, "-S", "check.py", "ex1_probability_curve"], cwd=student_repo,
                          text=True, capture_output=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 2 and not proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout and "ModuleNotFoundError" not in proc.stdout
    assert "does not have the course's packages (missing: nbformat, nbclient" in proc.stdout
    assert "python -m pip install -r requirements.txt" in proc.stdout
    assert "pip install -r requirements.txt" in summary.read_text()


def test_written_answers_still_empty_are_listed(student_repo):
    check = load_check(student_repo)
    checks = check.load_checks()
    stem = "ex1_probability_curve"
    assert [c["id"] for c in check.empty_written_answers(stem, checks)] == ["ex1_shape_answer"]
    path = student_repo / f"{stem}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_shape_answer"]
    cell.source = "The curve is an S: probabilities stay between 0 and 1."
    nbformat.write(nb, str(path))
    assert check.empty_written_answers(stem, checks) == []
    cell.source = "   \n"
    nbformat.write(nb, str(path))
    assert [c["id"] for c in check.empty_written_answers(stem, checks)] == ["ex1_shape_answer"]


def test_a_crashing_or_hanging_notebook_costs_only_the_steps_after_it(student_repo):
    stem = "ex1_probability_curve"
    nb = solution_nb(stem)
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
    nb = solution_nb(stem)
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
    assert "visible checks: 0 of 6 points; 4 more points are graded later" in proc.stdout
    assert "written answers still empty (YOUR ANSWER HERE; graded by hand): ex1_shape_answer (2 points)" in proc.stdout
    visible = sum(visible_tests().values())
    assert proc.stdout.splitlines()[-1] == (
        f"visible checks: 0 of {visible:g} points; hidden tests and written answers are graded later")
    # The notebook's file name, with its suffix or a path, names the exercise too (from the cache).
    ex1 = proc.stdout.split("ex2_decision_thresholds.ipynb")[0]
    for name in ("ex1_probability_curve.ipynb", "./ex1_probability_curve.ipynb"):
        again = run_as_runner(student_repo, f"python check.py {name}", 1)
        assert again.returncode == 1 and again.stdout == ex1, name
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
    names |= {f"{stem}.ipynb" for stem in checks["notebooks"]} | {"--cell", "--run", "--fresh", "--total"}
    shown = re.findall(r"^\s+python check\.py([^\n#]*)", doc + (TEMPLATE / "README.md").read_text(), re.M)
    assert len(shown) >= 4
    for line in shown:
        assert set(line.split()) <= names, f"python check.py{line}"
    capsys.readouterr()
