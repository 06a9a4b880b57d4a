"""GitHub without Classroom: `lrcourse repos` against a fake `gh`, and collect that cannot be
fooled by names or dates (issues 13 and 15).

The fake `gh` (written below onto PATH) records every call and keeps a small state folder:
`repos/<org>/<name>/` is a repository on "GitHub" (a real git repository, so `gh repo clone`
clones it), with `collaborators`, `invitations` and `activity.json` files beside its git data;
usernames listed in `unknown_users` do not exist. Nothing here grades a notebook.

Scenarios, named as in the other GitHub tests:
  victim / a-victim   the roster's `alice` and a GitHub user `a-alice` whose repository sits next
                      to hers (`logistic-regression-a-alice` ends with `-alice`)
  backdated           a commit dated before the deadline but first pushed after it
  clock-ahead         a commit dated later than the push that brought it
"""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import DEADLINE, PREFIX, commit, git, new_repo, release_nb, scratch_course, solution_nb
from helpers import EX1 as STEM

from lrcourse.cli import main
from lrcourse.collect import collect
from lrcourse.repos import clone_repos, create_repos
from lrcourse.roster import guess_prefix, read_roster, username_of

ORG = "lr-course"
TEMPLATE = "logistic-regression-template"

FAKE_GH = r'''
import json, os, subprocess, sys
from pathlib import Path
state = Path(os.environ["FAKE_GH_STATE"])
args = sys.argv[1:]
with open(state / "calls.jsonl", "a") as fh:
    fh.write(json.dumps(args) + "\n")
def repo_dir(full):
    return state / "repos" / full
def lines(path):
    return path.read_text().split() if path.exists() else []
def not_found():
    sys.stderr.write("gh: Not Found (HTTP 404)\n")
    sys.exit(1)
if args[:2] == ["repo", "view"]:
    d = repo_dir(args[2])
    if not d.is_dir():
        sys.stderr.write(f"GraphQL: Could not resolve to a Repository with the name '{args[2]}'. (repository)\n")
        sys.exit(1)
    print("true" if (d / "is_template").exists() else "false") if ".isTemplate" in args else print("{}")
elif args[:2] == ["repo", "create"]:
    repo_dir(args[2]).mkdir(parents=True)
    print(f"https://github.com/{args[2]}")
elif args[:2] == ["repo", "clone"]:
    sys.exit(subprocess.run(["git", "clone", "--quiet", str(repo_dir(args[2])), args[3]]).returncode)
elif args[0] == "api":
    put = args[1:3] == ["-X", "PUT"]
    path = args[3] if put else args[1]
    _, owner, name, what, *rest = path.split("/")
    d = repo_dir(f"{owner}/{name}")
    if not d.is_dir():
        not_found()
    if what == "collaborators" and put:
        if rest[0] in lines(state / "unknown_users"):
            not_found()
        with open(d / "invitations", "a") as fh:
            fh.write(rest[0] + "\n")
        print("{}")
    elif what == "collaborators":
        if rest[0] not in lines(d / "collaborators"):
            not_found()
    elif what == "invitations":
        print("\n".join(lines(d / "invitations")))
    elif what == "activity":
        print((d / "activity.json").read_text() if (d / "activity.json").exists() else "[[]]")
else:
    sys.stderr.write(f"fake gh: unknown command {args}\n")
    sys.exit(2)
'''


@pytest.fixture(autouse=True)
def no_gradebook(monkeypatch):
    """Roster students into the gradebook is test_github_collect's business (and costs seconds here)."""
    monkeypatch.setattr("lrcourse.collect.add_to_gradebook", lambda course, entries: None)


@pytest.fixture
def gh(tmp_path, monkeypatch):
    """A fake `gh` on PATH; returns its state folder and a reader of the calls it recorded."""
    state, bin_dir = tmp_path / "gh-state", tmp_path / "bin"
    (state / "repos").mkdir(parents=True)
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_STATE", str(state))

    def calls():
        log = state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return state, calls


def write_roster(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["github_username", "student_id"])
        w.writerows(rows)
    return path


def writes(calls):
    return [c for c in calls if c[:2] == ["repo", "create"] or c[1:3] == ["-X", "PUT"]]


# --- repos create ---------------------------------------------------------------------------

