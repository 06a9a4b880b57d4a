"""The sandboxed kernel, cell by cell: what code inside it can and cannot do."""

from __future__ import annotations

import ast
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from helpers import ROOT, alive, cmdline, started_kernel
from jupyter_client.manager import KernelManager

from lrcourse.sandbox import KERNEL_NAME, MARKER, RUN_DIR, Limits, cgroup, unavailable_reason
from lrcourse.sandbox.setup import install_sandbox_kernel

pytestmark = pytest.mark.slow  # not in the fast lane: kernels in the sandbox

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason=f"no sandbox here: {unavailable_reason()}")


def sandboxed_kernel(cwd: Path, *, env: dict | None = None, stderr=None):
    """A started sandboxed kernel in `cwd`: yields its manager and `run(code) -> stdout (and error)`."""
    return started_kernel(KERNEL_NAME, cwd, env=env, stderr=stderr)


def run_cell(code: str, cwd: Path, *, env: dict | None = None, stderr=None) -> str:
    """Start a sandboxed kernel in `cwd`, run one cell, return its stdout (and error, if any)."""
    with sandboxed_kernel(cwd, env=env, stderr=stderr) as (_, run):
        return run(code)


@pytest.fixture
def limited(tmp_path_factory, monkeypatch):
    """`limited(**limits)`: the sandboxed kernelspec with other limits, found first (JUPYTER_PATH)."""
    def install(**limits):
        prefix = tmp_path_factory.mktemp("kernelspec")
        install_sandbox_kernel(prefix=str(prefix), limits=Limits(**limits))
        monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    return install


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
    # With a pids cgroup per kernel the per-user count stays the grader's (see the next tests).
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0] if cgroup.available() else limits.nproc
    expected = [limits.memory, limits.cpu, nproc, limits.nofile, limits.fsize, 0]
    assert run_cell(code, submission).strip() == str(expected)


@needs_sandbox
def test_the_kernel_is_alone_in_its_process_namespace_with_an_init_it_cannot_signal(submission):
    code = ("import os\nprint(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
            "try:\n    os.kill(1, 9)\nexcept OSError as e:\n    print(type(e).__name__)")
    assert run_cell(code, submission).split("\n")[:2] == ["2 [1, 2]", "PermissionError"]


@needs_sandbox
def test_an_interrupt_reaches_the_kernel_through_its_init_and_the_kernel_goes_on(submission):
    with sandboxed_kernel(submission) as (km, run):
        kc = run.client
        msg_id = kc.execute("import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.01)")
        # the loop has started (nbclient interrupts a cell at its timeout, well inside its code: a
        # SIGINT sent in the instant the cell started was lost in about 1 run in 5 here)
        while kc.get_iopub_msg(timeout=30)["content"].get("text") != "looping\n":
            pass
        km.interrupt_kernel()  # as nbclient does at a cell timeout (warm: `int` to the sandbox's init)
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=30)
        assert reply["content"].get("ename") == "KeyboardInterrupt", reply["content"]
        assert run("print('still here')").strip() == "still here"


def sandbox_processes(launcher: int, *, template: bool = True) -> list[int]:
    """The launcher, its descendants (cold: unshare, the namespace's init, the kernel; warm: the
    kernel template it started) and every process in its kernel's pids cgroup (warm: the fork of
    the template that relays, init and the kernel). `template=False` leaves the template out: it
    serves the grading process, not one launcher."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    family = [launcher]
    for pid in family:
        family += [child for child, parent in parents.items() if parent == pid]
    found = cgroup.hierarchy()
    members = []
    if found:
        for folder in (found[1] / cgroup.GROUP).glob(f"{launcher}-*"):
            members += cgroup.members(folder)
    if not template:
        family = [pid for pid in family if pid in members or b"lrcourse.sandbox.warm" not in cmdline(pid)]
    return sorted(set(family + members))


def wait_until(condition, seconds: float) -> bool:
    """True as soon as `condition()` holds; False if it still does not after `seconds` (a deadline,
    not a measurement: what the tests assert is the outcome)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


THREAD_HOG = ("import threading\nstop = threading.Event()\nheld = 0\n"
              "try:\n    while held < 10_000:\n        threading.Thread(target=stop.wait, daemon=True).start()\n"
              "        held += 1\nexcept RuntimeError as e:\n    print('held', held, e)")


@needs_sandbox
@pytest.mark.skipif(cgroup.available() is None, reason="no writable pids cgroup here: kernels share RLIMIT_NPROC")
def test_a_kernel_holding_all_the_threads_it_may_does_not_stop_another_kernel(submission, limited):
    limited(nproc=48)
    with sandboxed_kernel(submission) as (_, hog):
        held = hog(THREAD_HOG)  # and keeps them while the second kernel starts and runs
        assert held.startswith("held ") and int(held.split()[1]) < 48, f"the per-kernel limit did not bite: {held}"
        assert run_cell("print(6 * 7)", submission).strip() == "42"


