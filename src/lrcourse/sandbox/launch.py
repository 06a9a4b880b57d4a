"""The sandboxed kernel's launcher: the `argv` of the `lrcourse-sandbox` kernelspec.

    python -m lrcourse.sandbox.launch -f {connection_file} [limits] [kernel arguments]

jupyter_client starts it in the folder nbgrader chose for the kernel (the autograded
submission folder, which also holds the notebook with its hidden tests), as the
leader of a new process group: interrupts (SIGINT) and kills (SIGKILL) go to the
whole group, kernel included.

Sandboxed: `unshare` + `inside.py` build the locked-in kernel (see the package
docstring), in a pids cgroup of its own where the machine allows (cgroup.py); this
process relays the kernel's ports (relay.py), waits for it, kills the whole sandbox
when its own parent dies or the kernel's lifetime is over, and removes its scratch
folder and cgroup. Unsandboxed (see `unavailable_reason`): one loud warning
per grading process, then the plain kernel in a scratch copy of the folder without
notebooks. Everything this module prints goes to nbgrader's log, marked MARKER.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict
from pathlib import Path

from . import HOME, MARKER, RUN_DIR, USER, Limits, cgroup, mode, sandbox_ids, unavailable_reason, warm
from .relay import Relay, inherited_listeners

PR_SET_PDEATHSIG = 1
SCRATCH_PREFIX = "lrcourse-sandbox-"
# The kernel's environment: nothing of the grader's (tokens, database URLs) passes. Nor does
# JPY_PARENT_PID: a pid of the host means nothing in the kernel's PID namespace, where its parent
# is the namespace's PID 1, and ipykernel would take that for "parent died" and exit.
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE",
              "PYDEVD_DISABLE_FILE_VALIDATION")
# BLAS and OpenMP settings pass through: some machines need OPENBLAS_CORETYPE (older OpenBLAS
# builds crash or compute wrong results on their CPU), and the numerics tests grade under
# several core types and thread counts.
PASSED_ENV_PREFIXES = ("OPENBLAS_", "GOTO_", "OMP_", "MKL_", "BLIS_", "VECLIB_")
# One BLAS thread per kernel unless the grader's environment sets its own: `lrcourse grade`
# runs one kernel per core side by side, and a kernel whose BLAS starts a thread per core
# makes them fight over the cores (and count against the kernel's process limit).
BLAS_THREAD_PIN = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class SandboxUnavailable(RuntimeError):
    pass


def kernel_command(connection_file: str, kernel_args: list[str]) -> list[str]:
    return [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", connection_file,
            *kernel_args]


def blas_env(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The kernel's BLAS and thread settings: the grader's own, else one thread (BLAS_THREAD_PIN)."""
    return {**BLAS_THREAD_PIN, **{k: v for k, v in environ.items() if k.startswith(PASSED_ENV_PREFIXES)}}


