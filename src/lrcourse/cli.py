"""The `lrcourse` command: parses arguments and delegates to one module per verb."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .course import Course, CourseError

# A verb's options come from its function's signature (`options_from_signature`): a default
# is never repeated here. An option not given on the command line is not passed, so the
# function's own default applies, and --help shows that default.


@dataclass(frozen=True)
class Option:
    """A command-line option of one parameter of a verb's function: its help text (without
    the default, which comes from the signature) and its flags (default: --<name>; a name
    without dashes makes it positional, as in argparse)."""

    help: str
    flags: tuple[str, ...] = ()


def opt(help: str, *flags: str) -> Option:
    return Option(help, flags)


def exit_code(result: Any) -> int:
    """What a verb's result says by default: its exit_code when it has one, an int result, else 0."""
    code = getattr(result, "exit_code", result)
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def print_summary(result) -> int:
    print(result.summary())
    return result.exit_code


def print_problems(result) -> int:
    if result.failed or result.ungraded:
        print(result.summary())
    return result.exit_code


def print_path(label: str) -> Callable[[Any], int]:
    def done(path) -> int:
        print(f"{label} {path}")
        return 0

    return done


def succeed(_result) -> int:
    return 0


@dataclass(frozen=True)
class Verb:
    """A verb: `module:function` under lrcourse, imported only when the verb runs (or its
    --help is asked for), the parameters it exposes as options, and `done`, which prints
    what the function returned and gives the exit code."""

    target: str
    help: str
    options: dict[str, Option] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    done: Callable[[Any], int] = exit_code

    def function(self) -> Callable[..., Any]:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(f"lrcourse.{module}"), name)


@dataclass(frozen=True)
class Group:
    """A verb with actions (`lrcourse repos create ...`), each its own Verb."""

    help: str
    actions: dict[str, Verb]


GH_OPTIONS = {
    "org": opt("GitHub organisation"),
    "roster": opt("CSV with a github_username column (as for collect)"),
    "prefix": opt("repository name prefix before -<username>"),
    "dry_run": opt("run nothing; print the commands that would change something"),
}

VERBS: dict[str, Verb | Group] = {
    "kernel": Verb("kernel:install_kernel", "install the course's Jupyter kernel into this environment",
                   done=print_path("installed kernel")),
    "build": Verb("build:build", "regenerate source/, release/ and solutions/ from exercises/"),
    "examples": Verb("examples:make_examples", "regenerate the bundled example submissions in examples/"),
    "grade": Verb("grade:grade", "autograde submitted/ in parallel (skips up-to-date students)", {
        "workers": opt("parallel workers (when not given: all cores)", "-j", "--workers"),
        "force": opt("re-grade students that are up to date"),
        "scheduler": opt("address of a Dask scheduler to run notebooks on (tcp://host:8786)"),
        "students": opt("grade only this student (repeatable)", "--student"),
        "progress": opt("no progress bar"),
    }, aliases=("autograde",), done=print_summary),
    "feedback": Verb("feedback:feedback", "write feedback HTML (hidden tests removed) to feedback/",
                     done=print_problems),
    "export": Verb("export:export", "write grades.csv (and per-question grades)", {
        "to": opt("output CSV"),
        "roster": opt("roster CSV (as for collect) naming students in canvas.csv and moodle.csv"),
    }),
    "report": Verb("report:report", "item analysis: score distributions, pass rates, common failures", {
        "out": opt("output folder"),
    }, done=print_path("report:")),
    # the broken example is expected to fail: demo prints it in its summary and succeeds
    "demo": Verb("demo:demo", "grade the bundled example submissions end to end", done=succeed),
    "template": Verb("template:template", "build the student template repository from release/", {
        "out": opt("output folder (when not given: student-template/ in the course)"),
    }),
    "collect": Verb("collect:collect", "fill submitted/ from cloned student repositories", {
        "repos": opt("folder of cloned student repositories", "repos"),
        "roster": opt("CSV: github_username, student_id, first_name, last_name, email"),
        "deadline": opt("ISO 8601 with a UTC offset (2026-11-20T17:00:00+01:00 or ...Z): take each "
                        "repository's last commit at or before it (when not given: its latest commit)"),
        "prefix": opt("repository name prefix before -<username> (when not given: guessed; with --org: "
                      "logistic-regression)"),
        "org": opt("GitHub organisation: first clone or update <repos>/<prefix>-<username> for every "
                   "roster student (needs --roster and the GitHub CLI)"),
        "released": opt("when the assignment was released (ISO 8601 with offset): earlier commit dates "
                        "are reported as implausible"),
    }),
    "return-feedback": Verb("feedback:return_feedback",
                            "copy feedback HTML into a folder per student repository, ready to push", {
        "repos": opt("the folder of cloned student repositories given to collect", "repos"),
        "out": opt("output folder"),
        "roster": opt("the roster CSV given to collect"),
        "prefix": opt("as for collect"),
    }),
    "repos": Group("create or clone every roster student's repository in an organisation (gh)", {
        "create": Verb("repos:create_repos",
                       "create <org>/<prefix>-<username> from the template and invite the student", {
            **GH_OPTIONS,
            "template": opt("template repository in the organisation"),
            "permission": opt("the student's permission"),
        }),
        "clone": Verb("repos:clone_repos", "clone or update <org>/<prefix>-<username> into a folder, with "
                      "push times", {**GH_OPTIONS, "into": opt("folder of clones")}),
    }),
    "sandbox": Verb("sandbox.setup:sandbox_setup", "set up the grading sandbox (user, kernelspec) and probe it", {
        "check": opt("skip starting a probe kernel"),
    }, aliases=("sandbox-setup",)),
}


