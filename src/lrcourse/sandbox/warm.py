"""Pre-warmed, single-use kernels: a template process forks each sandboxed kernel.

A cold kernel spends about 4 s importing numpy, pandas, scipy, scikit-learn, statsmodels,
matplotlib and ipykernel before the first line a student wrote runs, and every graded
notebook starts two kernels (the student's and the verifier's). Here that is paid once
per grading process:

  template   one per grading process (nbgrader; `lrcourse grade`, whose workers share it:
             `owner`) and kernel environment: root, host side, started by the first kernel
             that needs it (or by `lrcourse grade` as it starts: `prestart`), in a session
             of its own. It imports PRELOAD, then waits on a Unix socket that
             only root can reach. It runs no student code and reads nothing from kernels;
             it exits when the grading process has gone or after IDLE seconds unused.
  request    the launcher (launch.py, one per kernel) connects and sends one JSON line.
             The template forks `init` at once, in a PID namespace of its own (it unshares
             the namespace its next child is born in, then returns to its own), and goes
             back to waiting: the request is read only by that fork, so no kernel ever
             holds another kernel's data.
  init       PID 1 of the new PID namespace (root; `run_init`): enters the kernel's pids
             cgroup, unshares fresh mount, network, IPC and UTS namespaces, takes the very
             same steps as a cold sandbox (`inside.prepare`: loopback, sealed root, copy of
             the submission, limits), reports `ok <host pid>` and forks the kernel. It then
             relays (`relay`): `int` and `term` from the launcher become SIGINT and SIGTERM
             to the kernel; the launcher closing its end ends init, and with it the
             namespace; at the kernel's wall-clock lifetime it kills the kernel; the
             kernel's exit status goes back as `exit N`. It reaps the namespace's orphans.
             (Until 2026-12-01 a fork of the template between the two did the relaying:
             one more copy of the template's memory to make and tear down per sandbox.)
  ahead      a request may ask for the next kernel before its notebook is known (`ahead`):
             init builds and seals the sandbox without the submission, starts the kernel,
             and waits (`await_notebook`, at most AHEAD_WAIT s) for `go {"source": ...}`; it
             then copies that folder in through its descriptor of the host's root, says
             `copied` and relays, the lifetime counted from then.
  kernel     drops to the sandbox user exactly as setpriv does for a cold kernel (no
             groups, no capabilities in any set, no_new_privs), closes every inherited
             file, takes the kernel's environment, reseeds numpy's global random state
             (Python's `random` reseeds itself in a fork) and runs `ipykernel_launcher`
             as `python -m` would. It serves one notebook and is discarded.

What a fork shares with its template is memory, copy-on-write: a student who patches numpy
patches only their own kernel. What is not as in a cold kernel, and why it does not change
a grade: the preloaded modules are already in `sys.modules` (their import in a cell is
free); their warnings filters are installed before IPython's instead of after it (the same
set of filters once the notebook has imported them); matplotlib's config and cache folder
is the font cache built at setup (read-only) instead of one in HOME; hash randomisation is
shared by the forks of one template.

Where no template can be made (not Linux, no fork, the template failed to start) or
LRCOURSE_WARM=off, the launcher says so loudly once per grading process and starts the
kernel cold. A kernelspec without `--warm` always starts cold.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import MARKER, RUN_DIR, WORKDIR, Limits, cgroup, font_cache_dir

# What the course's notebooks and tests import (matplotlib's backend module is left to the
# kernel: the inline backend hooks into the IPython shell when it is first imported).
PRELOAD = ("numpy", "pandas", "scipy.special", "scipy.stats", "sklearn.base", "sklearn.linear_model",
           "sklearn.metrics", "sklearn.model_selection", "sklearn.preprocessing", "sklearn.pipeline",
           "sklearn.datasets", "statsmodels.api", "matplotlib", "matplotlib.pyplot", "matplotlib.figure",
           "matplotlib.font_manager", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.zmqshell", "ipykernel.debugger",
           # what every kernel imported as it started or ran its first cells, about 16 ms of its CPU
           # (docs/benchmarks.md, sixth pass): IPython's and ipykernel's lazy imports, the Agg
           # canvas and PIL's image plugins behind every inline figure, the pandas code scikit-learn
           # reaches through narwhals, a data frame's text form, the breast-cancer data's package
           "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.logger", "IPython.core.oinspect",
           "IPython.core.pylabtools", "IPython.extensions.storemagic", "IPython.utils.wildcard", "sqlite3",
           "tornado.platform.asyncio", "matplotlib.backends.backend_agg", "PIL.features",
           "narwhals._pandas_like.namespace", "narwhals._pandas_like.dataframe", "narwhals._interchange.dataframe",
           "narwhals.stable.v2._namespace", "pandas.io.formats.string", "sklearn.datasets.data",
           "sklearn.datasets.descr", "importlib.resources.readers")
IDLE = 300  # seconds a template waits unused before it exits (the next kernel starts a new one)
START_WAIT = 180  # seconds a launcher waits for a template to finish its imports
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL, PR_SET_NAME = 4, 15
_libc = ctypes.CDLL(None, use_errno=True)


class WarmUnavailable(RuntimeError):
    pass


def mode(environ=None) -> str:
    """LRCOURSE_WARM: `on` (default) or `off` (every kernel starts cold), of `environ` (default os.environ)."""
    return (environ or os.environ).get("LRCOURSE_WARM", "on").strip().lower() or "on"


def unavailable_reason(environ=None) -> str | None:
    if mode(environ) == "off":
        return "disabled by LRCOURSE_WARM=off"
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"forked kernels need Linux, this is {sys.platform}"
    if not hasattr(os, "pidfd_open"):
        return "this Python has no os.pidfd_open"
    return None


# ---------------------------------------------------------------- the launcher's side

def folder() -> Path:
    """Root-only folder of the templates' sockets, locks and logs."""
    path = Path(tempfile.gettempdir()) / f"lrcourse-warm-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise WarmUnavailable(f"{path} is not a private folder of this user")
    return path


