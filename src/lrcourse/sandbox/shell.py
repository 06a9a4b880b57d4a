"""The verifier as an IPython shell forked from the warm template: no kernel, no launcher, no ZMQ.

The verifier (lrcourse.verify) runs the source's read-only cells, takes over each test's
answers and runs the tests. It never runs a line a student wrote, and only test cells'
streams and errors reach the gradebook. A full Jupyter kernel for that cost about
0.3 s of CPU a notebook (launcher, relay, ipykernel, five sockets, a message round trip
per cell, figures drawn to PNG), more than the tests themselves. Here it is:

  session    (host, the grading process) asks its warm template (warm.py) for a fork, as
             a launcher does, with `kind: shell` and one end of a socket pair passed along
             (SCM_RIGHTS). Same sandbox as a kernel: fresh namespaces, sealed root, an
             empty folder as cwd, the limits, a pids cgroup, the sandbox user.
  shell      (the sandbox user) IPython's own InteractiveShell, as ipykernel's shell is
             built on it: same compilation, same warnings filters, same tracebacks, the
             inline matplotlib backend (figures closed after each cell). Streams and errors
             are kept as nbformat outputs; rich displays are formatted as text only and
             dropped (the verifier keeps none).
  protocol   one JSON line per cell each way: {"code": ..., "timeout": s} -> {"outputs":
             [...]}, in order; cells may be sent ahead. The shell times each cell itself
             (SIGALRM: KeyboardInterrupt at its timeout, as nbclient interrupts a kernel);
             one that gives no answer 10 s later is killed: closing the template connection
             kills the sandbox.

  template   (`VerifierTemplate`, `serve_forks`) the shell of one exercise that has run the
             reference's cells before its first test, the same for every student; the
             grading process asks it for one fork per notebook (a `fork` line, the socket
             passed along), which carries on from there. Forks share the template's
             sandbox: they run only the course's cells, on answers decoded as plain data.

Where no warm template can be made (not Linux, not root, LRCOURSE_WARM=off, a kernelspec
without `--warm`), lrcourse.verify runs the verifier as a kernel, as before; a test
checks that both give the same outputs to every scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import queue
import re
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from . import HOME, KERNEL_NAME, Limits, cgroup, sandbox_ids, unavailable_reason

_serial = itertools.count()  # tells apart the cgroups of one process's shells (one may still be removed)
REPLY_LIMIT = 8 * 2**20  # bytes of stream text one cell's reply carries; the rest is cut


class ShellUnavailable(RuntimeError):
    pass


# ---------------------------------------------------------------- inside the sandbox

def serve(fd: int, limit: int = REPLY_LIMIT, shell=None) -> int:
    """Run cells sent on socket `fd` until it closes; the sandbox user's process. A thread reads
    the requests as they come, so the grading process can send cells ahead (while the student's
    notebook still runs) without ever waiting for this one. `shell`: one made already (a fork of
    a verifier template, `serve_forks`)."""
    sock = socket.socket(fileno=fd)
    shell = shell or make_shell()
    requests: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in sock.makefile("rb"):
                requests.put(line)
        requests.put(b"")

    threading.Thread(target=read, daemon=True).start()
    signal.signal(signal.SIGALRM, _time_is_up)
    while True:
        try:
            line = requests.get()
        except KeyboardInterrupt:  # an interrupt between cells interrupts nothing
            continue
        if not line:
            return 0
        request = json.loads(line)
        outputs = run_cell(shell, request["code"], limit, request.get("timeout"))
        sock.sendall(json.dumps({"outputs": outputs}).encode() + b"\n")


def serve_forks(fd: int, prefix: list[str], timeout: float | None, limit: int, lifetime: float) -> int:
    """A verifier template: make the shell, run `prefix` (the reference's cells before its first
    test, the same for every student), then fork one shell per socket that arrives on `fd` (one
    `fork` line each, the socket passed along), which serves it (`serve`) from that state on.

    A fork is killed when the grading process closes its socket (whatever it is doing then: a
    cell that ignores its interrupt too), or `lifetime` seconds after it was forked. Forks share
    this sandbox; they run the reference's cells on answers decoded as plain data, never a line a
    student wrote. When `fd` closes (the grading process has gone), the forks are killed and the
    template ends."""
    control = socket.socket(fileno=fd)
    shell = make_shell()
    signal.signal(signal.SIGALRM, _time_is_up)
    for code in prefix:
        run_cell(shell, code, limit, timeout)
    children: dict[int, tuple[int, float]] = {}  # pid: (its socket, as this process holds it; deadline)
    poller = select.poll()
    poller.register(control, select.POLLIN)
    hangup = select.POLLHUP | select.POLLRDHUP | select.POLLERR
    try:
        while True:
            wait = min((d for _, d in children.values()), default=None)
            ready = poller.poll(None if wait is None else max(0, wait - time.monotonic()) * 1000 + 1)
            gone = {f for f, _ in ready if f != control.fileno()}
            for pid, (sock_fd, deadline) in list(children.items()):
                if sock_fd in gone or time.monotonic() >= deadline:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                    poller.unregister(sock_fd)
                    os.close(sock_fd)
                    del children[pid]
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            if not any(f == control.fileno() for f, _ in ready):
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, 4096, 16)
            except OSError:
                data, fds = b"", []
            if not data:
                for f in fds:
                    os.close(f)
                return 0
            for sock_fd in fds:
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        control.close()
                        for other, _ in children.values():
                            os.close(other)
                        if "numpy" in sys.modules:  # a seed of its own, as a fresh shell's
                            sys.modules["numpy"].random.seed()
                        code = serve(sock_fd, limit, shell)
                    finally:
                        os._exit(code)
                children[pid] = (sock_fd, time.monotonic() + lifetime)
                poller.register(sock_fd, hangup)
    finally:
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _time_is_up(signum, frame):
    raise KeyboardInterrupt  # as nbclient interrupts a kernel's cell at its timeout


class _Stream:
    """sys.stdout / sys.stderr of the shell: text goes to the current cell's outputs."""

    encoding, errors = "utf-8", "strict"

    def __init__(self, name: str, sink: _Outputs):
        self.name, self.sink = name, sink

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.sink.stream(self.name, text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("the verifier's streams have no file descriptor")

    @property
    def closed(self) -> bool:
        return False


class _Outputs:
    def __init__(self, limit: int):
        self.items: list[dict] = []
        self.limit, self.used, self.cut = limit, 0, False

    def stream(self, name: str, text: str) -> None:
        if not text:  # ipykernel sends no empty stream either
            return
        if self.used >= self.limit:
            self.cut = True
            return
        text = text[: self.limit - self.used]
        self.used += len(text)
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})