# Names the command itself keeps in the parsed arguments; no verb option may use them.
RESERVED = frozenset({"verb", "action", "run_verb", "root", "course"})


def type_names(annotation: Any) -> set[str]:
    """The type names of an annotation (a string under `from __future__ import annotations`):
    'int | None' -> {'int', 'None'}; 'list[str] | None' -> {'list', 'None'}."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return {part.strip().split("[")[0] for part in text.split("|")}


def options_from_signature(parser: argparse.ArgumentParser, fn: Callable[..., Any],
                           options: dict[str, Option]) -> None:
    """Add `options` (parameter name -> Option) to `parser`, each as the parameter of `fn` it names
    asks: required when it has no default; a bool with default False is `--name`, with default True
    `--no-name`; a list is repeatable; an int is parsed as one. Defaults are not given to argparse
    (an option left out is not passed, so `fn`'s own default applies); --help shows them."""
    params = inspect.signature(fn).parameters
    for name, option in options.items():
        if name not in params or name in RESERVED:
            raise TypeError(f"{fn.__module__}.{fn.__name__}: no option for {name!r} (not a parameter, or "
                            f"one of {sorted(RESERVED)})")
        param = params[name]
        default, required = param.default, param.default is inspect.Parameter.empty
        dashed = name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": option.help}
        if isinstance(default, bool):
            flags = option.flags or ((f"--no-{dashed}",) if default else (f"--{dashed}",))
            kwargs["action"] = "store_false" if default else "store_true"
        else:
            flags = option.flags or (f"--{dashed}",)
            kwargs["metavar"] = flags[-1].lstrip("-").replace("-", "_").upper()
            names = type_names(param.annotation)
            if "list" in names:
                kwargs["action"] = "append"
            elif "int" in names:
                kwargs["type"] = int
            elif "float" in names:
                kwargs["type"] = float
            if default is not None and not required:
                kwargs["help"] = f"{option.help} (default: {default})"
            if flags[0].startswith("-"):
                kwargs["required"] = required
        if not flags[0].startswith("-"):  # positional: argparse takes its dest from the name
            del kwargs["dest"], kwargs["metavar"]
            if flags[0] != name:
                raise TypeError(f"positional {flags[0]!r} must be named as the parameter {name!r}")
        parser.add_argument(*flags, **kwargs)


class VerbParser(argparse.ArgumentParser):
    """A verb's parser that adds its options only when it is used, so that `lrcourse --help`
    and every other verb import nothing of it."""

    verb: Verb | None = None

    def parse_known_args(self, args=None, namespace=None):
        verb, self.verb = self.verb, None
        if verb is not None:
            options_from_signature(self, verb.function(), verb.options)
        return super().parse_known_args(args, namespace)


def add_verbs(subparsers, verbs: dict[str, Verb | Group]) -> None:
    for name, verb in verbs.items():
        parser = subparsers.add_parser(name, help=verb.help, description=verb.help,
                                       aliases=getattr(verb, "aliases", ()))
        if isinstance(verb, Group):
            add_verbs(parser.add_subparsers(dest="action", required=True, parser_class=VerbParser), verb.actions)
        else:
            parser.verb = verb
            parser.set_defaults(run_verb=verb)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrcourse", description=__doc__)
    parser.add_argument("--root", help="course root (default: the folder holding nbgrader_config.py)")
    add_verbs(parser.add_subparsers(dest="verb", required=True, parser_class=VerbParser), VERBS)
    return parser


def head_start(argv: list[str]) -> None:
    """`lrcourse grade` on this machine (no --scheduler) starts its kernel template before it
    imports nbgrader (lrcourse.sandbox.warm.prestart_course): the template's imports and the
    grading run's own start overlap from the first second. Anything unclear here (no course, no
    submissions, a help request) starts nothing; the grading run starts its template as before."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--root")
    pre.add_argument("verb", nargs="?")
    try:
        known, rest = pre.parse_known_args(argv)
    except SystemExit:
        return
    if known.verb not in ("grade", "autograde") or any(
            a in ("-h", "--help") or a.startswith("--scheduler") for a in rest):
        return
    try:  # a head start only: whatever goes wrong here, the command itself reports (or not)
        root = Course.here(known.root).root
        submitted = root / "submitted"
        if submitted.is_dir() and any(submitted.iterdir()):
            from .sandbox.warm import prestart_course

            prestart_course(root / "nbgrader_config.py")
    except Exception:  # noqa: BLE001, S110
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    head_start(argv)
    args = make_parser().parse_args(argv)
    try:
        return run(args)
    except CourseError as err:
        print(f"lrcourse {args.verb}: {err}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    """Call the verb's function with the options given, and the course built once for the command
    (a verb without a course gets only `root`, if it takes one)."""
    verb: Verb = args.run_verb
    fn = verb.function()
    params = inspect.signature(fn).parameters
    kwargs = {name: getattr(args, name) for name in verb.options if hasattr(args, name)}
    if "course" in params:
        kwargs["course"] = Course.here(args.root)
    elif "root" in params:
        kwargs["root"] = args.root
    return verb.done(fn(**kwargs))


if __name__ == "__main__":
    sys.exit(main())