OWNER_ENV = "LRCOURSE_TEMPLATE_OWNER"  # set in `lrcourse grade`'s workers: the grading run's process


def owner(grader: int) -> int:
    """Whose template forks `grader`'s kernels: the process LRCOURSE_TEMPLATE_OWNER names when it
    is an ancestor of `grader` (`lrcourse grade`'s workers share one template, started with the
    grading run: lrcourse.grade), else `grader` itself."""
    try:
        wanted = int(os.environ.get(OWNER_ENV, ""))
    except ValueError:
        return grader
    pid = grader
    for _ in range(64):  # up the parent chain (forkserver workers: worker, forkserver, grading run)
        if pid == wanted:
            return wanted
        pid = cgroup.parent(pid)
        if pid <= 1:
            break
    return grader


def template_key(grader: int, env: dict[str, str]) -> str:
    """One template per grading process (pid and start time) and kernel environment."""
    digest = hashlib.sha256(json.dumps([sys.executable, sorted(env.items())]).encode()).hexdigest()[:16]
    return f"{grader}-{cgroup.start_time(grader)}-{digest}"


def _connect(path: Path) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return s
    except OSError:
        s.close()
        return None


def connect(grader: int, env: dict[str, str]) -> socket.socket:
    """A connection to the template of (grader, env), started here when there is none yet."""
    base = folder()
    key = template_key(grader, env)
    path = base / f"{key}.sock"
    if conn := _connect(path):
        return conn
    with open(base / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if conn := _connect(path):
            return conn
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log = base / f"{key}.log"
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-Xfrozen_modules=off", "-m", "lrcourse.sandbox.warm", f"--socket={path}",
                 f"--grader={grader}", f"--grader-start={cgroup.start_time(grader)}"],
                env={**env, "MPLCONFIGDIR": str(font_cache_dir())}, cwd="/", stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, close_fds=True)
        _importing.add(proc)
        try:
            deadline = time.monotonic() + START_WAIT
            while time.monotonic() < deadline:
                if conn := _connect(path):
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=5)  # it exits once ready, leaving the template an orphan (serve)
                    return conn
                if proc.poll() not in (None, 0):
                    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                    raise WarmUnavailable(f"the kernel template exited ({proc.returncode}): {' | '.join(tail)}")
                time.sleep(0.02)
            proc.kill()
            raise WarmUnavailable(f"the kernel template was not ready after {START_WAIT} s")
        finally:
            _importing.discard(proc)


