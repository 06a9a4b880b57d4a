"""Submission files are data: what `lrcourse grade` lets through to nbgrader.

nbgrader copies a submission with `shutil.copy`, which follows links and opens anything,
as whoever grades. So grading never hands nbgrader the student's folder: `stage` walks
`submitted/<student>/<assignment>/` with `lstat` only (no link is followed, nothing but a
regular file is opened, sizes are checked before a byte is read), copies what is plain
data into a staging folder that nbgrader reads instead, and says per file why anything
else was left out:

* symbolic links (to anything: source/, the gradebook, another student, /proc/...) and
  hard links (a second name of some other file)
* special files: FIFOs, sockets, devices
* files over MAX_FILE_BYTES (notebooks: MAX_NOTEBOOK_BYTES), sparse files, files past
  MAX_TOTAL_BYTES or MAX_FILES, folders deeper than MAX_DEPTH
* modules that would shadow a library of the kernel: `numpy.py`, `scipy/__init__.py`,
  `json.py` ... beside the notebook (the kernel's working folder is first on sys.path)

The student's own files are never changed. `digest` is the streaming, capped fingerprint
of a submission folder that the status store uses; it never follows a link either.
"""

from __future__ import annotations

import importlib.machinery
import os
import stat
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MAX_NOTEBOOK_BYTES = 25 * 2**20
MAX_FILE_BYTES = 100 * 2**20
MAX_TOTAL_BYTES = 200 * 2**20  # what the sandbox copies into the kernel's folder at most
MAX_FILES = 1000
MAX_DEPTH = 8
SPARSE_MIN_BYTES = 2**20  # a file this big with under 1/8 of it on disk is sparse
CHUNK = 2**20

# Libraries the tests import, named even where pkgutil cannot list them (namespace packages).
LIBRARIES = {"numpy", "pandas", "sklearn", "scipy", "statsmodels", "matplotlib", "mpl_toolkits",
             "IPython", "ipykernel", "nbformat", "nbgrader", "lrcourse"}
# Student ids go into paths that nbgrader globs (generate_feedback) and into the gradebook.
GLOB_CHARS = set("*?[]")
MAX_ID_LENGTH = 128  # nbgrader's Student.id column


def size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


@lru_cache(maxsize=1)
def shadowed_modules() -> frozenset[str]:
    """Top-level module names a file beside the notebook must not take: the standard
    library's and every module installed where the grading (and kernel) Python looks."""
    import pkgutil

    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names) | LIBRARIES
    cwd = os.path.realpath(os.getcwd())
    for entry in sys.path:
        if entry and os.path.isdir(entry) and os.path.realpath(entry) != cwd:
            names.update(m.name for m in pkgutil.iter_modules([entry]))
    return frozenset(names)


def module_name(filename: str) -> str | None:
    """The module an import would find in this file (`numpy.py` -> numpy), or None."""
    for suffix in sorted(importlib.machinery.all_suffixes(), key=len, reverse=True):
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return None


def student_id_problem(student: str) -> str | None:
    """Why nbgrader cannot take this folder name as a student id, or None when it can.

    Spaces, commas, quotes and non-ASCII letters are fine (exports quote them);
    refused are what nbgrader's globbing, its path regexes or its gradebook cannot hold.
    """
    why = None
    if student != student.strip():
        why = "starts or ends with whitespace"
    elif student.startswith("."):
        why = "starts with '.' (nbgrader's folder globs skip it)"
    elif GLOB_CHARS & set(student):
        why = f"contains {''.join(sorted(GLOB_CHARS & set(student)))!r} (glob characters nbgrader cannot match)"
    elif any(not ch.isprintable() for ch in student):
        why = "contains control or non-printable characters"
    elif len(student) > MAX_ID_LENGTH:
        why = f"is longer than {MAX_ID_LENGTH} characters"
    else:
        try:
            student.encode("utf-8")
        except UnicodeEncodeError:
            why = "is not valid UTF-8"
    return f"student id {student!r} refused: {why}; rename the submitted folder" if why else None