def test_repos_create_makes_each_students_repository_from_the_template_and_invites_them(gh, tmp_path):
    state, calls = gh
    (state / "repos" / ORG / TEMPLATE).mkdir(parents=True)
    (state / "repos" / ORG / TEMPLATE / "is_template").touch()
    existing = state / "repos" / ORG / f"{PREFIX}-carol"
    existing.mkdir()
    (existing / "collaborators").write_text("carol\n")
    (state / "unknown_users").write_text("ghost\n")
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1"), ("Bob-Smith", "s2"), ("carol", "s3"),
                                                    ("ghost", "s4"), ("bad_name", "s5")])
    result = create_repos(org=ORG, template=TEMPLATE, roster=str(roster))
    by_user = {s.username: s for s in result.students}
    assert by_user["alice"].done == ["created", "invited"] and by_user["Bob-Smith"].done == ["created", "invited"]
    assert by_user["carol"].done == ["exists", "already a collaborator"]
    assert "inviting ghost" in by_user["ghost"].error  # the others went on regardless
    assert "not a valid GitHub username" in by_user["bad_name"].error
    assert result.exit_code == 1
    assert writes(calls()) == [
        ["repo", "create", f"{ORG}/{PREFIX}-alice", "--template", f"{ORG}/{TEMPLATE}", "--private"],
        ["api", "-X", "PUT", f"repos/{ORG}/{PREFIX}-alice/collaborators/alice", "-f", "permission=push"],
        ["repo", "create", f"{ORG}/{PREFIX}-Bob-Smith", "--template", f"{ORG}/{TEMPLATE}", "--private"],
        ["api", "-X", "PUT", f"repos/{ORG}/{PREFIX}-Bob-Smith/collaborators/Bob-Smith", "-f", "permission=push"],
        ["repo", "create", f"{ORG}/{PREFIX}-ghost", "--template", f"{ORG}/{TEMPLATE}", "--private"],
        ["api", "-X", "PUT", f"repos/{ORG}/{PREFIX}-ghost/collaborators/ghost", "-f", "permission=push"],
    ]
    assert result.summary().endswith("2 created, 2 invited, 1 exists, 1 already a collaborator, 2 error (5 students)")


def test_repos_create_twice_creates_and_invites_nothing_new(gh, tmp_path):
    state, calls = gh
    (state / "repos" / ORG / TEMPLATE).mkdir(parents=True)
    (state / "repos" / ORG / TEMPLATE / "is_template").touch()
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1"), ("bob", "s2")])
    create_repos(org=ORG, template=TEMPLATE, roster=str(roster))
    first = len(writes(calls()))
    again = create_repos(org=ORG, template=TEMPLATE, roster=str(roster))
    assert first == 4 and len(writes(calls())) == 4
    assert [s.done for s in again.students] == [["exists", "invitation pending"]] * 2 and again.exit_code == 0