_importing: set[subprocess.Popen] = set()  # templates this process started, still importing


def cancel_prestart() -> None:
    """Stop the templates this process started that are still importing (`lrcourse grade` found
    nothing to grade after `cli.head_start` started one): a template that is ready already
    exits by itself once this process has gone (`serve`)."""
    for proc in list(_importing):
        with contextlib.suppress(OSError):
            proc.kill()


_prestarted: set[str] = set()  # the templates this process has started with `prestart`

# nbgrader_config.py's kernel as a plain literal assignment (`prestart_course`)
KERNEL_NAME_LINE = re.compile(r"""^c\.Execute\.kernel_name\s*=\s*(["'])([\w.-]+)\1\s*(?:#.*)?$""", re.M)


def prestart(kernel_name: str) -> threading.Thread | None:
    """Start this process's template for the kernelspec `kernel_name` in the background, so that
    its imports overlap the grading run's own start; None where kernels of that kernelspec are not
    forked warm, or this process has already started it. What goes wrong here is reported by the
    first kernel's start, as before."""
    from .shell import ShellUnavailable, warm_spec

    try:
        _, env = warm_spec(kernel_name)  # as the kernels' and the shells' own requests compute it
    except ShellUnavailable:
        return None
    key = template_key(os.getpid(), env)
    if key in _prestarted:
        return None
    _prestarted.add(key)

    def start_it() -> None:
        with contextlib.suppress(Exception):
            connect(os.getpid(), env).close()  # its fork reads an empty request and exits

    thread = threading.Thread(target=start_it, name="lrcourse-template-start", daemon=True)
    thread.start()
    return thread


def prestart_course(config_file: Path) -> threading.Thread | None:
    """`prestart` for the kernel `config_file` (an nbgrader_config.py) names in one literal
    `c.Execute.kernel_name = "..."` line, before anything has loaded the file: `lrcourse grade`
    starts its template while it imports nbgrader (about 1 s) instead of after. None where the
    file names no kernel so plainly (or names it twice); the grading run's own `prestart`, with
    the kernel its loaded config names, then starts it as before. A wrong guess costs one idle
    template, never a grade: kernels are forked by the template of their own kernelspec."""
    try:
        names = [name for _, name in KERNEL_NAME_LINE.findall(config_file.read_text(errors="replace"))]
    except OSError:
        return None
    return prestart(names[0]) if len(names) == 1 else None


def start(request: dict, grader: int, env: dict[str, str], fds: list[int] = ()) -> tuple[socket.socket, int]:
    """Ask the template for a kernel (or, `kind: shell`, the verifier's shell, which gets `fds`);
    returns the connection (its lifeline) and init's host pid. Notes from the sandbox go to the
    log. Raises WarmUnavailable."""
    return started(send(request, grader, env, fds))


def send(request: dict, grader: int, env: dict[str, str], fds: list[int] = ()) -> socket.socket:
    """The first half of `start`: the request sent, the connection returned at once."""
    conn = connect(grader, env)
    try:
        data = json.dumps(request).encode() + b"\n"
        sent = socket.send_fds(conn, [data], list(fds)) if fds else 0
        conn.sendall(data[sent:])
        return conn
    except OSError as err:
        conn.close()
        raise WarmUnavailable(f"the kernel template failed: {err}") from err


def started(conn: socket.socket) -> tuple[socket.socket, int]:
    """The second half of `start`: wait for init's `ok <init pid>`."""
    try:
        reader = conn.makefile("r", encoding="utf-8")
        while True:
            line = reader.readline()
            if line.startswith("note: "):
                print(f"{MARKER} {line.removeprefix('note: ').rstrip()}", file=sys.stderr, flush=True)
                continue
            if line.startswith("ok "):
                return conn, int(line.split()[1])
            raise WarmUnavailable(line.removeprefix("error: ").strip() or "the kernel template closed the request")
    except (OSError, ValueError) as err:
        conn.close()
        raise WarmUnavailable(f"the kernel template failed: {err}") from err
    except WarmUnavailable:
        conn.close()
        raise