WORKER = """
import sys, time
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name=sys.argv[1])
km.start_kernel(cwd=sys.argv[2])
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
print(km.provisioner.process.pid, flush=True)
time.sleep(300)
"""


@needs_sandbox
@pytest.mark.parametrize(("killed", "warm"), [("worker", "on"), ("worker", "off"), ("launcher", "off")])
def test_the_kernel_dies_with_the_process_that_started_it(submission, killed, warm):
    """Warm (the default), no launcher: init ends the sandbox when the worker's connection closes
    (and the template, the worker's own, ends with the worker). Cold, the launcher watches the
    worker, and unshare dies with the launcher."""
    env = {**os.environ, "LRCOURSE_WARM": warm}
    with subprocess.Popen([sys.executable, "-c", WORKER, KERNEL_NAME, str(submission)],
                          stdout=subprocess.PIPE, text=True, env=env) as worker:
        sandbox = []
        try:
            started = int(worker.stdout.readline())  # the launcher, or (warm) the namespace's init
            if warm == "on":
                assert b"lrcourse.sandbox.launch" not in cmdline(started)
                sandbox = [parent_of(started), *sandbox_processes(started)]  # the template, init, kernel
            else:
                sandbox = sandbox_processes(started, template=killed == "worker")
            assert len(sandbox) >= 3, f"launcher (or template), unshare (or init) and kernel expected: {sandbox}"
            os.kill(worker.pid if killed == "worker" else started, signal.SIGKILL)
            assert wait_until(lambda: not any(alive(pid) for pid in sandbox), 20), \
                f"still running after the {killed} was killed: {[pid for pid in sandbox if alive(pid)]}"
        finally:
            worker.kill()
            for pid in sandbox:  # what outlived the test (the bug) is not left running
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@needs_sandbox
def test_what_the_kernel_writes_to_its_file_descriptors_never_reaches_the_graders_output(submission, capfd):
    code = ("import os\nmark = b'grade: 999 notebooks graded, 0 failed (LRCOURSE-FORGED)\\n'\nwrote = 0\n"
            "def target(fd):\n    try:\n        return os.readlink(f'/proc/self/fd/{fd}')\n"
            "    except OSError:\n        return 'socket:'\n"
            "for fd in [1, 2] + [int(fd) for fd in os.listdir('/proc/self/fd') if int(fd) > 2]:\n"
            "    if not target(fd).startswith(('socket:', 'anon_inode:')):  # not the kernel's own channels\n"
            "        try:\n            os.write(fd, mark)\n            wrote += 1\n"
            "        except OSError:\n            pass\n"
            "for name in ('/proc/self/fd/1', '/proc/self/fd/2', '/dev/stdout', '/dev/stderr'):\n"
            "    with open(name, 'wb') as f:\n        f.write(mark)\n        wrote += 1\n"
            "print('wrote', wrote)")
    out = run_cell(code, submission)
    assert "wrote" in out and int(out.split("wrote")[1].split()[0]) >= 6, out
    captured = capfd.readouterr()
    assert "LRCOURSE-FORGED" not in captured.out + captured.err


MOUNTS = """
import errno, os
rw = []
for line in open('/proc/self/mountinfo'):
    left, right = line.split(' - ')
    point, options = left.split()[4], left.split()[5].split(',')
    fstype, _, super_options = right.split()[:3]
    if 'rw' in options:
        rw.append((point, fstype, 'size=' in super_options))
print(sorted(rw))
try:
    with open('%s/lrcourse-fill', 'wb') as f:
        for _ in range(64):
            f.write(b'x' * (1 << 20))
            f.flush()
except OSError as e:
    print(errno.errorcode[e.errno])
"""


@needs_sandbox
def test_every_writable_place_of_the_sandbox_is_a_size_capped_tmpfs(submission):
    with sandboxed_kernel(submission) as (_, run):
        mounts, *filled = run(MOUNTS % RUN_DIR).strip().splitlines()
        on_host = list(Path(tempfile.gettempdir()).glob("lrcourse-sandbox-*/**/lrcourse-fill"))
    devices = {f"/dev/{name}" for name in ("null", "zero", "full", "random", "urandom")}
    for point, fstype, capped in ast.literal_eval(mounts):
        assert (fstype == "tmpfs" and capped) or (point, fstype) == ("/proc", "proc") or point in devices, \
            f"writable and not a size-capped tmpfs: {point} ({fstype})"
    assert RUN_DIR in mounts, mounts
    assert filled == ["ENOSPC"], f"writing 64 MiB into {RUN_DIR} should fill its tmpfs: {filled}"
    assert on_host == [], f"the kernel's file reached the host's disk: {on_host}"


ORPHAN = """
import os, time
if os.fork() == 0:  # a child whose own child outlives it: the grandchild is reparented to PID 1
    if os.fork() == 0:
        os._exit(0)
    os._exit(0)
os.wait()
time.sleep(3)  # init looks at least once a second
states = {}
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        states[int(pid)] = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]
    except OSError:
        pass
print(states.get(1), sorted(states.values()).count('Z'), len(states))
"""