def test_repos_create_dry_run_prints_the_exact_commands_and_runs_nothing(gh, tmp_path, capsys):
    _, calls = gh
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1")])
    assert main(["repos", "create", "--org", ORG, "--template", TEMPLATE, "--roster", str(roster),
                 "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"gh repo create {ORG}/{PREFIX}-alice --template {ORG}/{TEMPLATE} --private",
        f"gh api -X PUT repos/{ORG}/{PREFIX}-alice/collaborators/alice -f permission=push"]
    assert calls() == []


def test_repos_create_refuses_a_missing_or_non_template_repository(gh, tmp_path, capsys):
    state, calls = gh
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1")])
    args = ["repos", "create", "--org", ORG, "--template", TEMPLATE, "--roster", str(roster)]
    assert main(args) == 1 and "publish the template first" in capsys.readouterr().err
    (state / "repos" / ORG / TEMPLATE).mkdir(parents=True)
    assert main(args) == 1 and f"gh repo edit {ORG}/{TEMPLATE} --template" in capsys.readouterr().err
    assert writes(calls()) == []


# --- collect by roster + organisation + prefix, no Classroom id ----------------------------

def remote(state: Path, user: str) -> Path:
    """`lr-course/logistic-regression-<user>` on the fake GitHub: a git repository."""
    return new_repo(state / "repos" / ORG / f"{PREFIX}-{user}")


def test_collect_with_org_clones_every_roster_repository_and_collects_it_without_a_classroom_id(gh, tmp_path):
    state, calls = gh
    alice = remote(state, "alice")
    commit(alice, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-20T15:00:00+00:00")
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1"), ("bob", "s2")])
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(tmp_path / "clones"), roster=str(roster), org=ORG,
                     deadline=DEADLINE)
    assert [(r.student, r.state) for r in result.repos] == [("s1", "collected")]
    assert result.roster_without_repo == ["s2"]
    assert (course.step_dir("submitted", "s1") / f"{STEM}.ipynb").is_file()
    assert ["repo", "clone", f"{ORG}/{PREFIX}-alice", str(tmp_path / "clones" / f"{PREFIX}-alice"),
            "--", "--quiet"] in calls()
    # a second run updates the clone (a new commit arrives) instead of cloning again
    commit(alice, {f"{STEM}.ipynb": release_nb(STEM)}, "2026-11-20T16:00:00+00:00")
    again = clone_repos(org=ORG, roster=str(roster), into=str(tmp_path / "clones"))
    assert again.students[0].done[0] == "updated"
    assert git(tmp_path / "clones" / f"{PREFIX}-alice", "log", "-1", "--format=%cI").startswith("2026-11-20T16")


# --- issue 13: names --------------------------------------------------------------------------

def attack(tmp_path: Path, layout: str) -> tuple[Path, Path]:
    """The victim alice and the GitHub user a-alice, side by side, in one of the two layouts."""
    base = tmp_path / "clones"
    folder = base / f"{PREFIX}-submissions" if layout == "classroom" else base
    victim = new_repo(folder / f"{PREFIX}-alice")
    commit(victim, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-19T12:00:00+00:00")
    attacker = new_repo(folder / f"{PREFIX}-a-alice")
    commit(attacker, {f"{STEM}.ipynb": release_nb(STEM)}, "2026-11-19T13:00:00+00:00")
    return base, write_roster(tmp_path / "roster.csv", [("alice", "s1"), ("bob", "s2")])


@pytest.mark.parametrize("layout", ["plain", "classroom"])
def test_a_user_named_a_victim_is_not_collected_as_the_victim(tmp_path, layout):
    clones, roster = attack(tmp_path, layout)
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(clones), roster=str(roster), deadline=DEADLINE)
    states = {r.folder.name: (r.student, r.state) for r in result.repos}
    assert states == {f"{PREFIX}-alice": ("s1", "collected"), f"{PREFIX}-a-alice": ("a-alice", "unmatched")}
    assert "matches no one on the roster" in result.summary()
    meta = json.loads((course.step_dir("submitted", "s1") / "collect.json").read_text())
    assert meta["github_username"] == "alice" and meta["repository"] == f"{PREFIX}-alice"
    assert not course.step_dir("submitted", "a-alice").exists()


def test_usernames_are_exactly_what_follows_the_prefix(tmp_path):
    roster = read_roster(write_roster(tmp_path / "r.csv", [("alice", "s1"), ("Bob-Smith", "s2"),
                                                           ("bob-jones", "s3")]))
    assert username_of("lr-a-alice", "lr", roster) == "a-alice"
    assert username_of("lr-bob-smith", "lr", roster) == "Bob-Smith"  # the roster's spelling
    assert username_of("other-alice", "lr", roster) == "other-alice"
    # two users sharing "bob-": the clone names share "lr-bob-", the roster says the prefix is "lr"
    assert guess_prefix(["lr-bob-smith", "lr-bob-jones"], roster) == "lr"
    assert guess_prefix(["lr-bob-smith", "lr-bob-jones"], {}) == "lr-bob"


def test_another_users_repository_never_overwrites_a_students_collection(tmp_path):
    clones, roster = attack(tmp_path, "plain")
    course = scratch_course(tmp_path / "course", [STEM])
    collect(root=str(course.root), repos=str(clones), roster=str(roster), deadline=DEADLINE, prefix=PREFIX)
    before = (course.step_dir("submitted", "s1") / f"{STEM}.ipynb").read_bytes()
    # the roster is edited so that a-alice now claims student id s1 (a typo, or a swap)
    write_roster(roster, [("a-alice", "s1"), ("bob", "s2")])
    result = collect(root=str(course.root), repos=str(clones), roster=str(roster), deadline=DEADLINE,
                     prefix=PREFIX)
    r = next(r for r in result.repos if r.username == "a-alice")
    assert r.state == "error" and any("holds the collection of GitHub user alice" in n for n in r.notes)
    assert (course.step_dir("submitted", "s1") / f"{STEM}.ipynb").read_bytes() == before


def test_two_repositories_claiming_one_student_are_both_refused(tmp_path):
    clones, _ = attack(tmp_path, "plain")
    roster = write_roster(tmp_path / "twice.csv", [("alice", "s1"), ("a-alice", "s1")])
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(clones), roster=str(roster), prefix=PREFIX)
    assert {r.state for r in result.repos} == {"error"} and result.exit_code == 1
    assert not course.step_dir("submitted", "s1").exists()