@dataclass
class Staged:
    notebooks: list[str] = field(default_factory=list)  # top-level .ipynb names copied to staging
    refused: dict[str, str] = field(default_factory=dict)  # relative path: why it was left out
    folder_problem: str | None = None  # the submission folder itself is unusable: nothing staged


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return f"a special file (mode {stat.filemode(mode)})"


def regular_file_problem(rel: str, st: os.stat_result, top: bool, total: int) -> str | None:
    """Why a regular file (by its lstat) may not be graded, or None."""
    name = rel.rsplit("/", 1)[-1]
    limit = MAX_NOTEBOOK_BYTES if top and name.endswith(".ipynb") else MAX_FILE_BYTES
    on_disk = st.st_blocks * 512
    sparse = st.st_size >= SPARSE_MIN_BYTES and on_disk * 8 < st.st_size
    if sparse:
        return (f"a sparse file of {size_text(st.st_size)} ({size_text(on_disk)} on disk); "
                f"files are limited to {size_text(limit)}")
    if st.st_size > limit:
        return f"too large: {size_text(st.st_size)}, over the limit of {size_text(limit)}"
    if st.st_nlink > 1:
        return f"a hard link ({st.st_nlink} names for one file): links are never followed"
    if total + st.st_size > MAX_TOTAL_BYTES:
        return f"the submission is over {size_text(MAX_TOTAL_BYTES)} with this file ({size_text(st.st_size)})"
    parts = rel.split("/")
    if len(parts) == 1 and module_name(name) in shadowed_modules():
        return f"shadows the library module {module_name(name)!r} (a module beside the notebook is imported first)"
    if (len(parts) == 2 and parts[0] in shadowed_modules() and module_name(name) == "__init__"):
        return f"shadows the library package {parts[0]!r} (a package beside the notebook is imported first)"
    return None