def kernel_env(home: str, environ: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
    """The kernel's environment, from the launcher's (`environ`: jupyter_client's, with the kernelspec's)."""
    env = {k: environ[k] for k in PASSED_ENV if k in environ}
    env.update(blas_env(environ))
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


def run_sandboxed(connection_file: str, kernel_args: list[str], limits: Limits, parent: int | None,
                  warm_wanted: bool = False, listeners: dict[int, socket.socket] | None = None) -> int:
    connection = json.loads(Path(connection_file).read_text())
    if connection.get("transport", "tcp") != "tcp":
        raise SandboxUnavailable(f"the client uses the {connection['transport']!r} transport, not tcp")
    uid, gid = sandbox_ids()
    sweep_stale_scratch()
    pids = cgroup.create(limits.nproc)
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        root = scratch / "root"  # the sandbox's root is mounted here, in its own mount namespace only
        root.mkdir()
        if warm_wanted:
            reason = warm.unavailable_reason() or (None if parent is not None else "the grading process has gone")
            if reason is None:
                try:
                    return run_warm(connection, connection_file, kernel_args, limits, parent, root, pids,
                                    listeners)
                except warm.WarmUnavailable as err:
                    reason = str(err)
            warn_once("cold", f"Kernels start COLD: {reason}. Each one imports the course's libraries "
                      "itself (about 4 s more per kernel); grades are the same.")
        read_end, write_end = os.pipe()
        cmd = ["unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
               "--propagation", "private", "--",
               sys.executable, "-I", "-m", "lrcourse.sandbox.inside", f"--status-fd={write_end}",
               f"--source={os.getcwd()}", f"--root={root}", f"--connection-file={os.path.abspath(connection_file)}",
               *(["--pids-cgroup"] if pids else []), f"--uid={uid}", f"--gid={gid}",
               *[f"--python-dir={d}" for d in python_dirs()], *limits.to_args(), "--",
               *kernel_command(f"{RUN_DIR}/kernel.json", kernel_args)]

        def preexec() -> None:
            _die_with_parent()
            if pids:
                cgroup.enter(pids)

        # The sandbox gets /dev/null as stdin, stdout and stderr: nothing the kernel writes reaches
        # the grader's terminal or log (the kernel's own outputs travel as messages).
        proc = subprocess.Popen(cmd, pass_fds=(write_end,), env=kernel_env(HOME), preexec_fn=preexec,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_end)
        status = ""
        with os.fdopen(read_end) as status_pipe:
            for line in status_pipe:  # `note: ...` lines, then `ok <pid>` or `error: ...` (or EOF)
                if not line.startswith("note: "):
                    status = line.strip()
                    break
                print(f"{MARKER} {line.removeprefix('note: ').rstrip()}", file=sys.stderr, flush=True)
        if not status.startswith("ok "):
            proc.kill()
            proc.wait()
            raise SandboxUnavailable(status.removeprefix("error: ") or
                                     f"unshare failed with exit code {proc.returncode}")
        init = int(status.split()[1])
        init_fd = os.pidfd_open(init)
        sockets = Path(f"/proc/{init}/root{RUN_DIR}/kernel")
        relay = Relay(connection, sockets, alive=lambda: proc.poll() is None, listeners=listeners)
        relay.start()
        try:
            return wait(proc, parent=parent, lifetime=limits.lifetime,
                        kill=lambda: _kill_sandbox(proc, init_fd), term=lambda: _signal(init_fd, signal.SIGTERM))
        finally:
            relay.stop()
            os.close(init_fd)
    finally:
        if pids:
            cgroup.remove(pids)
        shutil.rmtree(scratch, ignore_errors=True)


def run_warm(connection: dict, connection_file: str, kernel_args: list[str], limits: Limits, parent: int,
             root: Path, pids: Path | None, listeners: dict[int, socket.socket] | None = None) -> int:
    """The kernel forked from the grading process's pre-warmed template (warm.py); same sandbox."""
    uid, gid = sandbox_ids()
    env = kernel_env(HOME)
    request = {"source": os.getcwd(), "root": str(root), "connection_file": os.path.abspath(connection_file),
               "pids_cgroup": str(pids) if pids else None, "uid": uid, "gid": gid, "python_dirs": python_dirs(),
               "limits": asdict(limits), "kernel_args": kernel_args, "env": env}
    conn, init = warm.start(request, warm.owner(os.getppid()), env)
    relay = Relay(connection, Path(f"/proc/{init}/root{RUN_DIR}/kernel"),
                  alive=lambda: Path(f"/proc/{init}").exists(), listeners=listeners)
    try:
        relay.start()
        return warm.wait(conn, init, parent=parent, lifetime=limits.lifetime)
    finally:
        relay.stop()
        conn.close()


def _signal(pidfd: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(pidfd, signum)


def _kill_sandbox(proc: subprocess.Popen, init_fd: int) -> None:
    """SIGKILL the namespace's PID 1 (the kernel and everything else in it die with it) and unshare."""
    _signal(init_fd, signal.SIGKILL)
    proc.kill()


def sweep_stale_scratch() -> None:
    """Remove scratch folders of launchers that were killed (SIGKILL skips their cleanup)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def watch_parent() -> int | None:
    """A pidfd of the process that started the launcher (the grading worker), None if it has gone."""
    ppid = os.getppid()
    try:
        fd = os.pidfd_open(ppid)
    except OSError:
        return None
    if os.getppid() != ppid:  # it died before we held it: we were reparented
        os.close(fd)
        return None
    return fd


def wait(proc: subprocess.Popen, *, parent: int | None, lifetime: float, kill, term) -> int:
    """Wait for the kernel. SIGTERM is passed on (SIGINT reaches it through the process group).
    The kernel is killed when the launcher's parent dies or after `lifetime` seconds."""
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: term())
    child = os.pidfd_open(proc.pid)
    deadline = time.monotonic() + lifetime
    try:
        while True:
            watched = [child] + ([parent] if parent is not None else [])
            ready, _, _ = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))
            if child in ready:
                return proc.wait()
            if parent is not None and parent in ready:
                kill()
                return proc.wait()
            if time.monotonic() >= deadline:
                print(f"{MARKER} kernel killed: it reached its wall-clock limit of {lifetime:g} s "
                      "(Limits.lifetime)", file=sys.stderr, flush=True)
                kill()
                return proc.wait()
    finally:
        os.close(child)


