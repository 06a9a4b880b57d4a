"""The sandbox kernelspecs' provisioner: a kernel's ports are held from the moment they are chosen.

jupyter_client chooses a kernel's five TCP ports by binding port 0 and closing the socket again;
the kernel binds them when it starts. Until then any `connect()` on the machine may take such a
port as its own ephemeral source port, and the kernel cannot bind it. For the sandboxed kernel
the binder is the launcher's relay (relay.py), a few tenths of a second later and more on a
loaded machine: its `bind` failed with "Address already in use" and the kernel "died before
replying to kernel_info" in 2 of 450 kernel starts on a loaded 2-core machine (a notebook
graded FAILED for nothing its student did).

`RelayProvisioner` binds and listens on the five ports in the process that starts the kernel,
writes those ports into the connection file, and hands the listening sockets to the launcher
(inherited file descriptors, listed in LISTEN_FDS); the relay accepts on them. A port is never
free between its choice and its use, and connections that arrive early wait in the listening
queue. The kernelspecs written by `lrcourse sandbox` name it (`metadata.kernel_provisioner`);
it is registered under the entry point group `jupyter_client.kernel_provisioners`, so every
client of the kernelspec (lrcourse, `nbgrader autograde`, Jupyter) uses it.

A warm kernel needs no launcher at all. For the `lrcourse-sandbox` kernelspec (the launcher
with `--warm`), the provisioner asks the warm template itself (warm.py), with the request the
launcher would send, and the client talks to the kernel's own Unix sockets (ZMQ `ipc`, through
/proc/<pid>/root): no launcher process (about 0.06 s of CPU a kernel), no relay, no TCP port.
The sandbox's init (PID 1, forked by the template) relays signals, enforces the lifetime and
reports the exit status over the connection (`ForkedKernel`, Popen's face for it); when the
grading process dies the connection closes and init ends the sandbox. Where the template
cannot be used, the launcher runs as before and says why.

Each warm kernel started here starts the next one ahead (`start_ahead`; its submission is
copied in when a notebook takes it, `adopt`), so that a grading worker's next notebook does not
wait for ipykernel's start. LRCOURSE_AHEAD=off turns that off.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from . import HOME, MARKER, RUN_DIR, Limits, cgroup, sandbox_ids, unavailable_reason
from .relay import LISTEN_FDS, PORTS, listening_socket

NAME = "lrcourse-relay"
CAN_PASS_SOCKETS = os.name == "posix"  # Popen cannot pass file descriptors on Windows


def listen(ip: str, port: int) -> socket.socket | None:
    """A listening TCP socket on (ip, port); port 0 picks a free one. None when it is taken."""
    try:
        return listening_socket(ip, port)
    except OSError:
        return None


class RelayProvisioner(LocalProvisioner):
    """jupyter_client's LocalProvisioner whose kernel ports are bound before the kernel starts."""

    _listeners: list[socket.socket]

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self._close_listeners()
        km = self.parent
        if km is not None and km.transport == "ipc" and str(km.ip).startswith("/proc/"):
            # a restart of a kernel forked without a launcher: a launcher, if it comes to that, needs tcp
            km.transport, km.ip = "tcp", "127.0.0.1"
            for name in PORTS:
                setattr(km, name, 0)
        if km is not None and km.transport == "tcp" and CAN_PASS_SOCKETS:
            ip = km.ip or "127.0.0.1"
            for name in PORTS:
                sock = listen(ip, getattr(km, name) or 0)
                if sock is None:  # taken (a restart's port): the launcher binds it, as before
                    continue
                self._listeners.append(sock)
                setattr(km, name, sock.getsockname()[1])
            self.ports_cached = True  # LocalProvisioner must not choose other ports
        kwargs = await super().pre_launch(**kwargs)
        if self._listeners:
            fds = [s.fileno() for s in self._listeners]
            kwargs["env"] = {**kwargs.get("env", os.environ), LISTEN_FDS: ",".join(map(str, fds))}
            kwargs["pass_fds"] = (*kwargs.get("pass_fds", ()), *fds)
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        try:
            forked = fork_warm(cmd, self.connection_info, kwargs)
            if forked is not None:
                self.process, self.pid, self.pgid = forked, forked.pid, None
                self.cwd = kwargs.get("cwd") or os.getcwd()
                # a kernel started ahead has its own key and ipc names, which jupyter_client takes
                # over from what this returns (KernelManager._reconcile_connection_info)
                self.connection_info = {**self.connection_info, **(forked.connection or {}), "transport": "ipc",
                                        "ip": f"/proc/{forked.pid}/root{RUN_DIR}/kernel"}
                return self.connection_info
            return await super().launch_kernel(cmd, **kwargs)
        finally:
            self._close_listeners()  # the launcher holds them now (or nobody: no launcher, or it did not start)

    async def cleanup(self, restart: bool = False) -> None:
        self._close_listeners()
        await super().cleanup(restart=restart)

    def _close_listeners(self) -> None:
        for sock in getattr(self, "_listeners", []):
            sock.close()
        self._listeners = []


