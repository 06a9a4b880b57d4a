"""Nothing a student wrote runs in the instructor's browser, and grading day says what is still ungraded.

One small course, graded without running any kernel (nbgrader's ClearOutput and Execute
switched off, so the outputs written into the submission stay as the "student" left them):
`attacker` hides script in the written answer and in every kind of output; `essay-graded`
is a correct submission whose essay a grader has scored. Feedback, exports and formgrader
are then produced from it by the course's own verbs and config.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
import warnings
from html.parser import HTMLParser

import nbformat
import pytest
from helpers import ROOT, read_rows, read_table, scratch_course, solution_nb, write_submission
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from lrcourse.course import ASSIGNMENT, tool_env
from lrcourse.export import export
from lrcourse.feedback import feedback
from lrcourse.report import plot_pass_rates, report
from lrcourse.sanitize import SanitizeStudentContent, markdown_to_html
from lrcourse.status import GRADED, StatusStore, fingerprint

STEM = "ex4_logistic_vs_linear"
ESSAY = "ex4_essay"
ATTACK = "<img src=x onerror=alert('essay')> <script>alert('essay-script')</script>"

pytestmark = pytest.mark.slow  # not in the fast lane: a whole course, feedback and a Jupyter server


def attacker_notebook():
    nb = solution_nb(STEM)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id[ESSAY].source = f"My essay: **logistic** regression models $p < 1$.\n\n{ATTACK}\n\n<b>kept</b>"
    by_id["ex4_statements"].outputs = [
        new_output("display_data", data={
            "text/html": "<table class='dataframe'><thead><tr><th>coef</th></tr></thead>"
                         "<tr><td onmouseover=alert('td')>1.5</td></tr></table><img src=x onerror=alert('html')>",
            "text/plain": "table"}),
        new_output("display_data", data={"application/javascript": "alert('js')"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload=alert('svg')><script>alert(1)</script></svg>"}),
        new_output("display_data", data={"text/markdown": "[x](javascript:alert('md')) <img src=x onerror=alert(2)>"}),
        new_output("execute_result", data={"text/html": "<iframe src=javascript:alert('frame')></iframe>"},
                   metadata={"text/html": {"isolated": True}}, execution_count=1),
        new_output("stream", name="stdout", text="<script>alert('stream')</script>\n"),
    ]
    by_id["ex4_statements"].metadata["tags"] = ["x\"><script>alert('tag')</script>"]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The scratch course, autograded without kernels; essay-graded's essay scored 4 of 5 by hand."""
    course = scratch_course(tmp_path_factory.mktemp("browser") / "course", [STEM])
    write_submission(course, "attacker", STEM, attacker_notebook())
    write_submission(course, "essay-graded", STEM, solution_nb(STEM))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    config.ClearOutput.enabled = config.Execute.enabled = False  # keep the outputs written above
    api = NbGraderAPI(CourseDirectory(config=config), config=config)  # in process: no CLI start-up
    with warnings.catch_warnings():  # nbgrader's autograde trips SQLAlchemy's SAWarning (its CLI does too)
        warnings.simplefilter("ignore", SAWarning)
        assert api.generate_assignment(ASSIGNMENT)["success"]
        for student in ("attacker", "essay-graded"):
            result = api.autograde(ASSIGNMENT, student)
            assert result["success"], result
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(ESSAY, STEM, ASSIGNMENT, "essay-graded")
        grade.manual_score = 4.0
        gb.db.commit()
    store = StatusStore(course)  # what `lrcourse grade` records for a notebook it graded
    for student in ("attacker", "essay-graded"):
        store.begin(student, fingerprint(course, student))
        store.record(student, STEM, GRADED)
        store.finish(student)
    return course


@pytest.fixture(scope="module")
def feedback_run(course):
    return feedback(root=str(course.root))


def page(course, student: str) -> str:
    return (course.step_dir("feedback", student) / f"{STEM}.html").read_text()


