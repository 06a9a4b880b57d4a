"""Verb `collect`: fill submitted/ from cloned student repositories.

Steps, for each repository found under REPOS_DIR (`<assignment>-submissions/<repo>-<user>/`
as `gh classroom clone student-repos` lays them out, or plain clones `<prefix>-<user>/`):

  1. who       the GitHub username from the folder name, the student id from the roster
  2. when      the last commit at or before the deadline (committer time; default: HEAD)
  3. what      each release notebook at that commit: by name at the top level, else the
               notebook holding most of its nbgrader grade ids (renamed or moved)
  4. write     submitted/<student id>/logistic_regression/: the notebooks and timestamp.txt
               (the commit's time, in nbgrader's format), replaced only when it changed

Repositories are only read (`git rev-list`, `git ls-tree`, `git cat-file` with
GIT_OPTIONAL_LOCKS=0): nothing in them changes. Running it twice gives the same result.
Roster students are added to the gradebook with their names, so exports carry them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook

from .course import Course, CourseError
from .template import release_notebooks

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's CourseDirectory.timestamp_format
SUBMISSIONS_SUFFIX = "-submissions"  # gh classroom clone student-repos: <assignment>-submissions/
MATCH_SHARE = 0.5  # a renamed notebook must carry at least half the release notebook's grade ids


@dataclass(frozen=True)
class RosterEntry:
    username: str
    student_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@dataclass
class RepoReport:
    folder: Path
    username: str
    student: str
    commit: str | None = None
    timestamp: str | None = None
    state: str = "skipped"  # collected | updated | unchanged | skipped | error
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        head = f"  {self.student}" + (f" ({self.username})" if self.username != self.student else "")
        what = self.state + (f" commit {self.commit[:10]} of {self.timestamp}" if self.commit else "")
        return "\n".join([f"{head}: {what}  [{self.folder.name}]", *[f"      {n}" for n in self.notes]])


@dataclass
class CollectResult:
    repos: list[RepoReport]
    roster_without_repo: list[str]

    @property
    def exit_code(self) -> int:
        return 1 if any(r.state == "error" for r in self.repos) else 0

    def summary(self) -> str:
        lines = [r.line() for r in self.repos]
        lines += [f"  {s}: on the roster, no repository found" for s in self.roster_without_repo]
        counts = {s: sum(r.state == s for r in self.repos)
                  for s in ("collected", "updated", "unchanged", "skipped", "error")}
        lines.append("collect: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
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


def commit_at(repo: Path, deadline: datetime | None) -> tuple[str, datetime] | None:
    """The newest commit reachable from HEAD whose committer time is at or before `deadline`."""
    best = None
    pairs = git(repo, "rev-list", "--timestamp", "HEAD").split()
    for stamp, sha in zip(pairs[::2], pairs[1::2], strict=True):
        when = datetime.fromtimestamp(int(stamp), UTC)
        if (deadline is None or when <= deadline) and (best is None or when > best[1]):
            best = (sha, when)
    return best


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

def read_roster(path: Path) -> dict[str, RosterEntry]:
    """Roster CSV by lower-cased GitHub username; columns github_username (or username),
    student_id (or identifier; default: the username), first_name, last_name (or name), email."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                for row in csv.DictReader(fh)]
    roster = {}
    for row in rows:
        user = row.get("github_username") or row.get("username") or row.get("github")
        if not user:
            continue
        first, last = row.get("first_name"), row.get("last_name")
        if not (first or last) and row.get("name"):
            first, _, last = row["name"].partition(" ")
        roster[user.lower()] = RosterEntry(user, row.get("student_id") or row.get("identifier") or user,
                                           first or None, last or None, row.get("email") or None)
    return roster


def find_repos(repos_dir: Path) -> list[tuple[Path, str | None]]:
    """Every clone under `repos_dir` (one level, or inside `<assignment>-submissions/`), with
    the name prefix that `gh classroom clone` implies (None when it must be guessed)."""
    found = []
    for child in sorted(p for p in repos_dir.iterdir() if p.is_dir()):
        if (child / ".git").exists():
            found.append((child, None))
        elif child.name.endswith(SUBMISSIONS_SUFFIX):
            prefix = child.name[: -len(SUBMISSIONS_SUFFIX)]
            found += [(p, prefix) for p in sorted(child.iterdir()) if (p / ".git").exists()]
    return found


def common_prefix(names: list[str]) -> str | None:
    """The longest `<prefix>-` shared by all names (at least two), e.g. `logistic-regression`."""
    if len(names) < 2:
        return None
    shared = os.path.commonprefix(names)
    return shared[: shared.rfind("-")] if "-" in shared else None


def username_of(name: str, prefix: str | None, roster: dict[str, RosterEntry]) -> str:
    """`<prefix>-<username>` -> username; a roster username that ends the name wins."""
    on_roster = [e.username for u, e in roster.items() if name.lower().endswith("-" + u)]
    if on_roster:
        return max(on_roster, key=len)
    if prefix and name.startswith(prefix + "-") and len(name) > len(prefix) + 1:
        return name[len(prefix) + 1:]
    return name


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