# The verifier's take-over of a test's answers (lrcourse.verify.take_over_cell): one line of
# plain Python, which IPython's input transformers return as it is, plus a newline (test_units)
TAKE_OVER = re.compile(r"_lrc_take_over\(__import__\('base64'\)\.b64decode\('[A-Za-z0-9+/=]*'\)\.decode\(\), "
                       r"\[(?:'[A-Za-z_][A-Za-z0-9_]*'(?:, '[A-Za-z_][A-Za-z0-9_]*')*)?\]\)")


def make_shell():
    """IPython's InteractiveShell with ipykernel's way of reporting errors and no rich output."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class QuietDisplayHook(DisplayHook):  # Out[n] is kept in the namespace, not shown
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            pass

    class QuietPublisher(DisplayPublisher):  # display() outputs: the verifier keeps none
        def publish(self, *args, **kwargs):
            pass

    class VerifierShell(InteractiveShell):
        displayhook_class = QuietDisplayHook
        display_pub_class = QuietPublisher
        outputs: _Outputs | None = None

        def _showtraceback(self, etype, evalue, stb):  # as ipykernel's ZMQInteractiveShell reports it
            if self.outputs is not None:
                self.outputs.error(str(etype.__name__), str(evalue), stb)

        def _format_exception_for_storage(self, exception, filename=None, running_compiled_code=False):
            return {}  # for a history that is off: IPython would format every error a second time

        def transform_cell(self, raw_cell):
            # a take-over carries a test's answers (up to 250 KB for the breast-cancer notebook),
            # which IPython's input transformers tokenized only to return the line as it was
            if TAKE_OVER.fullmatch(raw_cell):
                return raw_cell + "\n"
            return super().transform_cell(raw_cell)

        def should_run_async(self, raw_cell, *, transformed_cell=None, preprocessing_exc_tuple=None):
            # only code with `await` or `async` in it compiles to a coroutine: IPython's answer for
            # the rest without compiling each cell twice
            code = transformed_cell
            if isinstance(code, str) and "await" not in code and "async" not in code:
                return False
            return super().should_run_async(raw_cell, transformed_cell=transformed_cell,
                                            preprocessing_exc_tuple=preprocessing_exc_tuple)

    config = Config()
    config.HistoryManager.enabled = False
    shell = VerifierShell.instance(config=config)
    shell.display_formatter.active_types = ["text/plain"]
    return shell


def run_cell(shell, code: str, limit: int, timeout: float | None = None) -> list[dict]:
    outputs = _Outputs(limit)
    shell.outputs = outputs
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout", outputs), _Stream("stderr", outputs)
    try:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        shell.run_cell(code, store_history=True)
    except KeyboardInterrupt:  # arrived outside the cell's own code (IPython catches the rest)
        outputs.error("KeyboardInterrupt", "", ["KeyboardInterrupt"])
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
        shell.outputs = None
    if outputs.cut:
        outputs.items.append({"output_type": "stream", "name": "stdout",
                              "text": f"\n... outputs beyond {limit:,} bytes dropped by the grader ...\n"})
    return outputs.items


# ---------------------------------------------------------------- the grading process's side

def warm_spec(kernel_name: str) -> tuple[Limits, dict[str, str]]:
    """The limits of the warm sandbox kernelspec `kernel_name` and the environment its kernels get
    (what their template is keyed by: warm.template_key); ShellUnavailable, saying why, where its
    kernels are not forked warm here (the verifier then runs as that kernel)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from . import warm
    from .launch import kernel_env, launcher_args

    reason = unavailable_reason() or warm.unavailable_reason()
    if reason:
        raise ShellUnavailable(reason)
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as err:
        raise ShellUnavailable(f"no kernelspec {kernel_name!r}") from err
    parsed = launcher_args(list(spec.argv))
    if parsed is None or not parsed[0].warm:
        raise ShellUnavailable(f"the kernelspec {kernel_name!r} does not fork warm sandboxed kernels")
    return Limits.from_args(parsed[0]), kernel_env(HOME, {**os.environ, **(spec.env or {})})


