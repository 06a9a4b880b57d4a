"""The sandboxed kernel, cell by cell: what code inside it can and cannot do."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT
from jupyter_client.manager import KernelManager

from lrcourse.sandbox import KERNEL_NAME, MARKER, Limits, unavailable_reason

pytestmark = pytest.mark.slow  # not in the fast lane: kernels in the sandbox

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason=f"no sandbox here: {unavailable_reason()}")


def run_cell(code: str, cwd: Path, *, env: dict | None = None, stderr=None) -> str:
    """Start a sandboxed kernel in `cwd`, run one cell, return its stdout (and error, if any)."""
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(cwd=str(cwd), env={**os.environ, **(env or {})}, stderr=stderr)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        kc.execute_interactive(code, output_hook=hook, timeout=60)
        return "".join(out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


@pytest.fixture
def submission(tmp_path) -> Path:
    """A submission folder as nbgrader hands it to the kernel: notebooks and a data file."""
    (tmp_path / "ex1_probability_curve.ipynb").write_text('{"hidden": "_REF_COEF = 0.0525"}')
    (tmp_path / "my_data.csv").write_text("x\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("mine")
    return tmp_path


@needs_sandbox
def test_the_kernel_runs_as_the_unprivileged_sandbox_user(submission):
    out = run_cell("import os; print(os.getuid(), os.getgid(), os.getgroups())", submission)
    uid, gid, groups = out.split(maxsplit=2)
    assert int(uid) != 0 and int(gid) != 0 and groups.strip() == "[]"


@needs_sandbox
def test_the_kernel_sees_a_copy_of_the_submission_without_notebooks(submission):
    out = run_cell("import os; print(sorted(os.listdir()), open('sub/notes.txt').read())", submission)
    assert out.strip() == "['my_data.csv', 'sub'] mine"


@needs_sandbox
def test_the_kernel_sees_nothing_of_the_course_or_the_grader(submission):
    siblings = [str(p) for p in sorted(ROOT.parent.iterdir()) if p != ROOT][:3]  # e.g. ../shared, other clones
    paths = [str(ROOT / "source"), str(ROOT / "gradebook.db"), str(submission), *siblings]
    code = (f"import os; print([p for p in {paths!r} if os.path.exists(p)],"
            f" os.listdir({str(ROOT)!r}) if os.path.exists({str(ROOT)!r}) else None)")
    # The course root exists only as the way to its .venv (the kernel's Python), when that lives inside it.
    venv_inside = Path(sys.prefix).resolve().is_relative_to(ROOT)
    assert run_cell(code, submission).strip() == ("[] ['.venv']" if venv_inside else "[] None")


@needs_sandbox
def test_the_kernel_cannot_write_outside_its_home_and_tmp(submission):
    paths = ["/usr/x", "/etc/x", str(submission / "x"), "/x"]
    code = (f"for p in {paths!r}:\n"
            "    try:\n        open(p, 'w')\n        print('wrote', p)\n"
            "    except OSError as e:\n        print(type(e).__name__)")
    out = run_cell(code, submission)
    assert "wrote" not in out and not (submission / "x").exists()


@needs_sandbox
def test_the_kernel_has_no_network_not_even_the_graders_loopback(submission):
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    port = server.getsockname()[1]
    code = (f"import socket\nfor addr in [('127.0.0.1', {port}), ('1.1.1.1', 80)]:\n"
            "    try:\n        socket.create_connection(addr, timeout=3)\n        print('reached', addr)\n"
            "    except OSError as e:\n        print(type(e).__name__)")
    out = run_cell(code, submission)
    server.close()
    assert "reached" not in out, out


@needs_sandbox
def test_the_kernel_runs_under_the_resource_limits(submission):
    code = ("import resource as r; print([r.getrlimit(x)[0] for x in "
            "(r.RLIMIT_AS, r.RLIMIT_CPU, r.RLIMIT_NPROC, r.RLIMIT_NOFILE, r.RLIMIT_FSIZE, r.RLIMIT_CORE)])")
    limits = Limits()
    expected = [limits.memory, limits.cpu, limits.nproc, limits.nofile, limits.fsize, 0]
    assert run_cell(code, submission).strip() == str(expected)


@needs_sandbox
def test_the_kernel_is_alone_in_its_process_namespace(submission):
    out = run_cell("import os; print(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))",
                   submission)
    assert out.strip() == "1 [1]"


@needs_sandbox
def test_the_kernel_environment_carries_nothing_of_the_graders(submission):
    out = run_cell("import os; print(sorted(os.environ))", submission, env={"LRCOURSE_DB_URL": "postgresql://secret"})
    assert "LRCOURSE_DB_URL" not in out and "HOME" in out


BLAS_PROBE = ("import os, threadpoolctl, numpy\n"
              "print(sorted((k, v) for k, v in os.environ.items() if k.startswith(('OPENBLAS_', 'OMP_', 'MKL_'))))\n"
              "print(sorted({i['internal_api']: i['num_threads'] for i in threadpoolctl.threadpool_info()}.items()))")


@needs_sandbox
def test_the_kernel_runs_one_blas_thread_unless_the_grader_sets_its_own(submission):
    pinned = run_cell(BLAS_PROBE, submission, env={"OPENBLAS_CORETYPE": "Sandybridge"})
    env_line, threads_line = pinned.strip().splitlines()
    own = os.environ.get("OPENBLAS_NUM_THREADS", "1")  # the grader's own setting, if it has one
    assert f"('OPENBLAS_NUM_THREADS', '{own}')" in env_line, env_line
    assert "('OPENBLAS_CORETYPE', 'Sandybridge')" in env_line, "the grader's core type must reach the kernel"
    assert f"('openblas', {own})" in threads_line, threads_line
    two = run_cell(BLAS_PROBE, submission, env={"OPENBLAS_NUM_THREADS": "2"})
    assert "('OPENBLAS_NUM_THREADS', '2')" in two and "('openblas', 2)" in two, two


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fallback's scratch copy is tested on Linux")
def test_unsandboxed_grading_warns_once_and_still_hides_the_notebooks(submission, tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "stderr.txt"
    with open(log, "w") as stderr:
        outs = [run_cell("import os; print(sorted(os.listdir()))", submission, env={"LRCOURSE_SANDBOX": "off"},
                         stderr=stderr) for _ in range(2)]
    assert outs == ["['my_data.csv', 'sub']\n"] * 2
    assert log.read_text().count(f"{MARKER} UNSANDBOXED") == 1, log.read_text()


def test_a_required_sandbox_that_cannot_be_set_up_refuses_to_start_the_kernel(submission, tmp_path_factory):
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(cwd=str(submission), env={**os.environ, "LRCOURSE_SANDBOX": "require", "PATH": "/nonexistent"})
    try:
        assert km.provisioner.process.wait(timeout=30) == 3
    finally:
        km.cleanup_resources()