def wait(conn: socket.socket, init: int, *, parent: int | None, lifetime: float) -> int:  # noqa: C901
    """Wait for the warm kernel, as launch.wait does for a cold one: SIGINT and SIGTERM are
    passed on; the kernel is killed when the launcher's parent dies or after `lifetime` s."""
    init_fd = os.pidfd_open(init)

    def send(word: bytes):
        with contextlib.suppress(OSError):
            conn.sendall(word + b"\n")

    def kill():
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(init_fd, signal.SIGKILL)

    signal.signal(signal.SIGINT, lambda *_: send(b"int"))
    signal.signal(signal.SIGTERM, lambda *_: send(b"term"))
    deadline = time.monotonic() + lifetime
    buffer, killed = b"", False
    try:
        while True:
            watched = [conn] + ([parent] if parent is not None else [])
            ready, _, _ = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))
            if conn in ready:
                data = b""
                with contextlib.suppress(OSError):
                    data = conn.recv(256)
                buffer += data
                if not data or b"\n" in buffer:
                    words = buffer.split()
                    if b"lifetime" in words and not killed:  # init was first to see it
                        print(f"{MARKER} kernel killed: it reached its wall-clock limit of {lifetime:g} s "
                              "(Limits.lifetime)", file=sys.stderr, flush=True)
                    return int(words[1]) if len(words) >= 2 and words[0] == b"exit" else 137
            elif parent is not None and parent in ready:
                kill()
                killed, parent, deadline = True, None, time.monotonic() + 5
            elif time.monotonic() >= deadline:
                if killed:  # killed, and init never said so: give up waiting
                    return 137
                print(f"{MARKER} kernel killed: it reached its wall-clock limit of {lifetime:g} s "
                      "(Limits.lifetime)", file=sys.stderr, flush=True)
                kill()
                killed, deadline = True, time.monotonic() + 5
    finally:
        kill()
        os.close(init_fd)
        conn.close()


# ---------------------------------------------------------------- the template's side

IMPORT_ENV: dict[str, str] = {}  # what the preloaded imports set in os.environ (scikit-learn's KMP_*)


def preload() -> None:
    import importlib

    before = dict(os.environ)
    for name in PRELOAD:
        importlib.import_module(name)
    IMPORT_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v and k != "MPLCONFIGDIR"})
    import matplotlib.font_manager
    import PIL.Image

    matplotlib.font_manager.fontManager  # noqa: B018 - the font list, read from the cache built at setup
    PIL.Image.preinit()  # its image plugins, as the first figure a kernel shows imports them


def warm_tracebacks() -> None:
    """Format one traceback as IPython does, so that no fork pays for it again (its first error
    cost a kernel or a shell about 0.1 s more than the next): inspect's table of every loaded
    module's file, pygments' Python lexer and its regular expressions. Only caches are filled:
    the exception is raised in a namespace of its own and not kept."""
    import inspect

    from IPython.core.ultratb import AutoFormattedTB

    inspect.getmodule(compile("pass", "<lrcourse-warm>", "exec"))
    try:
        exec(compile("def f():\n    1 / 0\nf()", "<lrcourse-warm>", "exec"), {})  # noqa: S102
    except ZeroDivisionError:
        AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info())


def keep_lexer_regexes() -> None:
    """Build each of pygments' keyword regular expressions once per template, not once per frame.

    IPython colours a traceback's code with stack_data, which makes a new lexer class for every
    frame it shows, and pygments then rebuilds that class's regular expressions from its word
    lists (`regex_opt`): about 2 ms of a failed assert's 8 ms and 20 ms of an error raised inside
    scikit-learn (50 ms). `regex_opt` is a pure function of its words, prefix and suffix; its
    results are kept here, in the template, so every fork shares them. The text a traceback shows
    is the same: a cold kernel's tracebacks equal a warm one's (test_warm)."""
    import functools

    import pygments.lexer
    import pygments.regexopt

    build = pygments.regexopt.regex_opt
    if getattr(pygments.lexer.regex_opt, "__wrapped__", None) is build:
        return
    kept = functools.lru_cache(maxsize=4096)(build)

    @functools.wraps(build)
    def regex_opt(strings, prefix="", suffix=""):
        words = tuple(strings)
        try:
            return kept(words, prefix, suffix)
        except TypeError:  # words that cannot be a key (unhashable): built each time, as before
            return build(words, prefix, suffix)

    regex_opt.cache_info = kept.cache_info
    pygments.lexer.regex_opt = regex_opt


