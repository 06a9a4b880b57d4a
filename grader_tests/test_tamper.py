"""The tamper suite: students who try to game the grader get no undeserved point.

Every `tampered-<name>` scenario (grader_tests/tampered.py) is a student in one
`nbgrader autograde` batch, in a scratch course graded with the course's own
configuration (sandboxed kernel included) except a 10 s cell timeout, so the loops
cost seconds rather than minutes. An honest student sorts after all of them.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers import autograded_cells, release_nb, scratch_course, source_nb, write_submission
from tampered import STEM, TAMPERS, tampered_notebook

from lrcourse.course import ASSIGNMENT
from lrcourse.gradebook import submission_scores
from lrcourse.nbgrader_log import failure_reasons
from lrcourse.notebooks import fill_answers, solution_answers
from lrcourse.sandbox import COLD_KERNEL_NAME, unavailable_reason
from lrcourse.tamper import review_flags

pytestmark = pytest.mark.slow  # not in the fast lane: the tamper suite grades every tampered notebook

HONEST = "zz-honest-solution"
TIMEOUT = 10
BY_NAME = {t.name: t for t in TAMPERS}
REF_COEF = "0.05254221572507427"  # what a cheat would fetch: the hidden test's reference value


@dataclass
class Graded:
    scores: dict[str, float]  # autograded test cells; {} when the notebook was not graded
    report: str  # outputs of the autograded notebook, nbgrader's log for the student, review flags


def serve_reference() -> int:
    """A server on the grader's loopback that hands out the reference value (a cheat's helper)."""
    server = socket.create_server(("127.0.0.1", 0))

    def loop():
        while True:
            conn, _ = server.accept()
            with conn:
                conn.sendall(REF_COEF.encode())

    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1]


def student_log(log: str, student: str) -> str:
    """The lines of nbgrader's log about one student (from its path to the next student's)."""
    lines, mine = [], False
    path = re.compile(r"/(submitted|autograded)/([^/\s]+)/")
    for line in log.splitlines():
        m = path.search(line)
        if m:
            mine = m.group(2) == student
        if mine:
            lines.append(line)
    return "\n".join(lines + failure_reasons(log, student))


def outputs_text(path: Path) -> str:
    if not path.is_file():
        return ""
    nb = nbformat.read(str(path), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if out.get("output_type") == "stream" else
                         f"{out.get('ename', '')}: {out.get('evalue', '')}\n" + "\n".join(out.get("traceback", [])))
    return "\n".join(parts)


def grade_batch(folder: Path, names: list[str], port: int, kernel: str | None = None,
                timeout: int = TIMEOUT) -> dict[str, Graded]:
    course = scratch_course(folder, [STEM])
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\n# tamper suite: shorter cell timeout, the loops cost seconds\nc.Execute.timeout = {timeout}\n")
        if kernel:
            config.write(f"c.Execute.kernel_name = {kernel!r}\n")
    src, rel = source_nb(STEM), release_nb(STEM)
    solution = fill_answers(rel, solution_answers(src))
    for name in names:
        made = tampered_notebook(solution, BY_NAME[name], root=str(folder), port=port)
        if isinstance(made, str):
            target = course.step_dir("submitted", name)
            target.mkdir(parents=True)
            (target / f"{STEM}.ipynb").write_text(made)
        else:
            write_submission(course, name, STEM, made)
    write_submission(course, HONEST, STEM, solution)
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    log = course.nbgrader("autograde", ASSIGNMENT, check=False, quiet=True).stdout
    (folder / "autograde.log").write_text(log)
    graded = {}
    for student in [*names, HONEST]:
        scores = {r.cell: r.score for r in submission_scores(course.db_url, student) if r.auto}
        autograded = course.step_dir("autograded", student) / f"{STEM}.ipynb"
        flags = review_flags(course.step_dir("submitted", student) / f"{STEM}.ipynb", rel, autograded)
        report = "\n".join([outputs_text(autograded), student_log(log, student), *flags])
        graded[student] = Graded(scores, report)
    return graded


def grade_all(base: Path, kernel: str | None = None, timeout: int = TIMEOUT) -> dict[str, Graded]:
    """Every tampered scenario graded, in two scratch courses graded side by side."""
    port = serve_reference()
    names = [t.name for t in TAMPERS]
    halves = [names[0::2], names[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(grade_batch, base / f"course{i}", half, port, kernel, timeout)
                   for i, half in enumerate(halves)]
        graded = {}
        for f in futures:
            graded.update(f.result())
    return graded


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> tuple[Path, dict[str, Graded]]:
    """Every tampered scenario graded (warm kernels, as configured)."""
    base = tmp_path_factory.mktemp("tamper")
    return base, grade_all(base)


def test_warm_and_cold_kernels_grade_every_tampered_submission_alike(batch, tmp_path_factory):
    """The pre-warmed kernels (sandbox/warm.py) change no score, whatever the submission does
    to its kernel: memory bombs, loops, a killed kernel, patched libraries and hooks."""
    if unavailable_reason() is not None:
        pytest.skip(f"no sandbox here: {unavailable_reason()}")
    # A cold kernel imports the course's libraries in its first cells (4 s quiet, more than the
    # suite's 10 s cell limit on a loaded machine): the cold batch gets 30 s. No tamper's score
    # depends on the limit (its loops never end).
    cold = grade_all(tmp_path_factory.mktemp("tamper-cold"), COLD_KERNEL_NAME, timeout=30)
    warm = batch[1]
    assert warm.keys() == cold.keys()
    differ = [f"{name}: warm {warm[name].scores} cold {cold[name].scores}"
              for name in warm if warm[name].scores != cold[name].scores]
    assert not differ, "\n".join(differ)


def test_the_sandbox_is_active_where_grading_runs_as_root_on_linux():
    if not sys.platform.startswith("linux"):
        pytest.skip("the sandbox needs Linux; elsewhere grading warns that it runs unsandboxed")
    import os

    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root (to switch to the sandbox user)")
    assert unavailable_reason() is None, f"run `make setup`: {unavailable_reason()}"


@pytest.mark.parametrize("name", BY_NAME)
def test_tampered_submission_earns_no_undeserved_point(batch, name):
    graded = batch[1][name]
    tamper, points = BY_NAME[name], autograded_cells(STEM)
    over = {c: s for c, s in graded.scores.items() if s > points[c]}
    assert not over, f"{name} scored more than the source's points: {over}"
    zero = points if tamper.zero is None else tamper.zero
    kept = {c: graded.scores[c] for c in zero if graded.scores.get(c, 0) > 0}
    assert not kept, f"{name} kept points it did not earn: {kept}\n{graded.report[-3000:]}"


@pytest.mark.parametrize("name", BY_NAME)
def test_tampered_submission_is_reported_with_a_clear_reason(batch, name):
    graded = batch[1][name]
    assert re.search(BY_NAME[name].reason, graded.report), (
        f"{name}: no {BY_NAME[name].reason!r} in what grading reported:\n{graded.report[-3000:]}")


def test_the_batch_continues_past_every_tampered_submission(batch):
    base, graded = batch
    for course in ("course0", "course1"):
        scores = submission_scores(f"sqlite:///{base / course / 'gradebook.db'}", HONEST)
        got = {r.cell: r.score for r in scores if r.auto}
        assert got == autograded_cells(STEM), f"{course}: the honest student after the tamperers got {got}"


def test_writes_outside_the_submission_folder_never_reach_the_course(batch):
    base, graded = batch
    written = sorted(str(p.relative_to(base)) for p in base.rglob("PWNED*"))
    assert not written, f"student code wrote into the course: {written}"
    assert "PWNED" not in " ".join(str(p) for p in Path("/tmp").glob("PWNED*"))


def test_an_honest_submission_has_no_review_flags(batch):
    flags = review_flags(batch[0] / "course0" / "submitted" / HONEST / ASSIGNMENT / f"{STEM}.ipynb",
                         release_nb(STEM))
    assert flags == []


def test_no_hidden_test_reaches_the_students_kernel(batch):
    """A hook that records every cell the student's kernel runs sees no test code: the tests
    ran in the verifier (lrcourse.verify), the student's kernel only handed answers over."""
    base, graded = batch
    seen = re.search(r"SEEN: (\d+) cells, (\d+) hand-overs, (\d+) with test code",
                     graded["tampered-hook-reads-hidden-tests"].report)
    assert seen, "the hook's summary is missing from the autograded notebook"
    cells, handovers, test_code = map(int, seen.groups())
    assert handovers == 5, f"the hook saw {handovers} hand-overs before the last answer, not 5"
    assert test_code == 0, f"the student's kernel ran {test_code} cells holding test code"


def test_outputs_of_any_type_are_capped_in_the_autograded_notebook(batch):
    """Three 10 MB images: the grader keeps at most 1 MB of output per cell (CapOutput)."""
    base, graded = batch
    found = list(base.glob("course*/autograded/tampered-huge-images/*/*.ipynb"))
    assert found, "the huge-images student has no autograded notebook"
    assert found[0].stat().st_size < 2_000_000, f"{found[0].stat().st_size:,} bytes kept"