class Markup(HTMLParser):
    """Every element, attribute and script body of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.attributes, self.scripts, self._in_script = [], [], [], False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def runnable_from_student(text: str) -> list[str]:
    """What in a page could run something the student wrote: a script mentioning one of the
    attack's alerts, an event handler, a javascript: URL, a frame, an embedded object."""
    markup = Markup(text)
    found = [f"<script>{s.strip()[:60]}" for s in markup.scripts if "alert(" in s]
    found += [f"<{tag} {name}={value[:40]}>" for tag, name, value in markup.attributes
              if name.startswith("on") and "alert" in value]
    found += [f"<{tag} {name}={value[:40]}>" for tag, name, value in markup.attributes
              if "javascript:" in value.lower()]
    found += [f"<{tag}>" for tag in markup.tags if tag in ("iframe", "object", "embed")]
    return found


def test_the_attack_runs_in_feedback_without_the_sanitizer(course):
    """The scenario is a real attack: nbgrader's own feedback config renders it runnable."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(course.step_dir("autograded", "attacker") / f"{STEM}.ipynb"), as_version=4)
    exporter = HTMLExporter(template_name="classic")
    html, _ = exporter.from_notebook_node(nb)
    assert len(runnable_from_student(html)) >= 5, runnable_from_student(html)


def test_feedback_runs_nothing_the_student_wrote(course, feedback_run):
    assert "attacker" in feedback_run.written
    html = page(course, "attacker")
    assert runnable_from_student(html) == []
    assert "celltag_x" not in html and "widget-state" not in html


def test_feedback_still_shows_the_course_and_the_students_harmless_content(course, feedback_run):
    html = page(course, "attacker")
    assert "Exercise 4 — Logistic vs linear regression" in html  # the course's own text
    assert "My essay: <strong>logistic</strong> regression models $p &lt; 1$." in html
    assert "<b>kept</b>" in html and "<th>coef</th>" in html and "<td>1.5</td>" in html
    assert "HTML that could run in a browser was removed from this answer" in html
    assert "&lt;script&gt;alert('stream')&lt;/script&gt;" in html  # printed text stays text
    assert "application/javascript could run code" in html
    assert 'src="data:image/svg+xml;base64,' in html  # the SVG as an image, where no script runs


def test_sanitizing_leaves_the_course_markdown_as_nbconvert_renders_it():
    """Every markdown cell of every release notebook renders to the same elements and text
    once sanitized (links only gain rel="noopener noreferrer")."""

    def shape(text):
        markup = Markup(text)
        return markup.tags, [(t, n, v) for t, n, v in markup.attributes if n != "rel"]

    for path in sorted((ROOT / "release" / ASSIGNMENT).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        before = [markdown_to_html(c.source) for c in nb.cells if c.cell_type == "markdown"]
        SanitizeStudentContent().preprocess(nb, {})
        after = [markdown_to_html(c.source) for c in nb.cells if c.cell_type == "markdown"]
        for old, new in zip(before, after, strict=True):
            tags, attributes = shape(new)
            assert tags[0] == "div" and (tags[1:], attributes[1:]) == shape(old), f"{path.name}: {old[:200]}"


def test_feedback_marks_the_ungraded_essay_not_graded_yet(course, feedback_run):
    waiting, graded = page(course, "attacker"), page(course, "essay-graded")
    assert "Written response</a> (not graded yet (5.0 points))" in waiting
    assert "Score: 0.0 / 5.0" not in waiting
    assert "5.0 points of written answers not graded yet" in waiting
    assert "Written response</a> (Score: 4.0 / 5.0)" in graded and "not graded yet" not in graded


def test_feedback_warns_how_many_written_answers_are_ungraded(feedback_run):
    assert feedback_run.ungraded == {"attacker": [f"{STEM}:{ESSAY}"]}
    assert "1 written answer of 1 student not graded yet" in feedback_run.summary()


@pytest.fixture(scope="module")
def exported(course):
    roster = course.root / "roster.csv"
    roster.write_text("github_username,student_id,first_name,last_name,email,section\n"
                      'gh-essay,essay-graded,Pat,"Doe, Jr.",Pat.Doe@example.edu,B2\n'
                      "gh-attacker,attacker,Eve,Mallory,eve@example.edu,B2\n")
    return export(root=str(course.root), to="exports/grades.csv", roster=str(roster))


def test_exports_say_autograded_until_every_written_answer_is_graded(exported):
    rows = {r["student_id"]: r for r in read_rows(exported)}
    assert rows["attacker"]["status"] == "autograded" and float(rows["attacker"]["score"]) == 5.0
    assert "ex4_essay: written answer not graded yet" in rows["attacker"]["problems"]
    assert rows["essay-graded"]["status"] == "graded" and float(rows["essay-graded"]["score"]) == 9.0


def test_lms_files_carry_only_final_grades_named_through_the_roster(exported):
    """Canvas: Student ("Last, First"), ID, SIS User ID, SIS Login ID, Section, then the
    assignment; Moodle: its export's name, ID number and email columns, then the grade."""
    assert read_table(exported.with_name("canvas.csv")) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["Doe, Jr., Pat", "", "essay-graded", "", "B2", "9.0"]]
    assert read_table(exported.with_name("moodle.csv")) == [
        ["First name", "Last name", "ID number", "Email address", ASSIGNMENT],
        ["Pat", "Doe, Jr.", "essay-graded", "Pat.Doe@example.edu", "9.0"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def formgrader(course, tmp_path_factory):
    """A Jupyter server with the course's jupyter_server_config.py, started in the course (as the
    README says), with formgrader; yields (base URL, token, the server's log so far)."""
    port, token = free_port(), "browser-safety-test"
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**tool_env(), "JUPYTER_RUNTIME_DIR": str(log.parent / "runtime")}
    cmd = [str(ROOT / ".venv" / "bin" / "jupyter"), "server", f"--config={ROOT / 'jupyter_server_config.py'}",
           f"--port={port}", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # the test machine runs as root; the README says not to
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=course.root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.1)
        yield base, token, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def get(url: str):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.headers, response.read().decode()


def test_formgrader_pages_carry_the_content_security_policy(formgrader):
    base, token, _ = formgrader
    headers, _ = get(f"{base}/formgrader?token={token}")
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "connect-src 'self'", "img-src 'self' data: blob:",
                      "object-src 'none'", "form-action 'self'", "frame-ancestors 'self'", "base-uri 'self'"):
        assert directive in policy, policy


