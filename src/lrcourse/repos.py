"""Verb `repos`: every roster student's repository in an organisation, through the GitHub CLI.

What GitHub Classroom did on "accept assignment", without it (retired 2026-08-28):

  create   for each roster username U: `gh repo create <org>/<prefix>-U --template
           <org>/<template> --private`, then `gh api -X PUT repos/<org>/<prefix>-U/collaborators/U
           -f permission=push` (an invitation the student accepts by e-mail or on GitHub).
           Idempotent: an existing repository is not created again (reported as such), a student
           who is already a collaborator or has an invitation pending is not invited again.
  clone    for each roster username: `gh repo clone <org>/<prefix>-U <into>/<prefix>-U`, or
           `git pull --ff-only` in an existing clone, and GitHub's record of the pushes
           (`gh api repos/<org>/<prefix>-U/activity`) kept as `<into>/<prefix>-U.activity.json`
           for `collect`, which compares commit dates with push times.

`--dry-run` runs nothing and prints every command that would change something. An error for one
student (bad username, no such GitHub user, no permission) is reported and the others go on.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .course import ASSIGNMENT, CourseError
from .roster import read_roster

DEFAULT_PREFIX = ASSIGNMENT.replace("_", "-")  # logistic-regression-<username>
# GitHub usernames: letters, digits and single inner hyphens, at most 39 characters
USERNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
NOT_FOUND = ("Could not resolve to a Repository", "HTTP 404", "Not Found")


@dataclass
class StudentReport:
    username: str
    repo: str
    done: list[str] = field(default_factory=list)  # e.g. "created", "invited", "exists"
    error: str | None = None

    def line(self) -> str:
        what = f"ERROR: {self.error}" if self.error else ", ".join(self.done) or "nothing to do"
        return f"  {self.username}: {self.repo}: {what}"


@dataclass
class ReposResult:
    verb: str
    students: list[StudentReport]

    @property
    def exit_code(self) -> int:
        return 1 if any(s.error for s in self.students) else 0

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for s in self.students:
            for d in ["error"] if s.error else s.done:
                counts[d] = counts.get(d, 0) + 1
        return "\n".join([*(s.line() for s in self.students),
                          f"repos {self.verb}: " + ", ".join(f"{n} {d}" for d, n in counts.items())
                          + f" ({len(self.students)} students)"])


def gh(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["gh", *args], capture_output=True, text=True)
    except FileNotFoundError as err:
        raise CourseError("the GitHub CLI `gh` is not on PATH: install it (https://cli.github.com) "
                          "and run `gh auth login`") from err


def failed(proc: subprocess.CompletedProcess) -> str:
    return (proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}").splitlines()[-1]


def missing(proc: subprocess.CompletedProcess) -> bool:
    return proc.returncode != 0 and any(s in proc.stderr for s in NOT_FOUND)


def roster_usernames(roster: str) -> list[str]:
    users = [e.username for e in read_roster(Path(roster)).values()]
    if not users:
        raise CourseError(f"{roster}: no GitHub usernames (column github_username)")
    return users


def create_commands(org: str, template: str, repo: str, user: str, permission: str) -> list[list[str]]:
    return [["repo", "create", f"{org}/{repo}", "--template", f"{org}/{template}", "--private"],
            invite_command(org, repo, user, permission)]


def invite_command(org: str, repo: str, user: str, permission: str) -> list[str]:
    return ["api", "-X", "PUT", f"repos/{org}/{repo}/collaborators/{user}", "-f", f"permission={permission}"]


def check_template(org: str, template: str) -> None:
    proc = gh("repo", "view", f"{org}/{template}", "--json", "isTemplate", "--jq", ".isTemplate")
    if missing(proc):
        raise CourseError(f"no repository {org}/{template} (or no access): publish the template first "
                          "(docs/github-classroom.md, section 1)")
    if proc.returncode != 0:
        raise CourseError(f"gh repo view {org}/{template}: {failed(proc)}")
    if proc.stdout.strip() != "true":
        raise CourseError(f"{org}/{template} is not a template repository: "
                          f"`gh repo edit {org}/{template} --template` makes it one")


def already_invited(org: str, repo: str, user: str) -> str | None:
    """'collaborator' / 'invitation pending' when `user` needs no new invitation."""
    if gh("api", f"repos/{org}/{repo}/collaborators/{user}").returncode == 0:  # 204: a collaborator
        return "already a collaborator"
    pending = gh("api", f"repos/{org}/{repo}/invitations", "--paginate", "--jq", ".[].invitee.login")
    if pending.returncode == 0 and user.lower() in pending.stdout.lower().split():
        return "invitation pending"
    return None


def create_one(org: str, template: str, repo: str, user: str, permission: str) -> StudentReport:
    r = StudentReport(user, f"{org}/{repo}")
    view = gh("repo", "view", f"{org}/{repo}", "--json", "name")
    if view.returncode == 0:
        r.done.append("exists")
        state = already_invited(org, repo, user)
        if state:
            r.done.append(state)
            return r
    elif not missing(view):
        r.error = f"gh repo view: {failed(view)}"
        return r
    else:
        made = gh(*create_commands(org, template, repo, user, permission)[0])
        if made.returncode != 0:
            r.error = f"gh repo create: {failed(made)}"
            return r
        r.done.append("created")
    invited = gh(*invite_command(org, repo, user, permission))
    if invited.returncode != 0:
        r.error = f"inviting {user}: {failed(invited)}" + (" (is the username right?)" if missing(invited) else "")
        return r
    r.done.append("invited")
    return r


def create_repos(*, org: str, template: str, roster: str, prefix: str = DEFAULT_PREFIX,
                 permission: str = "push", dry_run: bool = False) -> ReposResult:
    """Create `<org>/<prefix>-<username>` from `<org>/<template>` for every roster student and invite them."""
    users = roster_usernames(roster)
    if dry_run:
        for user in users:
            if USERNAME.match(user):
                for cmd in create_commands(org, template, f"{prefix}-{user}", user, permission):
                    print(shlex.join(["gh", *cmd]))
            else:
                print(f"# {user!r} is not a valid GitHub username: skipped")
        return ReposResult("create (dry run)", [])
    check_template(org, template)
    reports = []
    for user in users:
        if not USERNAME.match(user):
            reports.append(StudentReport(user, f"{org}/{prefix}-{user}",
                                         error=f"{user!r} is not a valid GitHub username"))
        else:
            reports.append(create_one(org, template, f"{prefix}-{user}", user, permission))
    result = ReposResult("create", reports)
    print(result.summary())
    return result


def clone_one(org: str, repo: str, user: str, into: Path) -> StudentReport:
    r = StudentReport(user, f"{org}/{repo}")
    dest = into / repo
    if (dest / ".git").exists():
        proc = subprocess.run(["git", "-C", str(dest), "pull", "--ff-only", "--quiet"], capture_output=True,
                              text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if proc.returncode != 0:
            r.error = (f"git pull --ff-only in {dest}: {failed(proc)} (history rewritten by a force push? "
                       f"move {dest} away and run again to clone afresh)")
            return r
        r.done.append("updated")
    else:
        proc = gh("repo", "clone", f"{org}/{repo}", str(dest), "--", "--quiet")
        if proc.returncode != 0:
            r.error = f"gh repo clone: {failed(proc)}"
            return r
        r.done.append("cloned")
    activity = gh("api", f"repos/{org}/{repo}/activity", "--paginate", "--slurp")
    if activity.returncode == 0:
        into.joinpath(f"{repo}.activity.json").write_text(activity.stdout)
        r.done.append("push times saved")
    else:
        r.done.append(f"push times unavailable ({failed(activity)})")
    return r


def clone_repos(*, org: str, roster: str, prefix: str = DEFAULT_PREFIX, into: str = "clones",
                dry_run: bool = False) -> ReposResult:
    """Clone (or update) `<org>/<prefix>-<username>` into `<into>/` for every roster student."""
    users, folder = roster_usernames(roster), Path(into)
    if dry_run:
        for user in users:
            repo = f"{prefix}-{user}"
            print(shlex.join(["git", "-C", str(folder / repo), "pull", "--ff-only", "--quiet"]
                             if (folder / repo / ".git").exists() else
                             ["gh", "repo", "clone", f"{org}/{repo}", str(folder / repo), "--", "--quiet"]))
            print(shlex.join(["gh", "api", f"repos/{org}/{repo}/activity", "--paginate", "--slurp"]))
        return ReposResult("clone (dry run)", [])
    folder.mkdir(parents=True, exist_ok=True)
    reports = [clone_one(org, f"{prefix}-{u}", u, folder) if USERNAME.match(u) else
               StudentReport(u, f"{org}/{prefix}-{u}", error=f"{u!r} is not a valid GitHub username")
               for u in users]
    result = ReposResult("clone", reports)
    print(result.summary())
    return result