def serve(path: Path, grader: int, grader_start: str) -> int:
    name_process("lrcourse-warm")
    preload()
    import gc

    from . import inside, shell  # noqa: F401 - what the forks run (they cannot reach the package's folder)

    with contextlib.suppress(Exception):  # speed-ups only
        keep_lexer_regexes()
        warm_tracebacks()
    gc.collect()
    gc.freeze()  # what the template holds is never collected again: forks keep sharing those pages
    try:
        watch = os.pidfd_open(grader)
    except OSError:
        return 0
    if cgroup.start_time(grader) != grader_start:
        return 0
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel, not waited for
    pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)  # its own, to return to after each fork_init
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = path.with_suffix(f".{os.getpid()}.new")
    listener.bind(str(staging))
    os.chmod(staging, 0o600)
    listener.listen(64)
    os.rename(staging, path)  # ready: launchers may connect
    if os.fork() != 0:  # the process that was started exits: the template is nobody's child to reap
        os._exit(0)
    try:
        while True:
            ready, _, _ = select.select([listener, watch], [], [], IDLE)
            if not ready or watch in ready:
                return 0
            conn, _ = listener.accept()
            try:
                fork_init(conn, pid_ns, (listener.fileno(), watch, pid_ns))
            except OSError:  # no fork, or the template could not return to its own namespace
                return 0
            finally:
                conn.close()
    finally:
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == os.fstat(listener.fileno()).st_ino:
                path.unlink()
        for leftover in (path.with_suffix(".log"), path.with_suffix(".lock")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def name_process(name: str) -> None:
    """What `ps`, `top` and `perf` show for this process (15 bytes at most; Linux only)."""
    with contextlib.suppress(AttributeError, OSError):  # no prctl: the name stays
        _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def fork_init(conn: socket.socket, pid_ns: int, template_fds: tuple[int, ...]) -> None:
    """Fork `init` for one request, PID 1 of a PID namespace of its own: the template unshares the
    namespace its next child is born in, forks, and returns to its own (`pid_ns`, its descriptor of
    it) for the requests after. The fork reads the request; the template never does. Raises
    OSError when the template cannot fork or return to its own namespace (it then stops; the next
    kernel starts a new one)."""
    fresh = _libc.unshare(CLONE_NEWPID) == 0
    try:
        child = os.fork()
    except OSError:
        if fresh:
            _check(_libc.setns(pid_ns, CLONE_NEWPID), "setns")
        raise
    if child == 0:
        code = 127
        try:
            for fd in template_fds:  # the template's listening socket, its watch, its namespace
                os.close(fd)
            code = run_init(conn, fresh)
        finally:
            os._exit(code)
    if fresh:
        _check(_libc.setns(pid_ns, CLONE_NEWPID), "setns")


def read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """The request line, and the file descriptors that came with it."""
    data, fds = b"", []
    while b"\n" not in data:
        chunk, got, _, _ = socket.recv_fds(conn, 1 << 16, 4)
        fds += got
        if not chunk:
            raise EOFError("the request ended early")
        data += chunk
    return json.loads(data.split(b"\n", 1)[0]), fds


def run_init(conn: socket.socket, fresh_pid_ns: bool) -> int:
    """PID 1 of the request's namespaces: fresh mount, network, IPC and UTS namespaces, the sandbox
    (`inside.prepare`), then the kernel or the shell as its child; it relays until that ends."""
    from . import inside

    name_process("lrcourse-init")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)  # the template's stderr is its log: not for the kernel
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.umask(0o022)
    fds: list[int] = []
    host_root: int | None = None
    try:
        if not fresh_pid_ns:
            raise RuntimeError("the template could not make a PID namespace for it (unshare CLONE_NEWPID)")
        request, fds = read_request(conn)
        if request.get("kind", "kernel") not in ("kernel", "shell") or (request.get("kind") == "shell") != bool(fds):
            raise ValueError("a shell request comes with its socket, a kernel request with none")
        limits = Limits(**request["limits"])
        host_pid = int(os.readlink("/proc/self"))  # still the host's /proc
        if request.get("early_pid"):  # the provisioner connects to the kernel's sockets while init prepares
            conn.sendall(f"pid {host_pid}\n".encode())
        if request.get("pids_cgroup"):
            cgroup.enter(Path(request["pids_cgroup"]))  # the kernel, its child, follows
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        inside.mount(None, "/", None, MS_REC | MS_PRIVATE)
        uid, gid = request["uid"], request["gid"]
        if request.get("ahead"):  # started before its notebook: the submission is copied in on `go`
            host_root = os.open("/", os.O_PATH | os.O_DIRECTORY)
        source = None if host_root is not None else request["source"]
        skipped = inside.prepare(root=Path(request["root"]), source=source,
                                 connection_file=request["connection_file"], uid=uid, gid=gid,
                                 python_dirs=request["python_dirs"], limits=limits,
                                 pids_cgroup=bool(request.get("pids_cgroup")))
    except Exception as err:  # noqa: BLE001 - reported to the launcher, which falls back loudly
        with contextlib.suppress(OSError):
            conn.sendall(f"error: {type(err).__name__}: {err}\n".encode())
        return 1
    if skipped:
        conn.sendall(inside.skipped_note(skipped).encode())
    conn.sendall(f"ok {host_pid}\n".encode())
    # Python's KeyboardInterrupt here would end PID 1, and the namespace with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    child = os.fork()
    if child == 0:
        try:
            conn.close()  # the connection to the grading process is init's alone
            if host_root is not None:  # and so is the way out of the sandbox (become_sandboxed closes all, too)
                os.close(host_root)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if request.get("kind") == "shell":
                run_shell(request, uid, gid, fds[0])
            else:
                run_kernel(request, uid, gid)
        finally:
            os._exit(127)
    for fd in fds:  # the shell's socket is the shell's alone
        os.close(fd)
    if host_root is not None:
        ended = await_notebook(conn, child, host_root, request, limits)
        if ended is not None:
            return ended
    return relay(conn, child, limits.lifetime)