def test_formgrader_starts_without_exchange_warnings(formgrader):
    base, token, log = formgrader
    _, html = get(f"{base}/formgrader/manage_assignments?token={token}")
    assert 'id="warning-exchange"' not in html
    text = log.read_text()
    assert "Unwritable directory" not in text and "exchange directory" not in text.lower(), text[-2000:]


def test_formgrader_shows_the_submission_without_the_students_script(course, formgrader):
    base, token, _ = formgrader
    with Gradebook(course.db_url) as gb:
        submission_id = gb.find_submission_notebook(STEM, ASSIGNMENT, "attacker").id
    _, html = get(f"{base}/formgrader/submissions/{submission_id}/?token={token}")
    assert "My essay: <strong>logistic</strong>" in html and "<th>coef</th>" in html
    assert runnable_from_student(html) == []


def test_report_lists_students_whose_grade_is_not_final(course, exported):
    page = report(root=str(course.root), out="exports/report").read_text()
    table = page.split("<h2>Students to look at</h2>", 1)[1].split("</table>", 1)[0]
    assert "<td>attacker</td>" in table and "autograded" in table and f"{STEM}:{ESSAY}" in table
    assert "essay-graded" not in table  # final grade, nothing to review


def test_pass_rate_bars_have_a_legend(monkeypatch, tmp_path):
    from matplotlib.figure import Figure

    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: saved.append(self))
    plot_pass_rates([("ex1_a_tests", 0.25), ("ex1_b_tests", 0.75)], tmp_path / "rates.png")
    legend = saved[0].axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["fewer than half passed", "half or more passed"]
    bars = saved[0].axes[0].patches
    assert {tuple(b.get_facecolor()) for b in bars} == {tuple(h.get_facecolor()) for h in legend.legend_handles}
