"""Stage two of the sandbox: runs as root inside the new namespaces, starts the kernel, stays.

Started by `unshare --kill-child` (see launch.py) as PID 1 of a fresh PID namespace,
with fresh mount, network, IPC and UTS namespaces, and /dev/null as stdin, stdout and
stderr (what it has to say goes through --status-fd). Steps, in order:

  loopback   bring up `lo` (the namespace has no other interface: no network)
  root       a tmpfs with read-only binds of the system and Python folders only
  devices    /dev/null, zero, full, random, urandom; /proc of the new PID namespace
  writable   tmpfs HOME (with the submission copy, no .ipynb), /tmp, /dev/shm and
             RUN_DIR (the kernel's connection file and ipc sockets), each size-capped
  seal       remount the root read-only, chroot into it
  limits     rlimits (address space, CPU, processes, open files, file size, no core)
  kernel     fork; the child execs `setpriv` as the sandbox user (no groups, no
             capabilities, no_new_privs), which execs the kernel
  init       this process stays PID 1: root, so the kernel cannot signal it, and
             killed by `unshare` when unshare dies (PR_SET_PDEATHSIG, which setpriv's
             change of user would have cleared on the kernel itself). When PID 1 dies
             the kernel kills everything in the namespace. It passes SIGTERM on,
             reaps orphans and exits with the kernel's status.

The status fd gets `note: ...` lines, then `ok <host pid of this process>` just
before the kernel starts, or `error: ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import sys
from pathlib import Path

from . import HOME, RUN_DIR, RUN_SIZE, WORKDIR, Limits, font_cache_dir

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND = 32, 4096
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0, data: str | None = None):
    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def bind(source: str, target: str, readonly: bool = True) -> None:
    mount(source, target, None, MS_BIND)
    if readonly:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, ifr))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def inner(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def build_root(root: Path, *, python_dirs: list[str], limits: Limits, uid: int, gid: int) -> None:
    mount("lrcourse-sandbox", str(root), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for path in SYSTEM:
        if os.path.islink(path):
            os.symlink(os.readlink(path), inner(root, path))
        elif os.path.isdir(path):
            inner(root, path).mkdir(parents=True)
            bind(path, str(inner(root, path)))
    dev = inner(root, "/dev")
    dev.mkdir()
    for name in DEVICES:
        (dev / name).touch()
        bind(f"/dev/{name}", str(dev / name), readonly=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, dev / name)
    (dev / "shm").mkdir()
    mount("shm", str(dev / "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
    inner(root, "/proc").mkdir()
    mount("proc", str(inner(root, "/proc")), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in ("/tmp", "/home"):
        inner(root, path).mkdir()
        mount("lrcourse-sandbox", str(inner(root, path)), "tmpfs", MS_NOSUID | MS_NODEV,
              f"size={limits.disk},mode={'1777' if path == '/tmp' else '0755'}")
    # The interpreter and the virtual environment, wherever they are (even under /tmp or
    # /home: bound last, on top of the tmpfs mounted there).
    for path in python_dirs:
        target = inner(root, path)
        if target.is_dir() and any(target.iterdir()):
            continue  # already inside a folder bound above
        target.mkdir(parents=True, exist_ok=True)
        bind(path, str(target))
    # The kernel's sockets: a tiny tmpfs of its own, never a folder of the host (the launcher
    # reaches it through /proc/<pid>/root).
    run = inner(root, RUN_DIR)
    run.mkdir(parents=True)
    mount("lrcourse-sandbox", str(run), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={RUN_SIZE},nr_inodes=64,mode=0700,uid={uid},gid={gid}")


def write_connection_file(host_file: str | dict, target: Path, *, uid: int, gid: int) -> None:
    """The client's connection file (or its contents), for the kernel: same key and ports, ipc
    sockets in RUN_DIR."""
    connection = host_file if isinstance(host_file, dict) else json.loads(Path(host_file).read_text())
    if connection.get("transport", "tcp") != "tcp":
        raise RuntimeError(f"the client uses the {connection['transport']!r} transport, not tcp")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dict(connection, transport="ipc", ip=f"{RUN_DIR}/kernel"), f)
    os.chown(target, uid, gid)


def copy_submission(source: Path, target: Path, *, uid: int, gid: int, budget: int) -> list[str]:
    """Copy regular files of the submission folder, except notebooks; returns what was skipped."""
    skipped = []
    target.mkdir(parents=True, exist_ok=True)  # made empty already for a kernel started ahead (`prepare`)
    os.chown(target, uid, gid)
    for folder, dirs, files in os.walk(source, followlinks=False):
        rel = Path(folder).relative_to(source)
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints" and not os.path.islink(os.path.join(folder, d))]
        for d in dirs:
            (target / rel / d).mkdir()
            os.chown(target / rel / d, uid, gid)
        for name in files:
            src = Path(folder) / name
            st = os.lstat(src)
            if name.lower().endswith(".ipynb") or not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size > budget:
                skipped.append(str(rel / name))
                continue
            budget -= st.st_size
            shutil.copyfile(src, target / rel / name, follow_symlinks=False)
            os.chown(target / rel / name, uid, gid)
    return skipped


def seed_home(home: Path, venv: str, *, uid: int, gid: int) -> None:
    """HOME for the sandbox user, with matplotlib's font cache from setup (no rebuild per kernel)."""
    home.mkdir(mode=0o700)
    cache = font_cache_dir(venv)
    target = home / ".cache" / "matplotlib"
    target.mkdir(parents=True)
    for f in cache.glob("fontlist-*.json"):
        shutil.copyfile(f, target / f.name)
    for path in [home, *home.rglob("*")]:
        os.chown(path, uid, gid)


