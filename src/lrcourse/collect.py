"""Verb `collect`: fill submitted/ from cloned student repositories.

Steps, for each repository found under REPOS_DIR (`<assignment>-submissions/<repo>-<user>/`
as `gh classroom clone student-repos` lays them out, or plain clones `<prefix>-<user>/`):

  1. who       the GitHub username: exactly what follows `<prefix>-` in the folder name; the
               student id from the roster (a repository that matches no roster username is
               reported and not collected; one student's collection is never overwritten by
               another's repository)
  2. when      the last commit at or before the deadline (committer time; default: HEAD); late
               commits counted, implausible dates reported (`commits.py`)
  3. what      each release notebook at that commit: by name at the top level, else the
               notebook holding most of its nbgrader grade ids (renamed or moved)
  4. write     submitted/<student id>/logistic_regression/: the notebooks, timestamp.txt
               (the commit's time, in nbgrader's format) and collect.json (where it came from,
               which dates were used, what was doubtful), replaced only when it changed

Repositories are only read (`git rev-list`, `git ls-tree`, `git cat-file` with
GIT_OPTIONAL_LOCKS=0): nothing in them changes. Running it twice gives the same result.
Roster students are added to the gradebook with their names, so exports carry them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook

from . import commits as dates
from .commits import TIMESTAMP_FORMAT, parse_time, show
from .course import Course, CourseError
from .roster import RosterEntry, identify, read_roster

METADATA = "collect.json"  # provenance of a collection, next to timestamp.txt
MATCH_SHARE = 0.5  # a renamed notebook must carry at least half the release notebook's grade ids


@dataclass
class RepoReport:
    folder: Path
    username: str
    student: str
    commit: str | None = None
    timestamp: str | None = None
    state: str = "skipped"  # collected | updated | unchanged | skipped | unmatched | error
    notes: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)  # why the commit's date cannot be taken at face value

    def line(self) -> str:
        head = f"  {self.student}" + (f" ({self.username})" if self.username != self.student else "")
        what = self.state + (f" commit {self.commit[:10]} of {self.timestamp}" if self.commit else "")
        return "\n".join([f"{head}: {what}  [{self.folder.name}]", *[f"      {n}" for n in self.notes],
                          *[f"      DATE DOUBTFUL: {d}" for d in self.doubts]])


@dataclass
class CollectResult:
    repos: list[RepoReport]
    roster_without_repo: list[str]
    header: list[str] = field(default_factory=list)  # the deadline and prefix used, in words

    @property
    def exit_code(self) -> int:
        return 1 if any(r.state == "error" for r in self.repos) else 0

    def summary(self) -> str:
        lines = [*self.header, *[r.line() for r in self.repos]]
        lines += [f"  {s}: on the roster, no repository found" for s in self.roster_without_repo]
        counts = {s: sum(r.state == s for r in self.repos)
                  for s in ("collected", "updated", "unchanged", "skipped", "unmatched", "error")}
        doubtful = sum(bool(r.doubts) for r in self.repos)
        lines.append("collect: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
                     + (f", {doubtful} with doubtful dates" if doubtful else "")
                     + f" ({len(self.repos)} repositories)")
        return "\n".join(lines)


# --- reading repositories (never writing them) ------------------------------------------------

def git(repo: Path, *args: str, binary: bool = False):
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(repo), *args],
                          capture_output=True, env=env, text=not binary)
    if proc.returncode != 0:
        err = proc.stderr.decode() if binary else proc.stderr
        raise CourseError(f"git {' '.join(args)}: {err.strip()}")
    return proc.stdout


def has_commits(repo: Path) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return True
    except CourseError:
        return False


def tree_notebooks(repo: Path, commit: str) -> list[str]:
    paths = git(repo, "ls-tree", "-r", "-z", "--name-only", commit).split("\0")
    return sorted(p for p in paths if p.endswith(".ipynb") and ".ipynb_checkpoints" not in p)


def blob(repo: Path, commit: str, path: str) -> bytes:
    return git(repo, "cat-file", "blob", f"{commit}:{path}", binary=True)


def grade_ids(data: bytes) -> set[str]:
    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError):
        return set()
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells
            if isinstance(c, dict)} - {None}


# --- who, when, what ------------------------------------------------------------------------

def pick_notebooks(repo: Path, commit: str, expected: dict[str, set[str]],
                   notes: list[str]) -> dict[str, bytes]:
    """{stem: notebook bytes} at `commit`; renamed or moved notebooks found by their grade ids."""
    paths = tree_notebooks(repo, commit)
    chosen = {s: f"{s}.ipynb" for s in expected if f"{s}.ipynb" in paths}
    for stem in [s for s in expected if s not in chosen]:
        spare = [p for p in paths if p not in chosen.values()]
        shares = {p: len(grade_ids(blob(repo, commit, p)) & expected[stem]) / len(expected[stem])
                  for p in spare}
        best = max(shares, key=lambda p: (shares[p], -len(p)), default=None)
        if best is not None and shares[best] >= MATCH_SHARE:
            chosen[stem] = best
            notes.append(f"{stem}.ipynb found as {best} (renamed or moved): collected under its own name")
        else:
            others = f" (other notebooks: {', '.join(spare)})" if spare else ""
            notes.append(f"{stem}.ipynb missing{others}")
    return {s: blob(repo, commit, chosen[s]) for s in expected if s in chosen}


# --- writing submitted/ ---------------------------------------------------------------------

def submission_files(notebooks: dict[str, bytes], when: datetime, meta: dict) -> dict[str, bytes]:
    files = {f"{s}.ipynb": data for s, data in notebooks.items()}
    files["timestamp.txt"] = when.strftime(TIMESTAMP_FORMAT).encode() + b"\n"
    files[METADATA] = (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode()
    return files


def existing_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def collected_from(old: dict[str, bytes]) -> str | None:
    """The GitHub username an earlier collection came from (None: unknown, e.g. copied by hand)."""
    try:
        return json.loads(old[METADATA]).get("github_username")
    except (KeyError, ValueError, AttributeError):
        return None


def changes(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """What replacing `old` by `new` changes, in words (worse data is named as such)."""
    out = []
    for name in sorted((old.keys() | new.keys()) - {METADATA}):
        if name not in new:
            out.append(f"{name} removed (it was in the earlier collection; the repository no longer has it)")
        elif name not in old:
            out.append(f"{name} added")
        elif old[name] != new[name]:
            if name == "timestamp.txt":
                older = old[name].decode().strip() > new[name].decode().strip()
                out.append(f"timestamp {old[name].decode().strip()} -> {new[name].decode().strip()}"
                           + (" (OLDER than the earlier collection)" if older else ""))
            else:
                out.append(f"{name} changed")
    return out


def write_submission(folder: Path, files: dict[str, bytes]) -> None:
    staging = folder.with_name(folder.name + ".collecting")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name, data in files.items():
        (staging / name).write_bytes(data)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)


@dataclass(frozen=True)
class When:
    """The times a collection is judged by."""
    deadline: datetime | None = None
    released: datetime | None = None
    now: datetime | None = None


def collect_repo(course: Course, repo: Path, username: str, student: str, when: When,
                 expected: dict[str, set[str]], release: dict[str, bytes]) -> RepoReport:
    r = RepoReport(repo, username, student)
    target = course.step_dir("submitted", student)
    kept = f"; the earlier collection in {target.relative_to(course.root)} is left as is" \
        if target.is_dir() else ""
    if not has_commits(repo):
        r.notes.append("the repository has no commits: nothing to collect" + kept)
        return r
    history = dates.history(git, repo)
    late = dates.late_commits(history, when.deadline)
    chosen = dates.commit_at(history, when.deadline)
    if chosen is None:
        r.notes += ["no commit at or before the deadline: nothing to collect" + kept, late]
        return r
    if late:
        r.notes.append(late)
    r.commit, r.timestamp = chosen.sha, chosen.committed.strftime(TIMESTAMP_FORMAT)
    pushes = dates.read_pushes(repo.with_name(repo.name + ".activity.json"))
    pushed = dates.first_push(pushes, history, chosen.sha) if pushes else None
    r.doubts = dates.doubts(history, chosen, now=when.now or datetime.now(UTC), deadline=when.deadline,
                            released=when.released, pushed=pushed)
    notebooks = pick_notebooks(repo, r.commit, expected, r.notes)
    if not notebooks:
        r.notes.append("no notebook of the assignment at this commit: nothing to collect" + kept)
        return r
    unchanged = [s for s, data in notebooks.items() if data == release.get(s)]
    if unchanged:
        r.notes.append(f"unchanged from the handout: {', '.join(unchanged)}")
    meta = {"repository": repo.name, "github_username": username, "commit": chosen.sha,
            "committer_date": chosen.committed.isoformat(), "author_date": chosen.authored.isoformat(),
            "deadline": when.deadline.isoformat() if when.deadline else None,
            "first_pushed": pushed.isoformat() if pushed else None,
            "pushes_known": pushes is not None, "late_commits": late, "date_doubts": r.doubts}
    new, old = submission_files(notebooks, chosen.committed, meta), existing_files(target)
    owner = collected_from(old)
    if owner is not None and owner.lower() != username.lower():
        r.state = "error"
        r.notes.append(f"{target.relative_to(course.root)} holds the collection of GitHub user {owner}, "
                       f"not {username}: not overwritten (remove that folder by hand if the roster changed)")
        return r
    if new == old:
        r.state = "unchanged"
        return r
    r.state = "updated" if old else "collected"
    if old:
        r.notes += [f"replaced: {c}" for c in changes(old, new)]
    write_submission(target, new)
    return r


def parse_deadline(text: str | None) -> datetime | None:
    return parse_time(text, "--deadline") if text else None


def add_to_gradebook(course: Course, entries: list[RosterEntry]) -> None:
    """Roster students, with names and email, into the gradebook (created if new)."""
    # a new gradebook runs this venv's `alembic`: lrcourse/__init__.py puts it on PATH
    with Gradebook(course.db_url) as gb:
        for e in entries:
            gb.update_or_create_student(e.student_id, first_name=e.first_name, last_name=e.last_name,
                                        email=e.email)


def collect(course: Course | None = None, *, repos: str, roster: str | None = None, deadline: str | None = None,
            prefix: str | None = None, released: str | None = None, now: datetime | None = None,
            org: str | None = None, root: str | None = None) -> CollectResult:
    """Copy each student's notebooks, as of their last commit at or before `deadline`, into submitted/.
    With `org`, first clone or update `<repos>/<prefix>-<username>` for every roster student."""
    course = Course.of(course, root)
    repos_dir = Path(repos)
    when = When(parse_deadline(deadline), parse_time(released, "--released") if released else None, now)
    if org:
        from .repos import DEFAULT_PREFIX, clone_repos

        if not roster:
            raise CourseError("--org needs --roster: the roster says whose repositories to fetch")
        prefix = prefix or DEFAULT_PREFIX
        fetched = clone_repos(org=org, roster=roster, prefix=prefix, into=repos)
        if fetched.exit_code:
            print("collect: the repositories above could not be fetched; collecting what is there")
    if not repos_dir.is_dir():
        raise CourseError(f"no folder {repos_dir}")
    people = read_roster(Path(roster)) if roster else {}
    stems = course.release_notebooks()
    release = {s: (course.step_dir("release") / f"{s}.ipynb").read_bytes() for s in stems}
    expected = {s: grade_ids(data) for s, data in release.items()}
    used: list[str] = []
    found = list(identify(repos_dir, people, prefix, used))
    header = [f"deadline: {show(when.deadline)} (given as {deadline})" if when.deadline else
              "deadline: none (each repository's latest commit)", *[u for u in used if u]]
    claims: dict[str, list[Path]] = {}
    for repo, user, entry in found:
        if entry or not people:
            claims.setdefault(entry.student_id if entry else user, []).append(repo)
    reports = []
    for repo, user, entry in found:
        student = entry.student_id if entry else user
        if people and entry is None:
            r = RepoReport(repo, user, user, state="unmatched", notes=[
                f"matches no one on the roster (GitHub user {user}): not collected; add the user to the "
                "roster if this is a student"])
        elif len(claims[student]) > 1:
            others = ", ".join(p.name for p in claims[student] if p != repo)
            r = RepoReport(repo, user, student, state="error",
                           notes=[f"student {student} also matches {others}: none of them collected"])
        else:
            try:
                r = collect_repo(course, repo, user, student, when, expected, release)
            except CourseError as err:
                r = RepoReport(repo, user, student, state="error", notes=[str(err)])
        reports.append(r)
    if people:
        add_to_gradebook(course, list(people.values()))
    result = CollectResult(reports, sorted(e.student_id for e in people.values() if e.student_id not in claims),
                           header)
    print(result.summary())
    return result
