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
    verbs.add_parser("build", help="regenerate source/, release/ and solutions/ from notebooks/")
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
    verbs.add_parser("demo", help="grade the bundled example submissions end to end")
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

        feedback(root=args.root)
    elif args.verb == "export":
        from .export import export

        export(root=args.root, to=args.to)
    elif args.verb == "demo":
        from .demo import demo

        demo(root=args.root)  # the broken example is expected to fail; it is reported above
    return 0


if __name__ == "__main__":
    sys.exit(main())