def walk(folder: Path):
    """(relative path, lstat result or the OSError) of every entry under `folder`, links not
    followed, folders past MAX_DEPTH or unreadable reported as entries of their own."""
    stack = [("", 0)]
    while stack:
        rel_dir, depth = stack.pop()
        try:
            with os.scandir(folder / rel_dir if rel_dir else folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            yield rel_dir, err
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as err:
                yield rel, err
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 >= MAX_DEPTH:
                    yield rel, OSError(f"a folder nested deeper than {MAX_DEPTH} levels")
                else:
                    stack.append((rel, depth + 1))
                continue
            yield rel, st
        stack.sort(reverse=True)  # depth-first, in name order


def entry_problem(rel: str, st) -> str | None:
    """Why an entry that is not a regular file is refused (None for regular files)."""
    if isinstance(st, OSError):
        return f"could not be read: {st.strerror or st}" if st.strerror else str(st)
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link: links are never followed or copied"
    if not stat.S_ISREG(st.st_mode):
        return f"{kind_of(st.st_mode)}: only regular files are graded"
    return None


def open_regular(path: Path) -> int:
    """Open a file for reading without following a link or blocking on a FIFO; only a
    regular file is accepted (what lstat said may have changed since)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file any more")
        return fd
    except BaseException:
        os.close(fd)
        raise


def copy_capped(src: Path, dest: Path, limit: int) -> None:
    fd = open_regular(src)
    written = 0
    try:
        with open(dest, "wb") as out:
            while chunk := os.read(fd, CHUNK):
                written += len(chunk)
                if written > limit:
                    raise OSError(f"grew past {size_text(limit)} while being copied")
                out.write(chunk)
    finally:
        os.close(fd)


def folder_problem(folder: Path, stop: Path) -> str | None:
    """Why the submission folder itself is unusable (a link, not a folder), checked for every
    component from `stop` down (submitted/<student>/<assignment>)."""
    path = folder
    while True:
        try:
            st = os.lstat(path)
        except OSError as err:
            return f"the submission folder could not be read: {err.strerror or err}"
        if stat.S_ISLNK(st.st_mode):
            return f"the submission folder {path.relative_to(stop.parent)} is a symbolic link: refused"
        if not stat.S_ISDIR(st.st_mode):
            return f"{path.relative_to(stop.parent)} is not a folder"
        if path == stop or path.parent == path:
            return None
        path = path.parent


def stage(folder: Path, dest: Path, stop: Path) -> Staged:
    """Copy the plain-data files of `folder` into `dest` (created afresh); say why others were not."""
    staged = Staged()
    staged.folder_problem = folder_problem(folder, stop)
    dest.mkdir(parents=True, exist_ok=True)
    if staged.folder_problem:
        return staged
    total = count = 0
    for rel, st in walk(folder):
        why = entry_problem(rel, st)
        top = "/" not in rel
        if why is None:
            count += 1
            why = (f"more than {MAX_FILES} files in the submission" if count > MAX_FILES
                   else regular_file_problem(rel, st, top, total))
        if why is None:
            target = dest / rel
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                limit = MAX_NOTEBOOK_BYTES if top and rel.endswith(".ipynb") else MAX_FILE_BYTES
                copy_capped(folder / rel, target, limit)
            except OSError as err:
                target.unlink(missing_ok=True)
                why = f"could not be copied: {err.strerror or err}"
        if why:
            staged.refused[rel] = why
            continue
        total += st.st_size
        if top and rel.endswith(".ipynb"):
            staged.notebooks.append(rel)
    return staged


def digest(h, folder: Path, kind: str = "submitted") -> None:
    """Feed `h` with what a submission folder (submitted/<student>/<assignment>) holds,
    streaming, capped, links not followed: regular files by content (at most their size
    cap), links by their target's name, anything else by type and size."""
    problem = folder_problem(folder, folder.parent)
    if problem:
        h.update(f"{kind}:!{problem}\n".encode())
        return
    for count, (rel, st) in enumerate(walk(folder)):
        if count >= MAX_FILES:
            h.update(f"{kind}:!more than {MAX_FILES} files\n".encode())
            return
        if isinstance(st, OSError):
            h.update(f"{kind}:{rel}:!{st}\n".encode())
            continue
        h.update(f"{kind}:{rel}:{stat.S_IFMT(st.st_mode)}:{st.st_size}\n".encode())
        if stat.S_ISLNK(st.st_mode):
            try:
                h.update(os.fsencode(os.readlink(folder / rel)))
            except OSError as err:
                h.update(str(err).encode())
        elif stat.S_ISREG(st.st_mode):
            digest_file(h, folder / rel, st)
        else:
            h.update(f"{st.st_mtime_ns}".encode())


def digest_file(h, path: Path, st: os.stat_result) -> None:
    if st.st_size > MAX_FILE_BYTES or (st.st_size >= SPARSE_MIN_BYTES and st.st_blocks * 512 * 8 < st.st_size):
        h.update(f"unread:{st.st_mtime_ns}:{st.st_ino}".encode())  # refused anyway: never read
        return
    try:
        fd = open_regular(path)
    except OSError as err:
        h.update(f"!{err}".encode())
        return
    try:
        left = MAX_FILE_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(CHUNK, left))):
            h.update(chunk)
            left -= len(chunk)
    except OSError as err:
        h.update(f"!{err}".encode())
    finally:
        os.close(fd)


def fingerprint_paths(h, paths: list[tuple[str, Path]]) -> None:
    """Feed `h` with course files (config, source notebooks): name, size, content, streamed."""
    for kind, path in paths:
        try:
            st = os.lstat(path)
        except OSError as err:
            h.update(f"{kind}:{path.name}:!{err}\n".encode())
            continue
        h.update(f"{kind}:{path.name}:{st.st_size}\n".encode())
        digest_file(h, path, st)