# --- issue 15 and 13: deadlines and dates ----------------------------------------------------

def test_a_deadline_without_utc_offset_is_refused_with_the_fix(tmp_path, capsys):
    course = scratch_course(tmp_path / "course", [STEM])
    (tmp_path / "clones").mkdir()
    assert main(["--root", str(course.root), "collect", str(tmp_path / "clones"),
                 "--deadline", "2026-12-01T17:00"]) == 1
    err = capsys.readouterr().err
    assert "has no UTC offset" in err and "2026-12-01T17:00+01:00" in err and "2026-12-01T17:00Z" in err


def test_late_commits_are_counted_and_the_dates_used_are_kept(tmp_path):
    repo = new_repo(tmp_path / "clones" / f"{PREFIX}-alice")
    commit(repo, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-20T16:30:00+00:00")
    commit(repo, {f"{STEM}.ipynb": release_nb(STEM)}, "2026-11-21T09:00:00+00:00")
    commit(repo, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-22T10:15:00+00:00")
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(tmp_path / "clones"), deadline=DEADLINE, prefix=PREFIX)
    r = result.repos[0]
    assert "late commits (dated after the deadline, not collected): 2, last at 2026-11-22 10:15:00 UTC" in r.notes
    assert result.summary().splitlines()[0] == f"deadline: 2026-11-20 17:00:00 UTC (given as {DEADLINE})"
    meta = json.loads((course.step_dir("submitted", "alice") / "collect.json").read_text())
    assert meta["committer_date"] == "2026-11-20T16:30:00+00:00" and meta["commit"] == r.commit
    assert not r.doubts


def test_implausible_commit_dates_are_reported(tmp_path):
    repo = new_repo(tmp_path / "clones" / f"{PREFIX}-alice")
    commit(repo, {f"{STEM}.ipynb": release_nb(STEM)}, "2026-11-21T09:00:00+00:00")  # late ...
    commit(repo, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-20T16:00:00+00:00")  # ... then "earlier"
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(tmp_path / "clones"), deadline=DEADLINE, prefix=PREFIX,
                     released="2026-11-20T16:30:00+00:00", now=datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    doubts = " | ".join(result.repos[0].doubts)
    assert "is in the future" in doubts
    assert "before the assignment was released (2026-11-20 16:30:00 UTC)" in doubts
    assert "earlier than its own history" in doubts and "dated 2026-11-21 09:00:00 UTC" in doubts
    assert "1 with doubtful dates" in result.summary()
    meta = json.loads((course.step_dir("submitted", "alice") / "collect.json").read_text())
    assert len(meta["date_doubts"]) == 3


@pytest.mark.parametrize("scenario", ["backdated", "clock-ahead", "honest"])
def test_commit_dates_are_checked_against_githubs_push_times(gh, tmp_path, scenario):
    state, _ = gh
    alice = remote(state, "alice")
    commit(alice, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-20T16:00:00+00:00")
    sha = git(alice, "rev-parse", "HEAD").strip()
    pushed = {"backdated": "2026-11-21T08:00:00Z", "clock-ahead": "2026-11-20T12:00:00Z",
              "honest": "2026-11-20T16:01:00Z"}[scenario]
    (alice / "activity.json").write_text(json.dumps([[  # gh api --slurp: a list of pages
        {"id": 1, "before": "0" * 40, "after": sha, "ref": "refs/heads/main", "timestamp": pushed,
         "activity_type": "push", "actor": {"login": "alice"}}]]))
    roster = write_roster(tmp_path / "roster.csv", [("alice", "s1")])
    course = scratch_course(tmp_path / "course", [STEM])
    result = collect(root=str(course.root), repos=str(tmp_path / "clones"), roster=str(roster), org=ORG,
                     deadline=DEADLINE)
    doubts = " | ".join(result.repos[0].doubts)
    meta = json.loads((course.step_dir("submitted", "s1") / "collect.json").read_text())
    assert meta["first_pushed"] == pushed.replace("Z", "+00:00")
    if scenario == "backdated":
        assert "first pushed after it (2026-11-21 08:00:00 UTC): late in fact" in doubts
    elif scenario == "clock-ahead":
        assert "later than the push that brought it (2026-11-20 12:00:00 UTC)" in doubts
    else:
        assert doubts == ""
