"""Who a cloned repository belongs to: the roster, the clones under a folder, and the GitHub
username in a clone's name. Used by `collect`, `repos` and `return-feedback`."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

SUBMISSIONS_SUFFIX = "-submissions"  # gh classroom clone student-repos: <assignment>-submissions/


@dataclass(frozen=True)
class RosterEntry:
    username: str
    student_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


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


def username_of(name: str, prefix: str | None, roster: dict[str, RosterEntry] | None = None) -> str:
    """`<prefix>-<username>` -> username, exactly (no suffix guessing); the roster's spelling when
    the username is on it (GitHub names are case-insensitive)."""
    user = name
    if prefix and name.lower().startswith(prefix.lower() + "-") and len(name) > len(prefix) + 1:
        user = name[len(prefix) + 1:]
    entry = (roster or {}).get(user.lower())
    return entry.username if entry else user


def guess_prefix(names: list[str], roster: dict[str, RosterEntry]) -> str | None:
    """The shared `<prefix>` of the clone names; with a roster, the shortest-or-longer cut of the
    shared start (at a `-`) under which most names are exactly `<prefix>-<roster username>`."""
    shared = common_prefix(names)
    if not shared or not roster:
        return shared
    cuts = [shared[:i] for i, ch in enumerate(shared) if ch == "-"] + [shared]
    def hits(prefix):
        return sum(username_of(n, prefix, None).lower() in roster for n in names)
    return max(reversed(cuts), key=hits)  # ties: the longest cut, as without a roster


def identify(repos_dir: Path, people: dict[str, RosterEntry], prefix: str | None = None,
             used: list[str] | None = None):
    """(clone, GitHub username, roster entry or None) for every clone under `repos_dir`; the
    username is exactly what follows the prefix. `used` receives the prefix used, in words."""
    clones = find_repos(repos_dir)
    guessed = None if prefix else guess_prefix([p.name for p, hint in clones if hint is None], people)
    if used is not None:
        used.append(f"repository names: {prefix}-<username> (--prefix)" if prefix else
                    f"repository names: {guessed}-<username> (guessed from the clone names; "
                    "give --prefix to be sure)" if guessed else "")
    for repo, hint in clones:
        user = username_of(repo.name, prefix or hint or guessed, people)
        yield repo, user, people.get(user.lower())