# ---------------------------------------------------------------- warm kernels without a launcher

_serial = itertools.count()
SWEEP_EVERY = 60.0  # seconds between two looks for stale scratch folders in one process (2 ms each
_swept_at = -SWEEP_EVERY  # with 4,600 entries in /tmp)


def fork_warm(cmd: list[str], connection: dict, kwargs: dict) -> ForkedKernel | None:
    """The kernel of `cmd` (the warm launcher's command) forked by the template, or None when
    `cmd` is not that or the template cannot be used (the launcher then runs and says why).

    Each kernel started here also starts the next one ahead (`start_ahead`): the same sandbox
    and kernel, started and waiting, without a submission. The next call for the same kernelspec
    and environment takes it (`adopt`): the submission is copied in and the kernel is used, its
    connection (`ForkedKernel.connection`) replacing the one jupyter_client chose."""
    from . import warm
    from .launch import kernel_env, launcher_args, python_dirs, sweep_stale_scratch

    parsed = launcher_args(cmd)
    if parsed is None or not parsed[0].warm or connection.get("transport", "tcp") != "tcp":
        return None
    launcher_env = kwargs.get("env") or os.environ  # what the launcher would see (LRCOURSE_SANDBOX, PATH...)
    if unavailable_reason(launcher_env) or warm.unavailable_reason(launcher_env):
        return None
    args, kernel_args = parsed
    limits = Limits.from_args(args)
    uid, gid = sandbox_ids()
    env = kernel_env(HOME, launcher_env)
    global _swept_at
    if time.monotonic() - _swept_at > SWEEP_EVERY:  # of grading processes that were killed (their
        _swept_at = time.monotonic()                # cgroups: cgroup.create); /tmp may hold thousands
        sweep_stale_scratch()
    source = str(kwargs.get("cwd") or os.getcwd())
    # what a kernel started ahead must have been asked with to serve this one
    base = {"uid": uid, "gid": gid, "python_dirs": python_dirs(), "limits": asdict(limits),
            "kernel_args": kernel_args, "env": env, "early_pid": True}
    key = json.dumps(base, sort_keys=True)
    spare = _ahead.pop(key, None)
    kernel = adopt(spare, source, cmd, kwargs.get("stderr")) if spare is not None else None
    if kernel is None:
        try:
            kernel = request_kernel({**base, "source": source}, connection, env, cmd, limits, kwargs.get("stderr"))
        except (warm.WarmUnavailable, OSError):
            return None
        if not kernel.wait_for_pid():
            kernel.kill()  # init failed before it could start the kernel (it said why): the launcher runs instead
            kernel.wait()
            return None
    if mode_ahead(launcher_env):
        with contextlib.suppress(warm.WarmUnavailable, OSError):
            start_ahead(key, base, env, connection, cmd, limits)
    return kernel


