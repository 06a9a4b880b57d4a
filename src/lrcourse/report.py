"""Verb `report`: item analysis of the cohort, as an HTML page with PNG plots.

For every exercise: the distribution of autograded scores; for every test cell: the
share of students who passed it; and the most common failure messages, read from
the autograded notebooks, so an instructor sees which misconception hit the class.
Only valid, current grades count (see lrcourse.status); the page says how many
submissions were left out and why, and lists every student whose grade needs the
instructor: notebooks that could not be graded (and why), written answers still waiting
for a grader, signs of tampering. Formgrader cannot show these (a notebook that failed
shows there as "not submitted"), so this table is the place to look.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path

from .course import Course
from .export import student_record
from .gradebook import students as gradebook_students
from .gradebook import submission_scores
from .notebooks import read
from .status import StatusStore, submitted_students

TOP_MESSAGES = 5
LOW, HIGH = "#D55E00", "#0072B2"  # pass-rate bars: below half of the students / half or more


def failure_messages(course: Course, student: str, stem: str) -> dict[str, str]:
    """{test cell: 'ErrorName: message'} for the failed test cells of one autograded notebook."""
    path = course.step_dir("autograded", student) / f"{stem}.ipynb"
    if not path.is_file():
        return {}
    found = {}
    for cell in read(path).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = (output.get("evalue") or "").strip().splitlines()
                found[meta["grade_id"]] = f"{output.ename}: {message[0] if message else ''}".rstrip(": ")
                break
    return found


def collect(course: Course):
    """Per-notebook score lists, per-cell pass counts and failure messages, and exclusions."""
    store = StatusStore(course)
    cells = [(nb, cell, top) for nb, cell, top in course.graded_cells()]
    auto_cells = {(nb, cell) for nb, cell, _ in cells if "_tests" in cell}
    students = gradebook_students(course.db_url)
    totals: dict[str, list[float]] = defaultdict(list)
    passed: Counter = Counter()
    attempted: Counter = Counter()
    messages: dict[tuple[str, str], Counter] = defaultdict(Counter)
    excluded: dict[str, str] = {}
    for student in students:
        problems = store.problems(student)
        if "*" in problems:
            excluded[student] = problems["*"]
            continue
        scores = {(r.notebook, r.cell): (r.score, r.max_score) for r in submission_scores(course.db_url, student)}
        for stem in course.notebooks():
            if stem in problems:
                excluded[f"{student}/{stem}"] = problems[stem]
                continue
            nb_scores = [(c, scores.get((stem, c))) for n, c, _ in cells if n == stem and (n, c) in auto_cells]
            if not nb_scores or any(v is None for _, v in nb_scores):
                continue
            totals[stem].append(sum(v[0] for _, v in nb_scores))
            fails = failure_messages(course, student, stem)
            for cell, (score, top) in nb_scores:
                attempted[(stem, cell)] += 1
                if score >= top:
                    passed[(stem, cell)] += 1
                elif cell in fails:
                    messages[(stem, cell)][fails[cell]] += 1
    return cells, auto_cells, totals, passed, attempted, messages, excluded


def plot_scores(course: Course, stem: str, scores: list[float], top: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.hist(scores, bins=[x / 2 for x in range(int(2 * top) + 2)], color="#0072B2", edgecolor="white")
    ax.set_xlabel("autograded score")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(stem, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80, metadata={"Software": None})
    plt.close(fig)


def plot_pass_rates(rows: list[tuple[str, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.3))
    names = [name for name, _ in rows][::-1]
    rates = [100 * rate for _, rate in rows][::-1]
    ax.barh(names, rates, color=[LOW if r < 50 else HIGH for r in rates])
    ax.set_xlim(0, 100)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=LOW, label="fewer than half passed"),
                       Patch(color=HIGH, label="half or more passed")],
              loc="lower left", bbox_to_anchor=(0, 1), ncol=2, fontsize=8, frameon=False)
    ax.set_xlabel("students who passed the check (%)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80, metadata={"Software": None})
    plt.close(fig)


def attention_table(course: Course) -> list[str]:
    """HTML rows for every student whose grade is not final, or who should be looked at."""
    esc = html.escape
    store, cells = StatusStore(course), course.graded_cells()
    students = sorted(set(gradebook_students(course.db_url)) | set(submitted_students(course)) | set(store.students))
    rows = []
    for student in students:
        rec = student_record(course, student, store, cells)
        failed = [f"{nb}: {n['reason'] or n['status']}" for nb, n in rec["notebooks"].items()
                  if n["score"] is None and rec["status"] != "not submitted"]
        waiting = [f"{nb}:{cell}" for nb, n in rec["notebooks"].items() for cell, c in n["cells"].items()
                   if c["score"] is None and "_tests" not in cell and n["score"] is not None]
        if rec["status"] == "graded" and not rec["review"]:
            continue
        rows.append(f"<tr><td>{esc(student)}</td><td class='{'low' if failed else ''}'>{esc(rec['status'])}</td>"
                    f"<td>{'<br>'.join(map(esc, failed))}</td><td>{'<br>'.join(map(esc, waiting))}</td>"
                    f"<td>{'<br>'.join(map(esc, rec['review']))}</td></tr>")
    if not rows:
        return ["<h2>Students to look at</h2><p>None: every student's grade is final.</p>"]
    return ["<h2>Students to look at</h2><p>Grades that are not final: notebooks that could not be graded "
            "(formgrader shows them as not submitted), written answers no grader has scored, signs of "
            "tampering.</p><table><tr><th>student</th><th>status</th><th>not graded (why)</th>"
            "<th>written answers waiting</th><th>review</th></tr>", *rows, "</table>"]


def report(course: Course | None = None, *, out: str = "exports/report", root: str | None = None) -> Path:
    """Write <out>/index.html with score distributions, pass rates and common failures."""
    course = Course.of(course, root)
    folder = (course.root / out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    cells, auto_cells, totals, passed, attempted, messages, excluded = collect(course)
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Item analysis: "
             f"{esc(course.coursedir.course_id)}</title><style>body{{font-family:sans-serif;max-width:60em;"
             "margin:auto}} td,th{padding:2px 8px;text-align:left} .low{color:#D55E00}</style></head><body>",
             f"<h1>Item analysis — {esc(course.coursedir.course_id)}</h1>"]
    counted = max((len(v) for v in totals.values()), default=0)
    parts.append(f"<p>{counted} graded submissions per exercise at most; {len(excluded)} left out "
                 "(no valid, current grade).</p>")
    parts.append("<h2>Scores per exercise</h2>")
    for stem in course.notebooks():
        if not totals.get(stem):
            continue
        top = sum(t for n, c, t in cells if n == stem and (n, c) in auto_cells)
        plot_scores(course, stem, totals[stem], top, folder / f"scores_{stem}.png")
        mean = sum(totals[stem]) / len(totals[stem])
        parts.append(f"<h3>{esc(stem)}</h3><p>mean {mean:.2f} of {top:g} over {len(totals[stem])} students</p>"
                     f"<img src='scores_{esc(stem)}.png' alt='score distribution of {esc(stem)}'>")
    rows = [(cell, passed[(nb, cell)] / attempted[(nb, cell)])
            for nb, cell, _ in cells if attempted[(nb, cell)]]
    if rows:
        plot_pass_rates(rows, folder / "pass_rates.png")
        parts.append("<h2>Pass rate of each check</h2><img src='pass_rates.png' alt='pass rate per test cell'>")
    parts.append("<h2>Most common failure messages</h2><table><tr><th>check</th><th>passed</th>"
                 "<th>students</th><th>message</th></tr>")
    for nb, cell, _ in cells:
        key = (nb, cell)
        if not attempted[key]:
            continue
        rate = passed[key] / attempted[key]
        common = messages[key].most_common(TOP_MESSAGES) or [("", 0)]
        for i, (message, count) in enumerate(common):
            label = f"<td rowspan='{len(common)}'>{esc(nb)}:{esc(cell)}</td><td rowspan='{len(common)}' " \
                    f"class='{'low' if rate < 0.5 else ''}'>{rate:.0%}</td>" if i == 0 else ""
            parts.append(f"<tr>{label}<td>{count or ''}</td><td>{esc(message)}</td></tr>")
    parts.append("</table>")
    parts += attention_table(course)
    if excluded:
        parts.append("<h2>Left out</h2><ul>" + "".join(
            f"<li>{esc(k)}: {esc(v)}</li>" for k, v in sorted(excluded.items())) + "</ul>")
    parts.append("</body></html>\n")
    (folder / "index.html").write_text("\n".join(parts))
    return folder / "index.html"
