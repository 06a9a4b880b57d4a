"""The `lrcourse` command: parses arguments and delegates to one module per verb."""

from __future__ import annotations

import argparse
import sys

from .course import CourseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lrcourse", description=__doc__)
    parser.add_argument("--root", help="course root (default: the folder holding nbgrader_config.py)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("kernel", help="install the course's Jupyter kernel into this environment")
    verbs.add_parser("build", help="regenerate source/, release/ and solutions/ from exercises/")
    verbs.add_parser("examples", help="regenerate the bundled example submissions in examples/")
    g = verbs.add_parser("grade", aliases=["autograde"],
                         help="autograde submitted/ in parallel (skips up-to-date students)")
    g.add_argument("-j", "--workers", type=int, help="parallel workers (default: all cores)")
    g.add_argument("--force", action="store_true", help="re-grade students that are up to date")
    g.add_argument("--scheduler", help="address of a Dask scheduler to run notebooks on (tcp://host:8786)")
    g.add_argument("--student", action="append", help="grade only this student (repeatable)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    verbs.add_parser("feedback", help="write feedback HTML (hidden tests removed) to feedback/")
    exp = verbs.add_parser("export", help="write grades.csv (and per-question grades)")
    exp.add_argument("--to", default="grades.csv", help="output CSV (default: grades.csv)")
    exp.add_argument("--roster", help="roster CSV (as for collect) naming students in canvas.csv and moodle.csv")
    rep = verbs.add_parser("report", help="item analysis: score distributions, pass rates, common failures")
    rep.add_argument("--out", default="exports/report", help="output folder (default: exports/report)")
    verbs.add_parser("demo", help="grade the bundled example submissions end to end")
    add_github_verbs(verbs)
    # --- grading sandbox verbs (src/lrcourse/sandbox/)
    sbx = verbs.add_parser("sandbox", aliases=["sandbox-setup"],
                           help="set up the grading sandbox (user, kernelspec) and probe it")
    sbx.add_argument("--no-check", action="store_true", help="skip starting a probe kernel")
    # --- end of grading sandbox verbs
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CourseError as err:
        print(f"lrcourse {args.verb}: {err}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    if args.verb == "kernel":
        from .kernel import install_kernel

        print(f"installed kernel {install_kernel()}")
    elif args.verb == "build":
        from .build import build

        build(root=args.root)
    elif args.verb == "examples":
        from .examples import make_examples

        make_examples(root=args.root)
    elif args.verb in ("grade", "autograde"):
        from .grade import grade

        report = grade(root=args.root, workers=args.workers, force=args.force, scheduler=args.scheduler,
                       students=args.student, progress=not args.no_progress)
        print(report.summary())
        return report.exit_code
    elif args.verb == "feedback":
        from .feedback import feedback

        done = feedback(root=args.root)
        if done.failed or done.ungraded:
            print(done.summary())
        return done.exit_code
    elif args.verb == "export":
        from .export import export

        export(root=args.root, to=args.to, roster=args.roster)
    elif args.verb == "report":
        from .report import report

        print(f"report: {report(root=args.root, out=args.out)}")
    elif args.verb == "demo":
        from .demo import demo

        demo(root=args.root)  # the broken example is expected to fail; it is reported above
    elif args.verb in GITHUB_VERBS:
        return run_github_verb(args)
    # --- grading sandbox verbs
    elif args.verb in ("sandbox", "sandbox-setup"):
        from .sandbox.setup import sandbox_setup

        return sandbox_setup(root=args.root, check=not args.no_check)
    # --- end of grading sandbox verbs
    return 0


# --- GitHub submission verbs (issues 6, 15): template, collect, return-feedback, repos --------
GITHUB_VERBS = ("template", "collect", "return-feedback", "repos")


def add_github_verbs(verbs) -> None:
    tpl = verbs.add_parser("template", help="build the student template repository from release/")
    tpl.add_argument("--out", help="output folder (default: student-template/ in the course)")
    col = verbs.add_parser("collect", help="fill submitted/ from cloned student repositories")
    col.add_argument("repos", help="folder of cloned student repositories")
    col.add_argument("--roster", help="CSV: github_username, student_id, first_name, last_name, email")
    col.add_argument("--deadline", help="ISO 8601 with a UTC offset (2026-11-20T17:00:00+01:00 or ...Z): "
                     "take each repository's last commit at or before it (default: its latest commit)")
    col.add_argument("--prefix", help="repository name prefix before -<username> (default: guessed; "
                     "with --org: logistic-regression)")
    col.add_argument("--org", help="GitHub organisation: first clone or update <repos>/<prefix>-<username> "
                     "for every roster student (needs --roster and the GitHub CLI)")
    col.add_argument("--released", help="when the assignment was released (ISO 8601 with offset): "
                     "earlier commit dates are reported as implausible")
    ret = verbs.add_parser("return-feedback",
                           help="copy feedback HTML into a folder per student repository, ready to push")
    ret.add_argument("repos", help="the folder of cloned student repositories given to collect")
    ret.add_argument("--out", default="feedback-repos", help="output folder (default: feedback-repos/)")
    ret.add_argument("--roster", help="the roster CSV given to collect")
    ret.add_argument("--prefix", help="as for collect")
    rp = verbs.add_parser("repos", help="create or clone every roster student's repository in an organisation (gh)")
    rpv = rp.add_subparsers(dest="action", required=True)
    for action, text in (("create", "create <org>/<prefix>-<username> from the template and invite the student"),
                         ("clone", "clone or update <org>/<prefix>-<username> into a folder, with push times")):
        a = rpv.add_parser(action, help=text)
        a.add_argument("--org", required=True, help="GitHub organisation")
        a.add_argument("--roster", required=True, help="CSV with a github_username column (as for collect)")
        a.add_argument("--prefix", default="logistic-regression",
                       help="repository name prefix before -<username> (default: logistic-regression)")
        a.add_argument("--dry-run", action="store_true", help="run nothing; print the commands that would change "
                       "something")
        if action == "create":
            a.add_argument("--template", required=True, help="template repository in the organisation")
            a.add_argument("--permission", default="push", help="the student's permission (default: push)")
        else:
            a.add_argument("--into", default="clones", help="folder of clones (default: clones/)")


def run_github_verb(args: argparse.Namespace) -> int:
    if args.verb == "template":
        from .template import template

        template(root=args.root, out=args.out)
        return 0
    if args.verb == "collect":
        from .collect import collect

        return collect(root=args.root, repos=args.repos, roster=args.roster, deadline=args.deadline,
                       prefix=args.prefix, org=args.org, released=args.released).exit_code
    if args.verb == "repos":
        from .repos import clone_repos, create_repos

        if args.action == "create":
            return create_repos(org=args.org, template=args.template, roster=args.roster, prefix=args.prefix,
                                permission=args.permission, dry_run=args.dry_run).exit_code
        return clone_repos(org=args.org, roster=args.roster, prefix=args.prefix, into=args.into,
                           dry_run=args.dry_run).exit_code
    from .feedback import return_feedback

    return_feedback(root=args.root, repos=args.repos, out=args.out, roster=args.roster, prefix=args.prefix)
    return 0
# --- end of GitHub submission verbs ---------------------------------------------------------


if __name__ == "__main__":
    sys.exit(main())
