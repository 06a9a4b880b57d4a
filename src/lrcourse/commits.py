"""Commit times for `collect`: the deadline, the commit it picks, late commits, and dates that
cannot be right.

A commit's committer date is written by the student's own git, so it is a claim, not a fact.
What can be checked without trusting it:

  * the deadline must carry a UTC offset (a bare `2026-12-01T17:00` is refused, not guessed);
  * commits after the deadline are counted and reported, never skipped silently;
  * the date used is implausible when it lies in the future, before the assignment's release
    (`--released`), before a date in its own history (a parent committed "later" than its
    child), or after the push that brought it to GitHub; and the commit is late in fact when
    its first push came after the deadline, whatever its date says. Push times come from
    GitHub's repository activity (`gh api repos/<org>/<repo>/activity`), which
    `lrcourse repos clone` keeps next to each clone as `<clone>.activity.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .course import CourseError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's CourseDirectory.timestamp_format
CLOCK_SKEW = timedelta(minutes=5)  # a committer clock this far ahead of ours is not yet "the future"
PUSH_TYPES = ("push", "force_push", "branch_creation")  # activity types that bring commits to GitHub


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with a UTC offset, as UTC; without an offset it is refused."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise CourseError(f"{option} {text!r} is not ISO 8601 (e.g. 2026-11-20T17:00:00+01:00)") from err
    if when.tzinfo is None:
        raise CourseError(f"{option} {text!r} has no UTC offset, so its time zone would be a guess: "
                          f"write the offset, e.g. {text}+01:00 (Central Europe in winter) or {text}Z (UTC)")
    return when.astimezone(UTC)


def show(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Commit:
    sha: str
    committed: datetime  # committer date
    authored: datetime
    parents: tuple[str, ...]


def history(git, repo: Path) -> dict[str, Commit]:
    """Every commit reachable from HEAD, by sha (`git` is collect's read-only runner)."""
    out = git(repo, "log", "--format=%H %ct %at %P", "HEAD")
    commits = {}
    for line in out.splitlines():
        sha, ct, at, *parents = line.split()
        commits[sha] = Commit(sha, datetime.fromtimestamp(int(ct), UTC), datetime.fromtimestamp(int(at), UTC),
                              tuple(parents))
    return commits


def commit_at(commits: dict[str, Commit], deadline: datetime | None) -> Commit | None:
    """The newest commit whose committer time is at or before `deadline` (default: the newest)."""
    ok = [c for c in commits.values() if deadline is None or c.committed <= deadline]
    return max(ok, key=lambda c: c.committed, default=None)


def late_commits(commits: dict[str, Commit], deadline: datetime | None) -> str | None:
    """'late commits: N, last at T' for the commits dated after the deadline, if any."""
    late = sorted(c.committed for c in commits.values() if deadline is not None and c.committed > deadline)
    if not late:
        return None
    return f"late commits (dated after the deadline, not collected): {len(late)}, last at {show(late[-1])}"


def ancestors(commits: dict[str, Commit], sha: str) -> list[Commit]:
    seen, todo = set(), list(commits[sha].parents)
    while todo:
        p = todo.pop()
        if p in seen or p not in commits:
            continue
        seen.add(p)
        todo += commits[p].parents
    return [commits[p] for p in seen]


def read_pushes(path: Path) -> list[dict] | None:
    """GitHub's repository activity saved by `repos clone`: pushes, oldest first (None: not saved)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    items = [i for page in data for i in (page if isinstance(page, list) else [page])] \
        if isinstance(data, list) else []
    pushes = []
    for item in items:
        if isinstance(item, dict) and item.get("activity_type") in PUSH_TYPES and item.get("after"):
            try:
                pushes.append({"after": item["after"], "at": parse_time(item["timestamp"], "timestamp")})
            except (CourseError, KeyError, TypeError):
                continue
    return sorted(pushes, key=lambda p: p["at"])


def first_push(pushes: list[dict], commits: dict[str, Commit], sha: str) -> datetime | None:
    """When `sha` first reached GitHub: the earliest push whose new tip is `sha` or descends from it."""
    for push in pushes:
        tip = push["after"]
        if tip == sha or (tip in commits and any(a.sha == sha for a in ancestors(commits, tip))):
            return push["at"]
    return None


def doubts(commits: dict[str, Commit], chosen: Commit, *, now: datetime, deadline: datetime | None,
           released: datetime | None, pushed: datetime | None) -> list[str]:
    """Why the chosen commit's date cannot be taken at face value (empty: nothing found)."""
    out, when = [], chosen.committed
    if when > now + CLOCK_SKEW:
        out.append(f"committer date {show(when)} is in the future (when collected)")
    if released is not None and when < released:
        out.append(f"committer date {show(when)} is before the assignment was released ({show(released)})")
    later = [a for a in ancestors(commits, chosen.sha) if a.committed > when]
    if later:
        top = max(later, key=lambda a: a.committed)
        out.append(f"committer date {show(when)} is earlier than its own history (commit {top.sha[:10]} "
                   f"before it is dated {show(top.committed)}): the clock was changed or the date forged")
    if pushed is not None and when > pushed + CLOCK_SKEW:
        out.append(f"committer date {show(when)} is later than the push that brought it ({show(pushed)})")
    if pushed is not None and deadline is not None and pushed > deadline >= when:
        out.append(f"dated before the deadline but first pushed after it ({show(pushed)}): late in fact")
    return out
