"""One pids cgroup per sandboxed kernel: its own process and thread limit (`pids.max`).

RLIMIT_NPROC counts every process of a user, machine-wide: with one sandbox user,
one submission holding the limit's worth of threads keeps every other student's
kernel from starting. A cgroup counts only its own members, so each kernel gets
`Limits.nproc` for itself.

The launcher (root, host side) makes `<pids hierarchy>/lrcourse/<pid>-<start time>`,
writes `pids.max` and moves `unshare` into it before exec (a preexec step), so the
whole sandbox (its two root helpers, the kernel, its threads and children) is
counted there. When the kernel has gone the launcher removes the cgroup; folders
left by launchers that were killed are swept by the next launcher (members killed
first).

Both cgroup versions are used: v2 where its `pids` controller is available (the
course's folder then enables `+pids` for its children), else v1's `pids` hierarchy.
None of them writable (a container, a machine without cgroups): `create` returns
None, and the sandbox falls back to RLIMIT_NPROC of the one sandbox user (shared by
all kernels, see docs/sandbox.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

GROUP = "lrcourse"


def hierarchy() -> tuple[str, Path] | None:
    """("v2" | "v1", mount point) of a cgroup hierarchy with the pids controller, v2 first."""
    found: dict[str, Path] = {}
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        parts = line.split()
        if len(parts) < 4:
            continue
        point, fstype, options = Path(parts[1]), parts[2], parts[3].split(",")
        if fstype == "cgroup2" and "v2" not in found:
            with contextlib.suppress(OSError):
                if "pids" in (point / "cgroup.controllers").read_text().split():
                    found["v2"] = point
        elif fstype == "cgroup" and "pids" in options and "v1" not in found:
            found["v1"] = point
    for version in ("v2", "v1"):
        if version in found:
            return version, found[version]
    return None


def _course_group(version: str, mount: Path) -> Path:
    group = mount / GROUP
    group.mkdir(exist_ok=True)
    if version == "v2":  # children of the course's group may use pids.max
        for folder in (mount, group):
            control = folder / "cgroup.subtree_control"
            if "pids" not in control.read_text().split():
                control.write_text("+pids")
    return group


def available() -> str | None:
    """"cgroup v2" / "cgroup v1" when kernels get a pids cgroup each here, else None."""
    found = hierarchy()
    if found is None:
        return None
    try:
        _course_group(*found)
    except OSError:
        return None
    return f"cgroup {found[0]}"


def _stat(pid: int, field: int) -> str:
    """Field `field` of /proc/<pid>/stat after the command name (which may hold spaces and
    parentheses); "0" when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[field]
    except (OSError, IndexError):
        return "0"


def start_time(pid: int) -> str:
    return _stat(pid, 19)


def parent(pid: int) -> int:
    """The parent's pid; 0 when the process is gone."""
    return int(_stat(pid, 1))


def create(max_pids: int, tag: str = "") -> Path | None:
    """A fresh cgroup for this launcher's kernel with pids.max set, or None where that cannot be.
    `tag` tells apart the cgroups one process holds at once (the grading process's verifier)."""
    found = hierarchy()
    if found is None:
        return None
    try:
        group = _course_group(*found)
        sweep(group)
        cgroup = group / "-".join([str(os.getpid()), start_time(os.getpid()), *([tag] if tag else [])])
        cgroup.mkdir()
        (cgroup / "pids.max").write_text(str(max_pids))
        return cgroup
    except OSError:
        return None


def enter(cgroup: Path) -> None:
    """Move the calling process into `cgroup` (its children follow). Safe in a preexec step."""
    with open(cgroup / "cgroup.procs", "w") as f:
        f.write(str(os.getpid()))


def members(cgroup: Path) -> list[int]:
    try:
        return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def remove(cgroup: Path, wait: float = 2.0) -> bool:
    """Kill what is left in `cgroup` and remove it; False when it is still busy after `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        for pid in members(cgroup):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            cgroup.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def sweep(group: Path) -> None:
    """Remove the cgroups of launchers that are gone (SIGKILL skips their own cleanup)."""
    for cgroup in group.iterdir():
        pid, _, rest = cgroup.name.partition("-")
        started = rest.split("-")[0]
        if cgroup.is_dir() and pid.isdigit() and start_time(int(pid)) != started:
            remove(cgroup, wait=0)