def request_kernel(request: dict, connection: dict, env: dict, cmd: list[str], limits: Limits,
                   stderr=None) -> ForkedKernel:
    """Send the template `request` (its fixed part and `source`) for a kernel with `connection`,
    in a pids cgroup and scratch folder of its own, removed when the kernel has ended (or here,
    when the request fails)."""
    from . import warm
    from .launch import SCRATCH_PREFIX

    pids = cgroup.create(limits.nproc, tag=f"k{next(_serial)}")
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        (scratch / "root").mkdir()
        request = {**request, "root": str(scratch / "root"), "pids_cgroup": str(pids) if pids else None,
                   # its contents, not its name: the kernel manager rewrites the file for the
                   # client (ipc) while init may still be reading it
                   "connection_file": {k: v.decode() if isinstance(v, bytes) else v for k, v in connection.items()}}
        return ForkedKernel(warm.send(request, warm.owner(os.getpid()), env), lambda: remove_scratch(pids, scratch),
                            cmd, limits.lifetime, stderr)
    except BaseException:
        remove_scratch(pids, scratch)
        raise


_ahead: dict[str, ForkedKernel] = {}  # by the request's fixed part: at most one a kernelspec and environment


def mode_ahead(environ) -> bool:
    return environ.get("LRCOURSE_AHEAD", "on").lower() not in ("off", "0", "no", "false")


def start_ahead(key: str, base: dict, env: dict, connection: dict, cmd: list[str], limits: Limits) -> None:
    """Ask the template for the next kernel now: sandbox and kernel made, submission left out
    (init copies it in on `go`). Returns at once; the kernel starts meanwhile."""
    own = dict(connection, key=str(uuid.uuid4()).encode(), transport="tcp",
               **{name: n for n, name in enumerate(PORTS, start=1)})  # ipc names, not TCP ports
    kernel = request_kernel({**base, "source": None, "ahead": True}, own, env, cmd, limits)
    kernel.connection = own
    old = _ahead.pop(key, None)
    if old is not None:
        end_ahead(old)
    _ahead[key] = kernel


def adopt(kernel: ForkedKernel, source: str, cmd: list[str], stderr) -> ForkedKernel | None:
    """The kernel started ahead, given its submission folder; None (and it ended) when it has
    failed or gone meanwhile: a kernel is then started as usual."""
    kernel.args, kernel._stderr = cmd, stderr
    if not kernel.wait_for_pid() or kernel.poll() is not None:
        end_ahead(kernel)
        return None
    try:
        kernel.conn.sendall(b"go " + json.dumps({"source": source}).encode() + b"\n")
    except OSError:
        end_ahead(kernel)
        return None
    if not kernel.wait_for_copy():
        end_ahead(kernel)
        return None
    return kernel


def end_ahead(kernel: ForkedKernel) -> None:
    """End a kernel started ahead that is not used (init ends the sandbox as the connection closes)."""
    kernel.kill()
    with contextlib.suppress(OSError):
        kernel.conn.close()
    kernel.returncode = kernel.returncode if kernel.returncode is not None else 137
    kernel._clean_up()


def end_all_ahead() -> None:
    """End this process's kernels started ahead; at its exit (atexit, and multiprocessing's
    finalizers in a grading worker)."""
    while _ahead:
        end_ahead(_ahead.popitem()[1])


def _let_go_ahead() -> None:
    """In a forked child: its copies of the connections are closed; the kernels are the parent's."""
    while _ahead:
        kernel = _ahead.popitem()[1]
        kernel._clean_up = lambda: None
        with contextlib.suppress(OSError):
            kernel.conn.close()
        kernel.returncode = 137


def at_exit_and_fork(end, let_go) -> None:
    """Run `end` as this process exits (atexit, and multiprocessing's finalizers, which a grading
    worker runs instead of atexit), and `let_go` in every child it forks (what is the parent's)."""
    import atexit
    from multiprocessing import util

    atexit.register(end)
    util.Finalize(None, end, exitpriority=10)
    os.register_at_fork(after_in_child=let_go)


at_exit_and_fork(end_all_ahead, _let_go_ahead)