def apply_limits(limits: Limits, *, pids_cgroup: bool) -> None:
    """rlimits of the kernel. With a pids cgroup per kernel, RLIMIT_NPROC stays the grader's own:
    it counts every process of the sandbox user, all kernels together, so a low one would let one
    submission starve the others."""
    values = [(resource.RLIMIT_AS, limits.memory), (resource.RLIMIT_CPU, limits.cpu),
              (resource.RLIMIT_NOFILE, limits.nofile), (resource.RLIMIT_FSIZE, limits.fsize),
              (resource.RLIMIT_CORE, 0)]
    if not pids_cgroup:
        values.append((resource.RLIMIT_NPROC, limits.nproc))
    for which, value in values:
        resource.setrlimit(which, (value, value))


def exec_kernel(command: list[str]):
    """The cold start: the kernel's child execs `command` (setpriv, then the kernel)."""
    def start() -> None:
        os.execve(command[0], command, os.environ.copy())
    return start


def run_init(start) -> int:
    """Start the kernel as a child (`start()` in a fresh fork; it must not return), stay PID 1
    until it ends; returns its exit status. Interrupts (SIGINT to the launcher's process group)
    reach the kernel directly; SIGTERM is passed on. (A warm kernel's init is warm.run_init.)"""
    # Python's KeyboardInterrupt here would end PID 1, and the namespace with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    kernel = os.fork()
    if kernel == 0:
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            start()
        finally:
            os._exit(127)

    def pass_on(signum, _frame):
        with contextlib.suppress(OSError):
            os.kill(kernel, signum)

    signal.signal(signal.SIGTERM, pass_on)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)  # orphans of the namespace are reparented here
        except ChildProcessError:
            return 127
        if pid == kernel:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def prepare(*, root: Path, source: str | None, connection_file: str | dict | None, uid: int, gid: int,
            python_dirs: list[str], limits: Limits, pids_cgroup: bool) -> list[str]:
    """Steps loopback to limits (see the module docstring), run as root in fresh namespaces.
    Ends chrooted in the sealed root, in WORKDIR. Returns the submission files not copied."""
    loopback_up()
    build_root(root, python_dirs=python_dirs, limits=limits, uid=uid, gid=gid)
    if connection_file:  # a kernel's (the verifier's shell has none: sandbox/shell.py)
        write_connection_file(connection_file, inner(root, RUN_DIR) / "kernel.json", uid=uid, gid=gid)
    seed_home(inner(root, HOME), sys.prefix, uid=uid, gid=gid)
    if source is None:  # a kernel started ahead of its notebook: the submission comes later (`copy_in`)
        inner(root, WORKDIR).mkdir(parents=True)
        os.chown(inner(root, WORKDIR), uid, gid)
        skipped = []
    else:
        skipped = copy_submission(Path(source), inner(root, WORKDIR), uid=uid, gid=gid, budget=limits.copy)
    mount(None, str(root), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chroot(root)
    os.chdir(WORKDIR)
    apply_limits(limits, pids_cgroup=pids_cgroup)
    return skipped


def copy_in(host_root: int, source: str, *, uid: int, gid: int, budget: int) -> list[str]:
    """The submission, copied into WORKDIR of a sandbox that is sealed already (its kernel started
    ahead): read through `host_root`, init's descriptor of the host's root, taken before the chroot."""
    return copy_submission(Path(f"/proc/self/fd/{host_root}") / source.lstrip("/"), Path(WORKDIR),
                           uid=uid, gid=gid, budget=budget)


def skipped_note(skipped: list[str]) -> str:
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return f"note: submission files over the size limit, not copied: {', '.join(skipped[:5])}{more}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lrcourse.sandbox.inside")
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--source", required=True, help="nbgrader's working folder for the kernel")
    parser.add_argument("--root", required=True, help="empty host folder to mount the new root on")
    parser.add_argument("--connection-file", required=True, help="the client's connection file (host path)")
    parser.add_argument("--pids-cgroup", action="store_true", help="the launcher put us in a pids cgroup")
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--gid", type=int, required=True)
    parser.add_argument("--python-dir", action="append", default=[])
    Limits.add_arguments(parser)
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    status = os.fdopen(args.status_fd, "w")
    limits = Limits.from_args(args)
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    os.umask(0o022)  # folders made for the root are traversable by the sandbox user
    try:
        host_pid = int(os.readlink("/proc/self"))  # still the host's /proc: the launcher's view of us
        skipped = prepare(root=Path(args.root), source=args.source, connection_file=args.connection_file,
                          uid=args.uid, gid=args.gid, python_dirs=args.python_dir, limits=limits,
                          pids_cgroup=args.pids_cgroup)
        if not os.access("/usr/bin/setpriv", os.X_OK):
            raise RuntimeError("setpriv is not available inside the sandbox root")
    except Exception as err:  # reported to the launcher, which falls back loudly
        status.write(f"error: {type(err).__name__}: {err}\n")
        status.close()
        return 1
    if skipped:
        status.write(skipped_note(skipped))
    status.write(f"ok {host_pid}\n")
    status.close()
    setpriv = ["/usr/bin/setpriv", f"--reuid={args.uid}", f"--regid={args.gid}", "--clear-groups",
               "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    return run_init(exec_kernel(setpriv + kernel))


if __name__ == "__main__":
    sys.exit(main())