AHEAD_WAIT = 120  # seconds a kernel started ahead waits for its notebook; then it is ended


def await_notebook(conn: socket.socket, child: int, host_root: int, request: dict, limits: Limits) -> int | None:
    """A kernel started ahead of its notebook (`ahead`; it has started and waits, idle): wait for
    `go {"source": folder}`, copy that submission folder in (`inside.copy_in`), say `copied`, and
    return None: the kernel's lifetime counts from then (`relay`). Returns init's exit code
    instead when the connection closes or says anything else, when AHEAD_WAIT passes, or when the
    kernel ends first (`exit N` goes back)."""
    from . import inside

    watch = os.pidfd_open(child)
    deadline, data = time.monotonic() + AHEAD_WAIT, b""
    try:
        while b"\n" not in data:
            left = deadline - time.monotonic()
            ready = select.select([conn, watch], [], [], left)[0] if left > 0 else []
            if watch in ready:
                status = _reap(child)
                if status is not None:
                    return _report_exit(conn, status)
                continue
            chunk = b""
            if conn in ready:
                with contextlib.suppress(OSError):
                    chunk = conn.recv(1 << 16)
            if not chunk:  # closed, or not wanted in time
                return 128 + signal.SIGKILL
            data += chunk
        word, _, rest = data.split(b"\n", 1)[0].partition(b" ")
        if word != b"go":
            return 128 + signal.SIGKILL
        skipped = inside.copy_in(host_root, str(json.loads(rest)["source"]), uid=request["uid"],
                                 gid=request["gid"], budget=limits.copy)
        if skipped:
            conn.sendall(inside.skipped_note(skipped).encode())
        conn.sendall(b"copied\n")
        return None
    except Exception as err:  # noqa: BLE001 - reported to the grading process, which starts another kernel
        with contextlib.suppress(OSError):
            conn.sendall(f"error: {type(err).__name__}: {err}\n".encode())
        return 1
    finally:
        os.close(watch)
        os.close(host_root)