def remove_scratch(pids: Path | None, scratch: Path | None) -> None:
    """Remove a sandbox's pids cgroup (killing what is left in it) and its scratch folder."""
    if pids is not None:
        cgroup.remove(pids)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


class ForkedKernel:
    """subprocess.Popen's face for a kernel the template forked: signals go over the template
    connection as words (`int`, `term`, `kill`); init's lines come back over it, in the order
    they were written: `pid N` (init's host pid, at once), `note: ...` and `ok N` or `error: ...`
    (once the sandbox is built), `exit N` (when it has ended). Closing the connection kills the
    sandbox. Its cgroup and scratch folder are removed once it has exited."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, clean_up, args: list[str], lifetime: float, stderr=None):
        self.conn, self.args, self.pid, self.returncode, self.lifetime = conn, args, None, None, lifetime
        self.connection: dict | None = None  # a kernel started ahead: its own connection (key, ipc names)
        self.copied = False  # a kernel started ahead: init has copied its submission in
        self._stderr = stderr  # where a launcher's messages would have gone (Popen's stderr)
        self._clean_up, self._buffer, self._lock = clean_up, b"", threading.Lock()

    def wait_for_pid(self, timeout: float = 60) -> bool:
        """Wait for init's host pid (a few milliseconds); False when init failed first."""
        deadline = time.monotonic() + timeout
        while self.pid is None and not self._read(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                return False
        return self.pid is not None and self.returncode is None

    def wait_for_copy(self, timeout: float = 60) -> bool:
        """A kernel started ahead: wait for init's `copied`; False when it failed or ended first."""
        deadline = time.monotonic() + timeout
        while not self.copied and not self._read(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                return False
        return self.copied and self.returncode is None

    def _read(self, timeout: float) -> bool:
        """True once the kernel has exited (waiting at most `timeout` seconds for a line)."""
        with self._lock:
            if self.returncode is not None:
                return True
            ready, _, _ = select.select([self.conn], [], [], max(0.0, timeout))
            if not ready:
                return False
            data = b""
            with contextlib.suppress(OSError):
                data = self.conn.recv(4096)
            self._buffer += data
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                self._line(line.decode("utf-8", "replace"))
            if not data and self.returncode is None:
                self.returncode = 137
            if self.returncode is not None:
                self.conn.close()
                self._clean_up()
                return True
            return False

    def _line(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word in ("pid", "ok") and rest.strip().isdigit():
            self.pid = self.pid or int(rest)
        elif word == "copied":
            self.copied = True
        elif word == "note:":
            self._say(rest)
        elif word == "error:":
            self._say(f"the warm kernel's sandbox could not be set up: {rest}")
            self.returncode = 1
        elif word == "exit":
            words = rest.split()
            self.returncode = int(words[0]) if words and words[0].lstrip("-").isdigit() else 137
            if "lifetime" in words:
                self._say(f"kernel killed: it reached its wall-clock limit of {self.lifetime:g} s (Limits.lifetime)")

    def _say(self, message: str) -> None:
        line = f"{MARKER} {message}\n"
        with contextlib.suppress(OSError, ValueError):
            if self._stderr is None:
                sys.stderr.write(line)
                sys.stderr.flush()
            elif isinstance(self._stderr, int):
                if self._stderr >= 0:  # not subprocess.DEVNULL / PIPE
                    os.write(self._stderr, line.encode())
            else:
                self._stderr.write(line if "b" not in getattr(self._stderr, "mode", "") else line.encode())
                self._stderr.flush()

    def __del__(self):  # dropped while it runs: nobody holds the connection, so init ends the sandbox
        with contextlib.suppress(Exception):
            self.conn.close()

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._read(1.0 if deadline is None else min(1.0, deadline - time.monotonic())):
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        word = {signal.SIGINT: b"int", signal.SIGTERM: b"term"}.get(signum, b"kill")
        if self.returncode is None:
            with contextlib.suppress(OSError):
                self.conn.sendall(word + b"\n")

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