class _Sandbox:
    """A shell's sandbox, asked of the warm template: init's connection, the grading process's end
    of the shell's socket, its pids cgroup and scratch folder. `extra`: more of the request."""

    def __init__(self, kernel_name: str, lifetime: float | None, extra: dict | None = None):
        from . import warm  # not at the top: the template runs warm.py as __main__ and imports this module
        from .launch import SCRATCH_PREFIX, python_dirs

        self.conn = self.sock = self.pids = self.scratch = self.init = None  # init: its host pid, once started
        self.limits, env = warm_spec(kernel_name)
        self.pids = cgroup.create(self.limits.nproc, tag=f"v{next(_serial)}")
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-verifier-"))
        try:
            (self.scratch / "root").mkdir()
            (self.scratch / "empty").mkdir()
            uid, gid = sandbox_ids()
            limits = asdict(dataclasses.replace(self.limits, lifetime=lifetime or 2 * self.limits.lifetime))
            request = {"kind": "shell", "source": str(self.scratch / "empty"), "root": str(self.scratch / "root"),
                       "connection_file": None, "pids_cgroup": str(self.pids) if self.pids else None,
                       "uid": uid, "gid": gid, "python_dirs": python_dirs(), "limits": limits,
                       "kernel_args": [], "env": env, "reply_limit": REPLY_LIMIT, **(extra or {})}
            mine, theirs = socket.socketpair()
            try:
                self.conn = warm.send(request, warm.owner(os.getpid()), env, fds=[theirs.fileno()])
            except warm.WarmUnavailable as err:
                mine.close()
                raise ShellUnavailable(str(err)) from err
            finally:
                theirs.close()
            self.sock = mine
        except BaseException:
            self.close()
            raise

    def started(self) -> None:
        """Wait for init's word that the sandbox is ready; ShellUnavailable if it is not."""
        from . import warm

        try:
            self.init = warm.started(self.conn)[1]
        except warm.WarmUnavailable as err:
            self.close()
            raise ShellUnavailable(str(err)) from err

    def close(self) -> None:
        """Kill the sandbox (init ends it when the connection closes); its cgroup and scratch folder
        are removed in the background (graders wait for that before they exit)."""
        from ..kernel_manager import in_background
        from .provisioner import remove_scratch

        for s in (self.sock, self.conn):
            if s is not None:
                s.close()
        self.sock = self.conn = None
        pids, scratch, self.pids, self.scratch = self.pids, self.scratch, None, None
        if pids is not None or scratch is not None:
            in_background(lambda: remove_scratch(pids, scratch), "verifier-shell-cleanup")