@needs_sandbox
def test_the_sandboxs_init_reaps_orphans(submission):
    init_state, zombies, processes = run_cell(ORPHAN, submission).split()
    assert init_state == "S" and zombies == "0" and int(processes) >= 2, (init_state, zombies, processes)


@needs_sandbox
def test_a_kernel_is_killed_at_its_wall_clock_limit(submission, limited, tmp_path):
    limited(lifetime=5)
    log = tmp_path / "launcher.txt"
    with open(log, "w") as stderr, sandboxed_kernel(submission, stderr=stderr) as (km, _):
        assert wait_until(lambda: not km.is_alive(), 60), "the kernel outlived its wall-clock limit"
    assert f"{MARKER} kernel killed: it reached its wall-clock limit of 5 s" in log.read_text()


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


# --- the next kernel, started ahead while this one runs (provisioner.start_ahead, warm.await_notebook)

def _warm_unavailable():
    from lrcourse.sandbox.warm import unavailable_reason as warm_unavailable

    return unavailable_reason() or warm_unavailable()


needs_warm = pytest.mark.skipif(_warm_unavailable() is not None,
                                reason=f"no warm sandboxed kernels here: {_warm_unavailable()}")


def kernel_ahead():
    """This process's kernel started ahead for the sandboxed kernelspec (one environment here)."""
    from lrcourse.sandbox import provisioner

    assert len(provisioner._ahead) == 1, provisioner._ahead
    return next(iter(provisioner._ahead.values()))


@needs_warm
def test_the_next_kernel_starts_ahead_and_gets_only_its_own_notebooks_files(submission, tmp_path_factory):
    from lrcourse.sandbox import provisioner

    provisioner.end_all_ahead()  # those of other kernelspecs (other limits) that tests before used
    with sandboxed_kernel(submission) as (km, run):
        ahead = kernel_ahead()
        assert km.provisioner.process is not ahead
        assert run("import os; print(sorted(os.listdir()))") == "['my_data.csv', 'sub']\n"
        run("open('left_behind.txt', 'w').write('x')")
    other = tmp_path_factory.mktemp("other-student")
    (other / "theirs.txt").write_text("theirs")
    (other / "ex2_decision_thresholds.ipynb").write_text("{}")
    with sandboxed_kernel(other) as (km, run):
        assert km.provisioner.process is ahead, "the kernel started ahead serves this notebook"
        assert kernel_ahead() is not ahead, "and the one after it starts ahead in turn"
        out = run("import os; print(sorted(os.listdir()), open('theirs.txt').read(), os.getcwd(), os.getuid() != 0)")
        assert out == "['theirs.txt'] theirs /home/student/submission True\n", out
        assert run("import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[:2])") == "[1, 2]\n"
        # init read the submission through its descriptor of the host's root: the kernel holds none
        out = run("import os\n"
                  "for fd in os.listdir('/proc/self/fd'):\n"
                  "    try:\n"
                  "        print(os.readlink(f'/proc/self/fd/{fd}'))\n"
                  "    except OSError:\n"
                  "        pass\n"
                  "print(os.listdir('/proc/1/fd') if os.access('/proc/1/fd', os.R_OK) else 'init: closed to us')")
        assert "/" not in out.splitlines() and out.splitlines()[-1] == "init: closed to us", out


@needs_warm
def test_a_kernel_started_ahead_that_has_gone_is_not_used(submission):
    from lrcourse.sandbox import provisioner

    provisioner.end_all_ahead()
    run_cell("print(1)", submission)
    ahead = kernel_ahead()
    assert ahead.wait_for_pid()
    os.kill(ahead.pid, signal.SIGKILL)  # its init, and with it the sandbox
    assert run_cell("import os; print(sorted(os.listdir()))", submission) == "['my_data.csv', 'sub']\n"
    assert kernel_ahead() is not ahead
    last = kernel_ahead()
    provisioner.end_all_ahead()  # as the process exits: the kernel started ahead ends
    assert not provisioner._ahead and last.returncode is not None


@needs_warm
def test_no_kernel_starts_ahead_when_told_not_to(submission, monkeypatch):
    from lrcourse.sandbox import provisioner

    provisioner.end_all_ahead()
    monkeypatch.setenv("LRCOURSE_AHEAD", "off")
    assert run_cell("print(6 * 7)", submission) == "42\n"
    assert not provisioner._ahead


@needs_warm
def test_a_kernel_started_ahead_counts_its_lifetime_from_its_notebook(submission, limited):
    from lrcourse.sandbox import provisioner

    provisioner.end_all_ahead()
    limited(lifetime=4)
    run_cell("print(1)", submission)
    ahead = kernel_ahead()
    time.sleep(5)  # longer than the lifetime: waiting for a notebook does not use it up
    with sandboxed_kernel(submission) as (km, run):
        assert km.provisioner.process is ahead
        assert run("print('alive')") == "alive\n"
        assert wait_until(lambda: not km.is_alive(), 15), "killed at its lifetime, counted from its notebook"
    provisioner.end_all_ahead()
