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
    verbs.add_parser("autograde", help="autograde every submission in submitted/")
    verbs.add_parser("feedback", help="write feedback HTML (hidden tests removed) to feedback/")
    exp = verbs.add_parser("export", help="write grades.csv (and per-question grades)")
    exp.add_argument("--to", default="grades.csv", help="output CSV (default: grades.csv)")
    verbs.add_parser("demo", help="grade the bundled example submissions end to end")
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
    elif args.verb == "autograde":
        from .autograde import autograde

        return autograde(root=args.root).exit_code
    elif args.verb == "feedback":
        from .feedback import feedback

        feedback(root=args.root)
    elif args.verb == "export":
        from .export import export

        export(root=args.root, to=args.to)
    elif args.verb == "demo":
        from .demo import demo

        demo(root=args.root)  # the broken example is expected to fail; it is reported above
    # --- grading sandbox verbs
    elif args.verb in ("sandbox", "sandbox-setup"):
        from .sandbox.setup import sandbox_setup

        return sandbox_setup(root=args.root, check=not args.no_check)
    # --- end of grading sandbox verbs
    return 0


if __name__ == "__main__":
    sys.exit(main())
