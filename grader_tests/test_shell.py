"""The verifier's shell (sandbox/shell.py): an IPython shell forked from the warm template.

Grades: test_warm.py grades every scenario with cold kernels, whose verifier is a kernel,
and compares the gradebook rows with the `graded` fixture's, whose verifier is this
shell; test_tamper.py does the same for the tampered submissions. Here: what the shell
reports for a cell, its sandbox, its stops, and where it is not used.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import socket
import time
from pathlib import Path

import nbformat
import pytest

from lrcourse.kernel_manager import wait_retired
from lrcourse.sandbox import COLD_KERNEL_NAME, KERNEL_NAME, unavailable_reason
from lrcourse.sandbox.shell import ShellSession, ShellUnavailable
from lrcourse.sandbox.warm import unavailable_reason as warm_unavailable
from lrcourse.verify import ShellVerifier, VerifiedExecute, Verifier

pytestmark = [
    pytest.mark.slow,  # not in the fast lane: sandboxed processes
    pytest.mark.skipif(unavailable_reason() is not None or warm_unavailable() is not None,
                       reason=f"no warm sandboxed kernels here: {unavailable_reason() or warm_unavailable()}"),
]


@pytest.fixture
def session():
    shell = ShellSession(KERNEL_NAME)
    yield shell
    shell.close()


def texts(outputs, name="stdout"):
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == name)


def test_streams_and_errors_come_back_as_a_kernel_would_send_them(session):
    out = session.run("print('to stdout')\nimport sys; print('to stderr', file=sys.stderr)\n1/0", 30)
    assert texts(out) == "to stdout\n" and texts(out, "stderr") == "to stderr\n"
    error = [o for o in out if o["output_type"] == "error"]
    assert [(e["ename"], e["evalue"]) for e in error] == [("ZeroDivisionError", "division by zero")]
    assert any("1/0" in re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error[0]["traceback"])
    # a warning is a stderr stream (which nbgrader scores zero in a test cell), as in a kernel
    assert "UserWarning: careful" in texts(session.run("import warnings; warnings.warn('careful')", 30), "stderr")
    # the namespace carries over from cell to cell; a last expression's value is not an output
    assert session.run("x = 41", 30) == []
    assert session.run("x + 1", 30) == []
    assert texts(session.run("print(x + 1)", 30)) == "42\n"


def test_figures_are_closed_after_each_cell_as_the_inline_backend_does(session):
    out = session.run("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nprint(plt.get_backend())", 30)
    assert texts(out).strip() == "module://matplotlib_inline.backend_inline" and len(out) == 1
    assert texts(session.run("print(plt.get_fignums())", 30)) == "[]\n"
    assert texts(session.run("plt.plot([1, 2]); plt.show(); print(plt.get_fignums())", 30)) == "[]\n"


def test_the_shell_is_locked_in_like_a_kernel(session):
    course = Path(__file__).resolve().parents[1]
    out = session.run(f"""
import os, socket
print(os.getuid() != 0, os.getcwd(), os.listdir(), os.path.exists({str(course / 'nbgrader_config.py')!r}))
try:
    socket.create_connection(('1.1.1.1', 80), timeout=2)
except OSError as e:
    print('network:', e.errno)
