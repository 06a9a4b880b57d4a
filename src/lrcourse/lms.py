"""Grade files an LMS imports: Canvas's gradebook CSV and Moodle's grade-import CSV.

Both are written by `lrcourse export` next to grades.csv, one row per student whose grade
is final (status `graded`: autograded and every written answer graded). A student whose
grade is not final (autograded with written answers waiting, failed, not graded) is left
out, so an import never overwrites a grade in the LMS with a partial or empty one;
grades.csv's status and problems columns say why.

Students are named as the LMS knows them through the roster `lrcourse collect` reads
(columns student_id, first_name, last_name, email; optional: section, sis_login_id); without
a roster, or for a student not on it, the gradebook's names and email are used.

Formats, as documented:

* Canvas gradebook import, as Ohio State's guide to it describes ("Import a CSV file to
  Carmen grades", teaching.resources.osu.edu; Canvas's SIS CSV pages give the same quoting
  rules): the student is identified by Student (name, "Last, First"), Student ID or SIS User
  ID, only one of which is required; SIS Login ID and Section columns; then one column per
  assignment. A column that matches no assignment creates a new one; to update an existing
  assignment, give the column the header a Canvas gradebook export shows for it. Fields
  with a comma or a quote are quoted (quotes doubled), UTF-8.
* Moodle "Grade import" (docs.moodle.org/311/en/Grade_import, CSV grade import): the file
  has the format of Moodle's own export (First name, Last name, ID number, ..., Email
  address, then one column per grade item); on import, choose the column mapping: "Map
  from" Email address "Map to" useremail, or ID number to useridnumber (when the users' ID
  number fields are filled in), and map the grade column to the grade item. Email
  addresses are matched case-sensitively (MDL-29315).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Person:
    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    section: str = ""
    sis_login_id: str = ""


def read_people(path: Path | None) -> dict[str, Person]:
    """The roster CSV by student_id (the folder names in submitted/; `identifier` also
    accepted, as collect does); an empty dict without a roster."""
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]
    people = {}
    for row in rows:
        sid = row.get("student_id") or row.get("identifier") or row.get("github_username") or row.get("username")
        if not sid:
            continue
        first, last = row.get("first_name", ""), row.get("last_name", "")
        if not (first or last) and row.get("name"):
            first, _, last = row["name"].partition(" ")
        people[sid] = Person(sid, first, last, row.get("email", ""), row.get("section", ""),
                             row.get("sis_login_id", ""))
    return people


def person(student: str, row: dict, people: dict[str, Person]) -> Person:
    """The roster's entry for a student, else what the gradebook knows (grades.csv's row)."""
    return people.get(student) or Person(student, row.get("first_name", ""), row.get("last_name", ""),
                                         row.get("email", ""))


def write_lms_files(folder: Path, rows: list[dict], assignment: str, people: dict[str, Person]) -> list[str]:
    """canvas.csv and moodle.csv in `folder` from grades.csv's rows; returns the students listed."""
    final = [r for r in rows if r.get("status") == "graded" and r.get("score", "") != ""]
    with open(folder / "canvas.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        for r in final:
            p = person(r["student_id"], r, people)
            name = ", ".join(part for part in (p.last_name, p.first_name) if part)
            out.writerow([name, "", p.student_id, p.sis_login_id, p.section, r["score"]])
    with open(folder / "moodle.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["First name", "Last name", "ID number", "Email address", assignment])
        for r in final:
            p = person(r["student_id"], r, people)
            out.writerow([p.first_name, p.last_name, p.student_id, p.email, r["score"]])
    return [r["student_id"] for r in final]