TEMPLATE_LIFETIME = 24 * 3600  # seconds a verifier template's sandbox may live (it ends with its grading process)
TEMPLATES_KEPT = 16  # verifier templates one grading process keeps (one an exercise and kernelspec)
_templates: dict[tuple, VerifierTemplate] = {}


class VerifierTemplate:
    """A shell that has run the reference's cells before its first test (`prefix`, the same for
    every student) and forks a shell for each notebook from there (`serve_forks`): the prefix,
    making IPython's shell and the sandbox are paid once per exercise and grading process instead
    of once per notebook. Its forks share its sandbox (they run no student code)."""

    def __init__(self, kernel_name: str, prefix: list[str], timeout: float | None):
        self.limits = warm_spec(kernel_name)[0]
        self.sandbox = _Sandbox(kernel_name, TEMPLATE_LIFETIME, {
            "prefix": list(prefix), "timeout": timeout, "fork_lifetime": 2 * self.limits.lifetime})
        self.ready = False

    def fork(self) -> socket.socket:
        """A new shell's socket: the template forks it as soon as it has run the prefix."""
        if self.closed():
            raise OSError("the verifier template was closed")
        mine, theirs = socket.socketpair()
        try:
            socket.send_fds(self.sandbox.sock, [b"fork\n"], [theirs.fileno()])
        except OSError:  # the template has gone
            mine.close()
            raise
        finally:
            theirs.close()
        return mine

    def closed(self) -> bool:
        """Closed here: by `close`, or when its sandbox could not be started."""
        return self.sandbox.sock is None or self.sandbox.conn is None

    def alive(self) -> bool:
        """Not ended: init speaks on its connection only once the template has exited."""
        conn = self.sandbox.conn
        return conn is not None and conn.fileno() >= 0 and not select.select([conn], [], [], 0)[0]

    def started(self) -> None:
        """Wait for its sandbox to be ready; ShellUnavailable, saying why, if it could not be made."""
        if not self.ready:
            if self.closed():
                raise ShellUnavailable("the verifier template was closed")
            self.sandbox.started()
            self.ready = True

    def close(self) -> None:
        self.sandbox.close()


def verifier_template(kernel_name: str, prefix: list[str], timeout: float | None) -> VerifierTemplate:
    """This process's verifier template for `prefix` on `kernel_name`, made when first needed (or
    again, when it has ended)."""
    key = (kernel_name, tuple(prefix), timeout)
    template = _templates.pop(key, None)
    if template is not None and (template.closed() or (template.ready and not template.alive())):
        template.close()
        template = None
    if template is None:
        template = VerifierTemplate(kernel_name, prefix, timeout)
        while len(_templates) >= TEMPLATES_KEPT:
            _templates.pop(next(iter(_templates))).close()
    _templates[key] = template  # the most recently used last
    return template


def close_templates() -> None:
    """End this process's verifier templates, and wait for their sandboxes to be removed. Run as
    the process exits (atexit, and multiprocessing's finalizers in a grading worker, which runs
    no atexit): without it, init still ends each sandbox when the connection closes with the
    process, and the next sandbox made on the machine removes the folder and cgroup it leaves."""
    from .provisioner import remove_scratch

    while _templates:
        sandbox = _templates.popitem()[1].sandbox
        pids, scratch, sandbox.pids, sandbox.scratch = sandbox.pids, sandbox.scratch, None, None
        sandbox.close()
        remove_scratch(pids, scratch)