""", 30)
    lines = texts(out).splitlines()
    assert lines[0] == "True /home/student/submission [] False", out
    assert lines[1].startswith("network:"), out


def test_a_cell_over_its_timeout_is_interrupted_and_the_next_one_runs(session):
    start = time.monotonic()
    out = session.run("import time\ntime.sleep(60)", 1)
    assert time.monotonic() - start < 10
    assert [o["ename"] for o in out if o["output_type"] == "error"] == ["KeyboardInterrupt"]
    assert texts(session.run("print('next')", 30)) == "next\n"


def test_a_shell_that_dies_or_ignores_interrupts_is_stopped_and_cleaned_up():
    shell = ShellSession(KERNEL_NAME)
    scratch, pids = shell.scratch, shell.pids
    assert scratch.exists()
    assert shell.run("import os; os._exit(3)", 30) is None
    assert shell.run("print('never')", 30) is None
    assert wait_retired(10)  # its cgroup and scratch folder are removed in the background
    assert not scratch.exists() and (pids is None or not pids.exists())

    shell = ShellSession(KERNEL_NAME)
    scratch, pids = shell.scratch, shell.pids
    start = time.monotonic()
    assert shell.run("import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)", 1) is None
    assert time.monotonic() - start < 15  # interrupted after 1 s, stopped 10 s later
    assert wait_retired(10)
    assert not scratch.exists() and (pids is None or not pids.exists())


def test_printing_megabytes_is_cut(session):
    out = session.run("print('x' * (20 * 2**20))", 60)
    assert 8 * 2**20 <= sum(len(o["text"]) for o in out) < 9 * 2**20
    assert "dropped by the grader" in out[-1]["text"]


def test_a_shell_request_needs_its_socket_and_a_kernel_request_none(tmp_path):
    from lrcourse.sandbox import HOME, warm
    from lrcourse.sandbox.launch import kernel_env

    env = kernel_env(HOME, {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                            "PYTHONDONTWRITEBYTECODE": "1"})
    with pytest.raises(warm.WarmUnavailable, match="comes with its socket"):
        warm.start({"kind": "shell"}, os.getpid(), env)
    a, b = socket.socketpair()
    with a, b, pytest.raises(warm.WarmUnavailable, match="comes with its socket"):
        warm.start({"kind": "kernel"}, os.getpid(), env, fds=[b.fileno()])


def test_the_verifier_is_a_shell_only_where_kernels_are_forked_warm():
    with pytest.raises(ShellUnavailable, match="does not fork warm"):
        ShellSession(COLD_KERNEL_NAME)
    with pytest.raises(ShellUnavailable, match="no kernelspec"):
        ShellSession("no-such-kernel")
    execute = VerifiedExecute(kernel_name=COLD_KERNEL_NAME)
    verifier = execute._start_verifier(nbformat.v4.new_notebook().metadata)
    try:
        assert isinstance(verifier, Verifier)
    finally:
        verifier.close()
    execute = VerifiedExecute(kernel_name=KERNEL_NAME)
    verifier = execute._start_verifier(nbformat.v4.new_notebook().metadata)
    try:
        assert isinstance(verifier, ShellVerifier)
        nb = verifier.run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)"),
                                                          nbformat.v4.new_code_cell("raise ValueError('no')")]))
        assert [c.execution_count for c in nb.cells] == [1, 2]
        assert nb.cells[0].outputs[0].text == "42\n" and nb.cells[1].outputs[0].ename == "ValueError"
    finally:
        verifier.close()
    execute = VerifiedExecute(kernel_name=KERNEL_NAME, shell_verifier=False)
    verifier = execute._start_verifier(nbformat.v4.new_notebook().metadata)
    try:
        assert isinstance(verifier, Verifier)
    finally:
        verifier.close()


def test_a_shell_the_template_could_not_start_gives_way_to_a_kernel(monkeypatch):
    def refused(self, code, timeout):
        self.close()
        raise ShellUnavailable("the template said no")

    monkeypatch.setattr(ShellSession, "run", refused)
    verifier = VerifiedExecute(kernel_name=KERNEL_NAME)._start_verifier(nbformat.v4.new_notebook().metadata)
    try:
        assert isinstance(verifier, ShellVerifier)
        nb = verifier.run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "print(type(get_ipython()).__name__)")]))
        assert nb.cells[0].outputs[0].text == "ZMQInteractiveShell\n"  # a kernel ran it, not the shell
    finally:
        verifier.close()


def small_course():
    """A reference with a read-only cell, an answer and two tests, and a submission answering it."""
    def cell(source, gid, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade_id": gid, "grade": False, "solution": False, "locked": False, "schema_version": 3, **meta}})

    reference = nbformat.v4.new_notebook(cells=[
        cell("given = 40", "given", locked=True),
        cell("answer = 2", "answer", solution=True),
        cell("# Answers read by this test: answer\nassert given + answer == 42", "t1", grade=True, locked=True,
             points=1),
        cell("later = given + 1", "given2", locked=True),
        cell("# Answers read by this test: answer\nimport sys\nprint('t2 ran', later)\nassert answer > 0",
             "t2", grade=True, locked=True, points=1),
    ])
    submission = copy.deepcopy(reference)
    submission.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(1.5)"))  # a cell of the student's own
    return reference, submission


@pytest.mark.parametrize("forked", [True, False], ids=["forked from a verifier template", "a shell of its own"])
def test_tests_are_verified_while_the_students_notebook_still_runs(monkeypatch, tmp_path, forked):
    reference, submission = small_course()
    sent_at = []
    submit = ShellSession.submit
    monkeypatch.setattr(ShellSession, "submit", lambda self, code, timeout: (
        sent_at.append((code.split("\n")[0][:40], time.monotonic())), submit(self, code, timeout))[1])
    execute = VerifiedExecute(kernel_name=KERNEL_NAME, reference=reference, fork_verifiers=forked)
    nb, _ = execute.preprocess(submission, {"metadata": {"path": str(tmp_path)}})
    end = time.monotonic()
    t1, t2 = nb.cells[2], nb.cells[5]
    assert not [o for o in t1.outputs if o.output_type == "error"], t1.outputs
    assert "t2 ran 41" in "".join(o.get("text", "") for o in t2.outputs), t2.outputs
    # the tests went out as their hand-overs ran
    sources = [code for code, _ in sent_at]
    assert sum(s.startswith("_lrc_take_over") for s in sources) == 2
    first_take_over = next(when for code, when in sent_at if code.startswith("_lrc_take_over"))
    assert end - first_take_over > 1.2, "the first test waited for the student's last cell"
    if forked:  # the cells before the first test ran in the template, before this notebook
        assert "given = 40" not in sources and sources[0].startswith("_lrc_take_over")
    else:  # they went out at once
        assert sources[1] == "given = 40" and sent_at[0][1] < first_take_over


def test_a_streamed_verifier_the_template_could_not_start_gives_way_to_a_kernel(monkeypatch, tmp_path):
    def refused(self):
        self.close()
        raise ShellUnavailable("the template said no")

    monkeypatch.setattr(ShellSession, "collect", refused)
    reference, submission = small_course()
    nb, _ = VerifiedExecute(kernel_name=KERNEL_NAME, reference=reference).preprocess(
        submission, {"metadata": {"path": str(tmp_path)}})
    assert "t2 ran 41" in "".join(o.get("text", "") for o in nb.cells[5].outputs), nb.cells[5].outputs


# --- verifier templates: one shell per exercise runs the cells before the first test, forks per notebook

PREFIX = ["import os, time\nstamp = time.monotonic_ns()", "counter = [0]"]


def forked_session(prefix=PREFIX):
    return ShellSession(KERNEL_NAME, prefix, 30)


def facts(session):
    """The fork's view: when its template ran the prefix, its counter after one increment, its
    execution count, its process."""
    out = session.run("counter[0] += 1\nprint(stamp, counter[0], get_ipython().execution_count, os.getpid())", 30)
    stamp, count, execution, pid = texts(out).split()
    return int(stamp), int(count), int(execution), int(pid)


def test_forks_of_a_verifier_template_start_from_its_prefix_not_from_each_other():
    first, second = forked_session(), forked_session()
    try:
        assert first.prefixed and second.template is first.template
        a, b = facts(first), facts(second)
        assert a[0] == b[0], "the prefix ran once, in the template"
        assert a[1] == b[1] == 1, "a fork does not see what another fork did"
        own = ShellSession(KERNEL_NAME)  # a shell that runs the prefix itself
        try:
            for cell in PREFIX:
                assert own.run(cell, 30) == []
            assert a[2] == b[2] == facts(own)[2], "cells are numbered as in a shell that ran the prefix itself"
        finally:
            own.close()
        assert a[3] != b[3]
        assert facts(first)[1] == 2, "a fork keeps its own state from cell to cell"
        other = forked_session(["stamp = 0", "import os", "counter = [10]"])
        try:
            assert other.template is not first.template and facts(other)[:3] == (0, 11, a[2] + 1)
        finally:
            other.close()
    finally:
        first.close()
        second.close()


def test_a_fork_that_ignores_interrupts_is_killed_and_its_template_forks_on():
    stuck = forked_session()
    pid = facts(stuck)[3]
    start = time.monotonic()
    assert stuck.run("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)", 1) is None
    assert time.monotonic() - start < 15  # interrupted after 1 s, stopped 10 s later
    nxt = forked_session()
    try:
        assert nxt.template is stuck.template
        out = nxt.run(f"""
