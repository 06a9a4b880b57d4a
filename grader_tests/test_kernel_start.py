"""What grading does to start and stop kernels sooner, with the course's plain `lrcourse` kernel
(no sandbox needed): jupyter_client's client as configured (lrcourse.kernel_client.ReadyClient),
the verifier's kernel started ahead of its use (lrcourse.verify.Verifier), and kernels stopped
without waiting for them (lrcourse.kernel_manager.SingleUseKernelManager).

That the grades stay the same is proved where grading is: test_grading, test_tamper.
"""

from __future__ import annotations

import json
import os
import sys
import time

import nbformat
import pytest
from helpers import ROOT, alive
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from lrcourse import execute, kernel_manager
from lrcourse.kernel_client import ReadyClient
from lrcourse.kernel_manager import SingleUseKernelManager
from lrcourse.verify import VerifiedExecute, Verifier

pytestmark = pytest.mark.slow  # kernels


def course_config() -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def plain_config() -> Config:
    config = course_config()
    config.Execute.kernel_name = "lrcourse"  # the course's Python, unsandboxed: runs anywhere
    return config


def printing(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_the_course_config_gives_nbgraders_kernels_the_ready_client():
    km = AsyncKernelManager(kernel_name="lrcourse", config=course_config())
    assert km.client_factory is ReadyClient
    assert KernelManager(kernel_name="lrcourse").client_factory is not ReadyClient  # only where configured


def test_a_kernel_is_ready_with_iopub_connected_so_no_first_output_is_lost(tmp_path):
    from nbgrader.preprocessors import Execute

    for _ in range(4):
        nb = printing("print('first')", "print('second')")
        Execute(config=plain_config()).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
        assert [stdout(c) for c in nb.cells] == ["first\n", "second\n"]


def test_a_kernel_that_dies_at_start_is_reported_not_waited_for(tmp_path, monkeypatch):
    spec = tmp_path / "kernels" / "dies"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import sys; sys.exit(3)", "{connection_file}"],
        "display_name": "dies", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name="dies", config=course_config())
    run_sync(km.start_kernel)()
    kc = km.client()
    kc.start_channels()
    start = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="died"):
            run_sync(kc.wait_for_ready)(timeout=60)
    finally:
        kc.stop_channels()
        run_sync(km.cleanup_resources)()
    assert time.monotonic() - start < 30


def test_the_verifier_runs_the_tests_in_the_kernel_it_started_ahead():
    verifier = Verifier(plain_config(), nbformat.v4.new_notebook().metadata)
    try:
        started = verifier.km.provisioner.pid
        ran = verifier.run(printing("import os; print(os.getpid())", "print(len(os.listdir('.')))"))
        assert [stdout(c) for c in ran.cells] == [f"{started}\n", "0\n"]  # in its own empty folder
    finally:
        verifier.close()
    assert not alive(started)
    assert not os.path.exists(verifier.folder.name)


def test_a_verifier_kernel_that_waited_over_half_its_lifetime_is_replaced(monkeypatch):
    monkeypatch.setattr(execute, "kernel_lifetime", lambda config: 0.4)
    verifier = Verifier(plain_config(), nbformat.v4.new_notebook().metadata)
    try:
        started = verifier.km.provisioner.pid
        time.sleep(0.3)
        ran = verifier.run(printing("import os; print(os.getpid())"))
        assert stdout(ran.cells[0]).strip() not in ("", str(started))
        assert not alive(started)  # the one that waited was stopped
    finally:
        verifier.close()


def test_a_verifier_kernel_that_died_while_waiting_is_replaced():
    verifier = Verifier(plain_config(), nbformat.v4.new_notebook().metadata)
    try:
        started = verifier.km.provisioner.pid
        os.kill(started, 9)
        ran = verifier.run(printing("print('ran')"))
        assert stdout(ran.cells[0]) == "ran\n"
    finally:
        verifier.close()


# --- single-use kernels: stopped without waiting (lrcourse.kernel_manager) ---------------------------

def started_single_use(kernel_name: str = "lrcourse"):
    from jupyter_core.utils import run_sync

    km = SingleUseKernelManager(kernel_name=kernel_name, config=course_config())
    run_sync(km.start_kernel)()
    return km, km.provisioner.process


def test_the_verifier_gives_both_kernels_of_a_notebook_the_single_use_manager():
    from nbgrader.preprocessors import Execute

    assert VerifiedExecute(config=plain_config()).kernel_manager_class is SingleUseKernelManager
    assert Execute(config=plain_config()).kernel_manager_class is AsyncKernelManager  # nbgrader's own
    verifier = Verifier(plain_config(), nbformat.v4.new_notebook().metadata, SingleUseKernelManager)
    try:
        assert type(verifier.km) is SingleUseKernelManager
    finally:
        verifier.close()
    assert kernel_manager.wait_retired(30)


def test_a_single_use_kernel_is_stopped_without_waiting_and_reaped_by_the_grading_process():
    from jupyter_core.utils import run_sync

    km, process = started_single_use()
    assert run_sync(km.is_alive)()
    start = time.monotonic()
    run_sync(km.shutdown_kernel)()
    asked = time.monotonic() - start
    assert not run_sync(km.is_alive)()  # the manager is done with it
    assert kernel_manager.wait_retired(30)
    assert process.returncode is not None and not alive(process.pid)  # reaped: no zombie either
    assert kernel_manager.retiring() == 0
    print(f"shutdown returned after {asked:.3f} s")


def test_a_single_use_kernel_that_ignores_sigterm_is_killed_after_the_grace_time(tmp_path, monkeypatch):
    spec = tmp_path / "kernels" / "stubborn"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                 "time.sleep(120)", "{connection_file}"],
        "display_name": "stubborn", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    from jupyter_core.utils import run_sync

    km, process = started_single_use("stubborn")
    km.shutdown_wait_time = 0.5
    time.sleep(0.5)  # its SIGTERM handler is in place
    run_sync(km.shutdown_kernel)()
    assert process.poll() is None  # SIGTERM was ignored: still there, and not waited for
    start = time.monotonic()
    assert kernel_manager.wait_retired(30)
    assert process.returncode == -9 and time.monotonic() - start < 10


def test_a_graded_notebook_leaves_no_kernel_behind_once_its_reapers_are_done(tmp_path):
    nb = printing("import os; print(os.getpid())")
    reference = nbformat.v4.new_notebook(cells=[])
    VerifiedExecute(config=plain_config(), reference=reference).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    pid = int(stdout(nb.cells[0]))
    assert kernel_manager.wait_retired(30)
    assert not alive(pid)