def submission_files(notebooks: dict[str, bytes], when: datetime) -> dict[str, bytes]:
    files = {f"{s}.ipynb": data for s, data in notebooks.items()}
    files["timestamp.txt"] = when.strftime(TIMESTAMP_FORMAT).encode() + b"\n"
    return files


def existing_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def changes(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """What replacing `old` by `new` changes, in words (worse data is named as such)."""
    out = []
    for name in sorted(old.keys() | new.keys()):
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


def collect_repo(course: Course, repo: Path, username: str, student: str, deadline: datetime | None,
                 expected: dict[str, set[str]], release: dict[str, bytes]) -> RepoReport:
    r = RepoReport(repo, username, student)
    target = course.step_dir("submitted", student)
    kept = f"; the earlier collection in {target.relative_to(course.root)} is left as is" \
        if target.is_dir() else ""
    if not has_commits(repo):
        r.notes.append("the repository has no commits: nothing to collect" + kept)
        return r
    found = commit_at(repo, deadline)
    if found is None:
        r.notes.append("no commit at or before the deadline: nothing to collect" + kept)
        return r
    r.commit, when = found
    r.timestamp = when.strftime(TIMESTAMP_FORMAT)
    notebooks = pick_notebooks(repo, r.commit, expected, r.notes)
    if not notebooks:
        r.notes.append("no notebook of the assignment at this commit: nothing to collect" + kept)
        return r
    unchanged = [s for s, data in notebooks.items() if data == release.get(s)]
    if unchanged:
        r.notes.append(f"unchanged from the handout: {', '.join(unchanged)}")
    new, old = submission_files(notebooks, when), existing_files(target)
    if new == old:
        r.state = "unchanged"
        return r
    r.state = "updated" if old else "collected"
    if old:
        r.notes += [f"replaced: {c}" for c in changes(old, new)]
    write_submission(target, new)
    return r


def parse_deadline(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise CourseError(f"--deadline {text!r} is not ISO 8601 (e.g. 2026-11-20T17:00:00+01:00)") from err
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def add_to_gradebook(course: Course, entries: list[RosterEntry]) -> None:
    """Roster students, with names and email, into the gradebook (created if new)."""
    # a new gradebook runs this venv's `alembic`: lrcourse/__init__.py puts it on PATH
    with Gradebook(course.db_url) as gb:
        for e in entries:
            gb.update_or_create_student(e.student_id, first_name=e.first_name, last_name=e.last_name,
                                        email=e.email)


def identify(repos_dir: Path, people: dict[str, RosterEntry], prefix: str | None = None):
    """(clone, GitHub username, roster entry or None) for every clone under `repos_dir`."""
    clones = find_repos(repos_dir)
    guessed = common_prefix([p.name for p, hint in clones if hint is None])
    for repo, hint in clones:
        user = username_of(repo.name, prefix or hint or guessed, people)
        yield repo, user, people.get(user.lower())


def collect(*, repos: str, root: str | None = None, roster: str | None = None, deadline: str | None = None,
            prefix: str | None = None) -> CollectResult:
    """Copy each student's notebooks, as of their last commit at or before `deadline`, into submitted/."""
    course = Course.here(root)
    repos_dir = Path(repos)
    if not repos_dir.is_dir():
        raise CourseError(f"no folder {repos_dir}")
    when = parse_deadline(deadline)
    people = read_roster(Path(roster)) if roster else {}
    stems = release_notebooks(course)
    release = {s: (course.step_dir("release") / f"{s}.ipynb").read_bytes() for s in stems}
    expected = {s: grade_ids(data) for s, data in release.items()}
    reports, seen = [], {}
    for repo, user, entry in identify(repos_dir, people, prefix):
        student = entry.student_id if entry else user
        if student in seen:
            r = RepoReport(repo, user, student, state="error",
                           notes=[f"student {student} already collected from {seen[student].name}: skipped"])
        else:
            seen[student] = repo
            try:
                r = collect_repo(course, repo, user, student, when, expected, release)
            except CourseError as err:
                r = RepoReport(repo, user, student, state="error", notes=[str(err)])
        if people and entry is None:
            r.notes.insert(0, f"GitHub user {user} is not on the roster: collected as student id {student}")
        reports.append(r)
    if people:
        add_to_gradebook(course, list(people.values()))
    result = CollectResult(reports, sorted(e.student_id for e in people.values() if e.student_id not in seen))
    print(result.summary())
    return result


def return_feedback(*, repos: str, root: str | None = None, out: str = "feedback-repos",
                    roster: str | None = None, prefix: str | None = None) -> Path:
    """Copy each student's feedback HTML (from feedback/) to <out>/<repository folder>/feedback/."""
    course = Course.here(root)
    people = read_roster(Path(roster)) if roster else {}
    target = Path(out)
    for repo, user, entry in identify(Path(repos), people, prefix):
        html = sorted(course.step_dir("feedback", entry.student_id if entry else user).glob("*.html"))
        for path in html:
            dest = target / repo.name / "feedback" / path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        print(f"  {repo.name}: {len(html)} feedback files" if html else f"  {repo.name}: no feedback yet")
    return target