def _let_go_of_templates() -> None:
    """In a forked child of the grading process: its copies of the templates' sockets are closed,
    and the templates left to the parent, whose they are (nothing is killed or removed)."""
    while _templates:
        sandbox = _templates.popitem()[1].sandbox
        for s in (sandbox.sock, sandbox.conn):
            if s is not None:
                s.close()
        sandbox.sock = sandbox.conn = sandbox.pids = sandbox.scratch = None


def _close_at_exit() -> None:
    from .provisioner import at_exit_and_fork

    at_exit_and_fork(close_templates, _let_go_of_templates)


_close_at_exit()


class ShellSession:
    """One verifier shell in the sandbox, asked for when made (it starts while the student's
    notebook runs). `run(code, timeout)` returns the cell's outputs, or None once the shell
    has stopped (died, killed, over its lifetime). The first `run` raises ShellUnavailable
    when the template could not start it.

    With `prefix` (the reference's cells before its first test), the shell is a fork of this
    process's verifier template for it, which has run them already (`prefixed`): the cells sent
    then are those after them."""

    def __init__(self, kernel_name: str = KERNEL_NAME, prefix: list[str] | None = None,
                 timeout: float | None = None):
        self.conn = self.sock = self.own = self.template = None
        self.deadline, self.buffer, self.ready, self.timeouts = None, b"", False, []
        self.prefixed = prefix is not None
        if prefix is None:
            self.own = _Sandbox(kernel_name, None)
            self.limits, self.conn, self.sock = self.own.limits, self.own.conn, self.own.sock
            return
        for attempt in (1, 2):  # a template that has ended since its last fork is made again, once
            self.template = verifier_template(kernel_name, prefix, timeout)
            try:
                self.sock = self.template.fork()
                break
            except OSError:
                _templates.pop((kernel_name, tuple(prefix), timeout), None)
                try:
                    self.template.started()  # raises, saying why, if its sandbox could not be made
                finally:
                    self.template.close()
                if attempt == 2:
                    raise ShellUnavailable("the verifier template ended before it could fork a shell") from None
        self.limits = self.template.limits

    @property
    def pids(self):
        return self.own.pids if self.own else None

    @property
    def scratch(self):
        return self.own.scratch if self.own else None

    def run(self, code: str, timeout: float) -> list[dict] | None:
        """Run one cell; its outputs, or None once the shell has stopped."""
        self.submit(code, timeout)
        return self.collect()

    def submit(self, code: str, timeout: float) -> None:
        """Send a cell to run after those sent before (the shell times it itself: KeyboardInterrupt
        after `timeout` s); `collect` returns the outputs, in order."""
        if self.sock is None:
            return
        try:
            self.sock.sendall(json.dumps({"code": code, "timeout": timeout}).encode() + b"\n")
            self.timeouts.append(timeout)
        except OSError:
            self._stopped()

    def collect(self) -> list[dict] | None:
        """The outputs of the oldest cell sent and not yet collected; None once the shell has
        stopped. A shell that says nothing for its cell's timeout and 10 s more is stopped."""
        if not self.ready:
            try:
                (self.template or self.own).started()
            except ShellUnavailable:
                self.close()
                raise
            self.ready = True
        if self.sock is None or not self.timeouts:
            return None
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.lifetime
        cell_deadline = time.monotonic() + self.timeouts.pop(0) + 10
        while b"\n" not in self.buffer:
            now = time.monotonic()
            if now >= self.deadline or now >= cell_deadline:
                return self._stopped()
            watched = [self.sock, self.conn] if self.conn is not None else [self.sock]
            ready, _, _ = select.select(watched, [], [], min(cell_deadline, self.deadline) - now)
            if self.conn is not None and self.conn in ready:  # init only speaks when the shell has exited
                return self._stopped()
            if self.sock in ready:
                data = b""
                with contextlib.suppress(OSError):
                    data = self.sock.recv(1 << 20)
                if not data:
                    return self._stopped()
                self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)["outputs"]
        except (ValueError, KeyError, TypeError):
            return self._stopped()

    def _stopped(self) -> None:
        self.close()
        return None

    def close(self) -> None:
        """Kill the shell: its own sandbox (init ends it when the connection closes), or, a fork of a
        verifier template, the fork (the template kills it when its socket closes)."""
        if self.own is not None:
            self.own.close()
        elif self.sock is not None:
            self.sock.close()
        self.sock = self.conn = None