import time
for _ in range(100):
    try:
        state = open('/proc/{pid}/status').read().split('State:')[1].split()[0]
    except FileNotFoundError:
        state = 'gone'
    if state in ('gone', 'Z'):
        break
    time.sleep(0.05)
print(state)""", 30)
        assert texts(out).strip() in ("gone", "Z"), out
        assert facts(nxt)[1] == 1
    finally:
        nxt.close()


def test_a_verifier_template_that_has_ended_is_made_again_and_its_forks_stop_with_it():
    from lrcourse.sandbox import shell as shell_module

    session = forked_session()
    stamp = facts(session)[0]
    shell_module.close_templates()  # as its grading process exits: the template and its forks end
    assert session.run("print('still here')", 30) is None
    again = forked_session()
    try:
        assert facts(again)[0] != stamp, "a new template ran the prefix again"
    finally:
        again.close()
    template = again.template
    os.kill(template.sandbox.init, signal.SIGKILL)  # the template's sandbox ends, with everything in it
    deadline = time.monotonic() + 10
    while template.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    later = forked_session()
    try:
        assert later.template is not template and facts(later)[1] == 1
    finally:
        later.close()


def _child_sees_no_templates(queue):
    from lrcourse.sandbox import shell as shell_module

    queue.put(len(shell_module._templates))


def test_a_forked_child_of_the_grading_process_leaves_its_templates_alone():
    import multiprocessing

    session = forked_session()
    try:
        stamp = facts(session)[0]
        context = multiprocessing.get_context("fork")  # a child that exits as multiprocessing's do,
        queue = context.SimpleQueue()                  # running its finalizers
        child = context.Process(target=_child_sees_no_templates, args=(queue,))
        child.start()
        child.join(30)
        assert child.exitcode == 0 and queue.get() == 0
        nxt = forked_session()
        try:
            assert nxt.template is session.template and facts(nxt)[0] == stamp, "the template lives on"
        finally:
            nxt.close()
        assert facts(session)[1] == 2, "and so does the fork that was serving"
    finally:
        session.close()


def test_a_verifier_template_that_could_not_start_gives_way_and_is_made_again(monkeypatch):
    from lrcourse.sandbox import shell as shell_module
    from lrcourse.sandbox import warm

    def refused(conn):
        conn.close()
        raise warm.WarmUnavailable("the template said no")

    shell_module.close_templates()
    started = warm.started
    monkeypatch.setattr(warm, "started", refused)
    session = forked_session()
    with pytest.raises(ShellUnavailable, match="said no"):  # the verifier then runs as a kernel
        session.run("print(1)", 30)
    monkeypatch.setattr(warm, "started", started)
    again = forked_session()
    try:
        assert again.template is not session.template and facts(again)[1] == 1
    finally:
        again.close()