def relay(conn: socket.socket, child: int, lifetime: float) -> int:
    """init's watch over its child (the kernel or the shell): `int` and `term` from the launcher
    become SIGINT and SIGTERM to it; the launcher closing its end, or any other word, ends init and
    with it the namespace; at the wall-clock `lifetime` the child is killed. When it has ended,
    `exit N` goes back. Orphans of the namespace, reparented to init, are reaped as they end."""
    watch = os.pidfd_open(child)
    deadline, expired = time.monotonic() + lifetime, False  # the launcher may watch it too
    while True:
        wait = 1.0 if expired else max(0.0, min(1.0, deadline - time.monotonic()))
        ready, _, _ = select.select([conn, watch], [], [], wait)
        status = _reap(child)
        if status is not None:
            return _report_exit(conn, status, " lifetime" if expired else "")
        if not expired and time.monotonic() >= deadline:  # the kernel's wall-clock lifetime is over
            expired = True
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
            continue
        if conn not in ready:
            continue
        data = b""
        with contextlib.suppress(OSError):
            data = conn.recv(256)
        # every word that arrived (`int` and `kill` sent together are two signals); a closed
        # connection (its launcher or grading process has gone) or any other word ends the sandbox
        for word in data.split() or [b""]:
            signum = {b"int": signal.SIGINT, b"term": signal.SIGTERM}.get(word)
            if signum is None:
                return 128 + signal.SIGKILL
            with contextlib.suppress(OSError):
                os.kill(child, signum)


def _report_exit(conn: socket.socket, status: int, why: str = "") -> int:
    """Send the child's `exit N` (and `why`) back over the connection; N, init's own exit code."""
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    with contextlib.suppress(OSError):
        conn.sendall(f"exit {code}{why}\n".encode())
    return code


def _reap(child: int) -> int | None:
    """Reap every ended process of the namespace; the wait status of `child` if it was one."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == child:
            found = status


def drop_privileges(uid: int, gid: int) -> None:
    """What `setpriv --reuid --regid --clear-groups --no-new-privs --inh-caps=-all
    --bounding-set=-all` does for a cold kernel, without an exec."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    # The inheritable set: capset(2) with an empty set for this thread.
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
        raise RuntimeError("the kernel did not become the sandbox user")


def become_sandboxed(request: dict, uid: int, gid: int, argv: list[str], keep: int | None = None) -> None:
    """The fork becomes the sandbox user's process, as a cold one starts: no other files open
    (but `keep`), the kernel's environment, `argv`, `sys.path`, a fresh random seed."""
    drop_privileges(uid, gid)
    top = os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 1 << 16
    if keep is None:
        os.closerange(3, top)
    else:
        os.closerange(3, keep)
        os.closerange(keep + 1, top)
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.update(IMPORT_ENV)  # as the same imports in a cold kernel leave it
    sys.argv = argv
    # As `python -m` started in WORKDIR sets it, without the template's folders that do not exist in
    # the sandbox (a cold kernel's site.py leaves those out)
    sys.path[:] = [WORKDIR] + [p for p in sys.path[1:] if not p or p.endswith(".zip") or os.path.exists(p)]
    if "numpy" in sys.modules:  # one fresh seed per kernel, as an interpreter of its own gets
        sys.modules["numpy"].random.seed()


def run_shell(request: dict, uid: int, gid: int, fd: int) -> None:
    """The verifier's shell (shell.py) on socket `fd`, instead of a kernel."""
    from . import shell

    name_process("lrcourse-shell")
    become_sandboxed(request, uid, gid, ["lrcourse-verifier"], keep=fd)
    limit = int(request.get("reply_limit") or shell.REPLY_LIMIT)
    if request.get("prefix") is not None:  # a verifier template: forks one shell per notebook
        code = shell.serve_forks(fd, [str(c) for c in request["prefix"]], request.get("timeout"), limit,
                                 float(request["fork_lifetime"]))
    else:
        code = shell.serve(fd, limit)
    atexit._run_exitfuncs()
    os._exit(code)


def run_kernel(request: dict, uid: int, gid: int) -> None:
    import runpy

    name_process("lrcourse-kernel")
    become_sandboxed(request, uid, gid, ["ipykernel_launcher", "-f", f"{RUN_DIR}/kernel.json",
                                         *request["kernel_args"]])
    code = 0
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lrcourse.sandbox.warm")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--grader", type=int, required=True)
    parser.add_argument("--grader-start", required=True)
    args = parser.parse_args(argv)
    return serve(Path(args.socket), args.grader, args.grader_start)


if __name__ == "__main__":
    sys.exit(main())
