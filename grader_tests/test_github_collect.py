"""Collecting cloned student repositories into submitted/, then grading them end to end.

Real git repositories with controlled commit dates, in the layout `gh classroom clone
student-repos` produced (`<assignment>-submissions/<assignment>-<username>/`):

  correct           alice: blank template, then the solution before the deadline,
                    then a broken notebook after it (the late commit must be ignored)
  renamed-notebook  bob-smith (a hyphen in the username): the solution under another name
                    in a subfolder
  no-commits        carol: an empty repository
  late             dave: every commit after the deadline
  not-on-roster     eve: a clone of someone the roster does not know (reported, not collected)
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest
from helpers import ALL_EXERCISES as EXERCISES
from helpers import DEADLINE, EX1, PREFIX, commit, new_repo, release_nb, scratch_course, solution_nb
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from lrcourse.cli import main
from lrcourse.collect import collect
from lrcourse.course import ASSIGNMENT
from lrcourse.grade import grade
from lrcourse.gradebook import submission_scores
from lrcourse.roster import common_prefix, username_of

pytestmark = pytest.mark.slow  # not in the fast lane: whole-course GitHub collection

STEM = EX1


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of a repository (its .git too) with its content hash and mtime."""
    return {str(p.relative_to(folder)): f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mtime_ns}"
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The cloned repositories, a roster and a scratch course, collected once."""
    base = tmp_path_factory.mktemp("classroom")
    repos = base / "clones"
    sub = repos / f"{PREFIX}-submissions"
    blank, broken = release_nb(STEM), release_nb(STEM)
    next(c for c in broken.cells if c.get("id") == "ex1_data").source = "this is not python"

    alice = new_repo(sub / f"{PREFIX}-alice")
    commit(alice, {f"{STEM}.ipynb": blank}, "2026-11-10T09:00:00+00:00", "template")
    commit(alice, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-20T16:59:00+01:00")  # 15:59 UTC
    commit(alice, {f"{STEM}.ipynb": broken}, "2026-11-21T10:00:00+00:00", "after the deadline")

    bob = new_repo(sub / f"{PREFIX}-bob-smith")
    commit(bob, {f"{STEM}.ipynb": blank}, "2026-11-10T09:00:00+00:00", "template")
    commit(bob, {f"{STEM}.ipynb": None, "work/my exercise 1.ipynb": solution_nb(STEM)},
           "2026-11-19T12:00:00+00:00")

    new_repo(sub / f"{PREFIX}-carol")

    dave = new_repo(sub / f"{PREFIX}-dave")
    commit(dave, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-22T08:00:00+00:00")

    eve = new_repo(sub / f"{PREFIX}-eve")
    commit(eve, {f"{STEM}.ipynb": blank}, "2026-11-12T08:00:00+00:00")

    roster = base / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["github_username", "student_id", "first_name", "last_name", "email"])
        w.writerow(["alice", "s001", "Alice", "Adams", "alice@example.org"])
        w.writerow(["Bob-Smith", "s002", "Bob", "Smith", "bob@example.org"])
        w.writerow(["carol", "s003", "Carol", "Clark", "carol@example.org"])
        w.writerow(["dave", "s004", "Dave", "Dunn", "dave@example.org"])
        w.writerow(["frank", "s006", "Frank", "Fox", "frank@example.org"])

    course = scratch_course(base / "course", EXERCISES)
    before = {p.name: snapshot(p) for p in sub.iterdir()}
    first = collect(root=str(course.root), repos=str(repos), roster=str(roster), deadline=DEADLINE)
    files_after_first = snapshot(course.root / "submitted")
    second = collect(root=str(course.root), repos=str(repos), roster=str(roster), deadline=DEADLINE)
    return {"course": course, "repos": repos, "roster": roster, "before": before, "first": first,
            "second": second, "files_after_first": files_after_first}


def report(result, student):
    return next(r for r in result.repos if r.student == student)


def test_collect_takes_the_last_commit_at_or_before_the_deadline(classroom):
    folder = classroom["course"].step_dir("submitted", "s001")
    assert nbformat.read(str(folder / f"{STEM}.ipynb"), 4) == solution_nb(STEM)
    stamp = (folder / "timestamp.txt").read_text().strip()
    assert stamp == "2026-11-20 15:59:00.000000 UTC"
    assert parse_utc(stamp).isoformat() == "2026-11-20T15:59:00"  # nbgrader reads it back


def test_renamed_notebook_is_found_by_its_grade_ids_and_reported(classroom):
    r = report(classroom["first"], "s002")
    assert r.state == "collected" and r.username == "Bob-Smith"
    assert any("found as work/my exercise 1.ipynb" in n for n in r.notes)
    assert (classroom["course"].step_dir("submitted", "s002") / f"{STEM}.ipynb").is_file()


def test_repositories_without_usable_commits_are_reported_and_not_collected(classroom):
    carol, dave = report(classroom["first"], "s003"), report(classroom["first"], "s004")
    assert carol.state == "skipped" and "no commits" in carol.notes[0]
    assert dave.state == "skipped" and "no commit at or before the deadline" in dave.notes[0]
    for student in ("s003", "s004"):
        assert not classroom["course"].step_dir("submitted", student).exists()


def test_usernames_not_on_the_roster_and_roster_students_without_repository_are_reported(classroom):
    eve = report(classroom["first"], "eve")
    assert eve.state == "unmatched" and "matches no one on the roster" in eve.notes[0]
    assert not classroom["course"].step_dir("submitted", "eve").exists()
    assert classroom["first"].roster_without_repo == ["s006"]
    summary = classroom["first"].summary()
    assert "s006: on the roster, no repository found" in summary


def test_collect_never_modifies_a_student_repository(classroom):
    sub = classroom["repos"] / f"{PREFIX}-submissions"
    assert {p.name: snapshot(p) for p in sub.iterdir()} == classroom["before"]


def test_collecting_twice_gives_the_same_result(classroom):
    assert {r.state for r in classroom["second"].repos} <= {"unchanged", "skipped", "unmatched"}
    assert snapshot(classroom["course"].root / "submitted") == classroom["files_after_first"]


def test_an_earlier_deadline_never_replaces_a_submission_silently(classroom, tmp_path):
    course = scratch_course(tmp_path / "course", EXERCISES)
    repos, roster = classroom["repos"], classroom["roster"]
    collect(root=str(course.root), repos=str(repos), roster=str(roster), deadline=DEADLINE)
    older = collect(root=str(course.root), repos=str(repos), roster=str(roster),
                    deadline="2026-11-15T00:00:00Z")
    alice = report(older, "s001")
    assert alice.state == "updated"
    assert any("OLDER than the earlier collection" in n for n in alice.notes)
    nothing = collect(root=str(course.root), repos=str(repos), roster=str(roster), deadline="2026-11-01T00:00:00Z")
    bob = report(nothing, "s002")
    assert bob.state == "skipped" and "left as is" in bob.notes[0]
    assert (course.step_dir("submitted", "s002") / f"{STEM}.ipynb").is_file()


def test_plain_clones_are_collected_under_the_username_after_their_shared_prefix(tmp_path):
    for user in ("frank", "grace-h"):
        repo = new_repo(tmp_path / "clones" / f"{PREFIX}-{user}")
        commit(repo, {f"{STEM}.ipynb": solution_nb(STEM)}, "2026-11-19T12:00:00+00:00")
    course = scratch_course(tmp_path / "course", EXERCISES)
    result = collect(root=str(course.root), repos=str(tmp_path / "clones"))
    assert [(r.student, r.state) for r in result.repos] == [("frank", "collected"), ("grace-h", "collected")]
    assert (course.step_dir("submitted", "grace-h") / "timestamp.txt").is_file()


def test_usernames_come_from_the_roster_or_the_shared_prefix():
    assert username_of("logistic-regression-bob-smith", None, {}) == "logistic-regression-bob-smith"
    assert username_of("logistic-regression-bob-smith", "logistic-regression", {}) == "bob-smith"
    assert common_prefix(["lr-2026-ann", "lr-2026-bo-b"]) == "lr-2026"
    assert common_prefix(["lr-ann"]) is None


def test_collected_repositories_are_autograded_and_exported_with_roster_names(classroom, tmp_path):
    course = classroom["course"]
    result = grade(root=str(course.root), progress=False)
    assert {student for student, _ in result.graded} == {"s001", "s002"} and not result.failed
    for student in ("s001", "s002"):
        scores = [s for s in submission_scores(course.db_url, student) if s.auto and s.notebook == STEM]
        assert scores, student
        assert all(s.score == s.max_score for s in scores), student
    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission(ASSIGNMENT, "s001")
        assert sub.timestamp.isoformat() == "2026-11-20T15:59:00"
        assert (gb.find_student("s002").first_name, gb.find_student("s002").last_name) == ("Bob", "Smith")
    grades = tmp_path / "grades.csv"
    assert main(["--root", str(course.root), "export", "--to", str(grades)]) == 0
    with grades.open() as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) >= {"s001", "s002", "s003", "s004", "s006"} and "eve" not in rows
    assert rows["s001"]["last_name"] == "Adams" and float(rows["s001"]["raw_score"]) > 0
    assert float(rows["s003"]["score"]) == 0 and rows["s003"]["status"] == "not submitted"
    assert rows["s001"]["status"] == "autograded"  # its written answers wait for a grader

    assert main(["--root", str(course.root), "feedback"]) == 0
    out = tmp_path / "feedback-repos"
    assert main(["--root", str(course.root), "return-feedback", str(classroom["repos"]),
                 "--roster", str(classroom["roster"]), "--out", str(out)]) == 0
    html = (out / f"{PREFIX}-alice" / "feedback" / f"{STEM}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "_REF_" not in html
    assert not (out / f"{PREFIX}-carol" / "feedback").exists()