def run_plain(connection_file: str, kernel_args: list[str], *, parent: int | None, lifetime: float) -> int:
    """The unsandboxed fallback: still never in the folder that holds the notebooks."""
    scratch = Path(tempfile.mkdtemp(prefix="lrcourse-kernel-"))
    try:
        shutil.copytree(os.getcwd(), scratch / "submission", symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        # stdout goes nowhere, as in the sandbox; stderr stays, to diagnose a kernel that fails to
        # start (unsandboxed, the kernel can reach the grader's terminal anyway, e.g. /proc/<pid>/fd).
        proc = subprocess.Popen(kernel_command(connection_file, kernel_args), cwd=scratch / "submission",
                                env={**os.environ, **blas_env(os.environ)}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL)
        return wait(proc, parent=parent, lifetime=lifetime, kill=proc.kill, term=proc.terminate)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def warn_unsandboxed(reason: str) -> None:
    """Say it loudly, once per grading process (the kernel manager's process)."""
    warn_once("unsandboxed", f"Student code runs UNSANDBOXED: {reason}. It can read the course (solutions, "
              "gradebook, hidden tests), other submissions and the network, as the grading user. "
              "Grade on Linux as root after `make setup` to sandbox it.")


def warn_once(what: str, message: str) -> None:
    """Say it loudly, once per grading process (the kernel manager's process) and `what`."""
    flag = Path(tempfile.gettempdir()) / f"lrcourse-{what}-{os.getppid()}-{cgroup.start_time(os.getppid())}"
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
    except FileExistsError:
        return
    except OSError:
        pass
    bar = "!" * 78
    print(f"{bar}\n{MARKER} {what.upper()}\n{textwrap.fill(message, 76)}\n{bar}", file=sys.stderr, flush=True)


def parse_command(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The launcher's arguments (connection file, --warm, limits) and the kernel's (the rest);
    also read by the provisioner and the verifier's shell from the kernelspec's command."""
    parser = argparse.ArgumentParser(prog="lrcourse.sandbox.launch")
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("--warm", action="store_true", help="fork the kernel from a pre-warmed template (warm.py)")
    Limits.add_arguments(parser)
    return parser.parse_known_args(argv)


def launcher_args(cmd: list[str]) -> tuple[argparse.Namespace, list[str]] | None:
    """`parse_command` of a command that starts the launcher; None for any other command."""
    if "lrcourse.sandbox.launch" not in cmd:
        return None
    try:
        return parse_command(cmd[cmd.index("lrcourse.sandbox.launch") + 1:])
    except SystemExit:
        return None


def main(argv: list[str] | None = None) -> int:
    args, kernel_args = parse_command(argv)
    listeners = inherited_listeners()  # the relay's ports, bound by the provisioner (provisioner.py)
    parent = watch_parent()
    limits = Limits.from_args(args)
    reason = unavailable_reason()
    if reason is None:
        try:
            return run_sandboxed(args.connection_file, kernel_args, limits, parent, warm_wanted=args.warm,
                                 listeners=listeners)
        except SandboxUnavailable as err:
            reason = f"the sandbox could not be set up ({err})"
    for sock in listeners.values():  # a plain kernel binds its ports itself
        sock.close()
    if mode() == "require":
        print(f"{MARKER} LRCOURSE_SANDBOX=require, but {reason}", file=sys.stderr, flush=True)
        return 3
    warn_unsandboxed(reason)
    return run_plain(args.connection_file, kernel_args, parent=parent, lifetime=limits.lifetime)


if __name__ == "__main__":
    sys.exit(main())
