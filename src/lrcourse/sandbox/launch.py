"""The sandboxed kernel's launcher: the `argv` of the `lrcourse-sandbox` kernelspec.

    python -m lrcourse.sandbox.launch -f {connection_file} [limits] [kernel arguments]

jupyter_client starts it in the folder nbgrader chose for the kernel (the autograded
submission folder, which also holds the notebook with its hidden tests), as the
leader of a new process group: interrupts (SIGINT) and kills (SIGKILL) go to the
whole group, kernel included.

Sandboxed: `unshare` + `inside.py` build the locked-in kernel (see the package
docstring); this process relays the kernel's ports (relay.py), waits for it, and
removes its scratch folder. Unsandboxed (see `unavailable_reason`): one loud warning
per grading process, then the plain kernel in a scratch copy of the folder without
notebooks. Everything this module prints goes to nbgrader's log, marked MARKER.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from . import HOME, MARKER, RUN_DIR, USER, Limits, mode, sandbox_ids, unavailable_reason
from .relay import Relay

PR_SET_PDEATHSIG = 1
SCRATCH_PREFIX = "lrcourse-sandbox-"
# The kernel's environment: nothing of the grader's (tokens, database URLs) passes.
# (JPY_PARENT_PID: ipykernel then prints no "Ctrl-C will not work" note to the log.)
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE",
              "PYDEVD_DISABLE_FILE_VALIDATION", "JPY_PARENT_PID")
# BLAS and OpenMP settings pass through: some machines need OPENBLAS_CORETYPE (older OpenBLAS
# builds crash or compute wrong results on their CPU), and the numerics tests grade under
# several core types and thread counts.
PASSED_ENV_PREFIXES = ("OPENBLAS_", "GOTO_", "OMP_", "MKL_", "BLIS_", "VECLIB_")
# One BLAS thread per kernel unless the grader's environment sets its own: `lrcourse grade`
# runs one kernel per core side by side, and a kernel whose BLAS starts a thread per core
# makes them fight over the cores (and count against the sandbox user's process limit).
BLAS_THREAD_PIN = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class SandboxUnavailable(RuntimeError):
    pass


def kernel_command(connection_file: str, kernel_args: list[str]) -> list[str]:
    return [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", connection_file,
            *kernel_args]


def blas_env(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The kernel's BLAS and thread settings: the grader's own, else one thread (BLAS_THREAD_PIN)."""
    return {**BLAS_THREAD_PIN, **{k: v for k, v in environ.items() if k.startswith(PASSED_ENV_PREFIXES)}}


def kernel_env(home: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(blas_env(os.environ))
    env.update(HOME=home, USER=USER, LOGNAME=USER, SHELL="/bin/sh",
               PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]))
    return env


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def python_dirs() -> list[str]:
    """Folders the kernel's interpreter needs: the venv and the Python it was made from."""
    dirs = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    dirs.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(dirs)


def run_sandboxed(connection_file: str, kernel_args: list[str], limits: Limits) -> int:
    connection = json.loads(Path(connection_file).read_text())
    if connection.get("transport", "tcp") != "tcp":
        raise SandboxUnavailable(f"the client uses the {connection['transport']!r} transport, not tcp")
    uid, gid = sandbox_ids()
    sweep_stale_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        sockdir, root = scratch / "sock", scratch / "root"
        sockdir.mkdir(mode=0o700)
        root.mkdir()
        inner_conn = dict(connection, transport="ipc", ip=f"{RUN_DIR}/kernel")
        (sockdir / "kernel.json").write_text(json.dumps(inner_conn))
        for path in (sockdir, sockdir / "kernel.json"):
            os.chown(path, uid, gid)
        read_end, write_end = os.pipe()
        cmd = ["unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
               "--propagation", "private", "--",
               sys.executable, "-I", "-m", "lrcourse.sandbox.inside", f"--status-fd={write_end}",
               f"--source={os.getcwd()}", f"--root={root}", f"--sockdir={sockdir}", f"--uid={uid}",
               f"--gid={gid}", *[f"--python-dir={d}" for d in python_dirs()], *limits.to_args(), "--",
               *kernel_command(f"{RUN_DIR}/kernel.json", kernel_args)]
        proc = subprocess.Popen(cmd, pass_fds=(write_end,), env=kernel_env(HOME), preexec_fn=_die_with_parent)
        os.close(write_end)
        with os.fdopen(read_end) as status_pipe:
            status = status_pipe.readline().strip()
        if status != "ok":
            proc.kill()
            proc.wait()
            raise SandboxUnavailable(status.removeprefix("error: ") or
                                     f"unshare failed with exit code {proc.returncode}")
        relay = Relay(connection, sockdir / "kernel", alive=lambda: proc.poll() is None)
        relay.start()
        try:
            return wait(proc)
        finally:
            relay.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sweep_stale_scratch() -> None:
    """Remove scratch folders of launchers that were killed (SIGKILL skips their cleanup)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def wait(proc: subprocess.Popen) -> int:
    """Wait for the kernel; SIGTERM is passed on (SIGINT reaches it through the process group)."""
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    while True:
        try:
            return proc.wait()
        except InterruptedError:
            continue


def run_plain(connection_file: str, kernel_args: list[str]) -> int:
    """The unsandboxed fallback: still never in the folder that holds the notebooks."""
    scratch = Path(tempfile.mkdtemp(prefix="lrcourse-kernel-"))
    try:
        shutil.copytree(os.getcwd(), scratch / "submission", symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        proc = subprocess.Popen(kernel_command(connection_file, kernel_args), cwd=scratch / "submission",
                                env={**os.environ, **blas_env(os.environ)})
        return wait(proc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def warn_unsandboxed(reason: str) -> None:
    """Say it loudly, once per grading process (the kernel manager's process)."""
    flag = Path(tempfile.gettempdir()) / f"lrcourse-unsandboxed-{os.getppid()}-{_start_time(os.getppid())}"
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
    except FileExistsError:
        return
    except OSError:
        pass
    bar = "!" * 78
    text = textwrap.fill(
        f"Student code runs UNSANDBOXED: {reason}. It can read the course (solutions, "
        "gradebook, hidden tests), other submissions and the network, as the grading user. "
        "Grade on Linux as root after `make setup` to sandbox it.", 76)
    print(f"{bar}\n{MARKER} UNSANDBOXED\n{text}\n{bar}", file=sys.stderr, flush=True)


def _start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lrcourse.sandbox.launch")
    parser.add_argument("-f", dest="connection_file", required=True)
    Limits.add_arguments(parser)
    args, kernel_args = parser.parse_known_args(argv)
    reason = unavailable_reason()
    if reason is None:
        try:
            return run_sandboxed(args.connection_file, kernel_args, Limits.from_args(args))
        except SandboxUnavailable as err:
            reason = f"the sandbox could not be set up ({err})"
    if mode() == "require":
        print(f"{MARKER} LRCOURSE_SANDBOX=require, but {reason}", file=sys.stderr, flush=True)
        return 3
    warn_unsandboxed(reason)
    return run_plain(args.connection_file, kernel_args)


if __name__ == "__main__":
    sys.exit(main())
