"""The pure functions on their own: the authoring format, exercise discovery, review flags and
a student's export status. No kernel, no nbgrader run: each test takes milliseconds."""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from helpers import ROOT, release_nb

from lrcourse import course as course_module
from lrcourse.cli import VERBS, Group, Verb, main, opt, options_from_signature
from lrcourse.course import Course, CourseError, exercise_order
from lrcourse.export import student_status
from lrcourse.grade import GradeReport, grade
from lrcourse.notebooks import text_to_notebook
from lrcourse.scenarios import scenarios_for
from lrcourse.status import NOT_SUBMITTED
from lrcourse.tamper import code_flags, structure_flags

GIVEN = '# %% lrc="given ex9_setup"\nx = 1\n\n'
ANSWER = '# %% lrc="answer ex9_value"\n### BEGIN SOLUTION\nvalue = x + 1\n### END SOLUTION\n\n'
TESTS = '# %% lrc="tests ex9_value_tests 1" reads="value"\n# Checks value.\nassert value == 2, "value is x + 1"\n'


# --- text_to_notebook: the authoring format and its errors

def test_a_valid_text_becomes_an_nbgrader_notebook_with_metadata_and_the_reads_line():
    nb = text_to_notebook(GIVEN + ANSWER + TESTS, name="ex9.py")
    given, answer, tests = nb.cells
    assert [c.id for c in nb.cells] == ["ex9_setup", "ex9_value", "ex9_value_tests"]
    assert given.metadata.nbgrader["locked"] and not given.metadata.nbgrader["grade"]
    assert answer.metadata.nbgrader["solution"] and not answer.metadata.nbgrader["locked"]
    assert tests.metadata.nbgrader["points"] == 1 and tests.metadata.editable is False
    assert tests.source.splitlines()[0] == "# Answers read by this test: value"


@pytest.mark.parametrize(("text", "message"), [
    ("# %%\nx = 1\n", "cell without a valid lrc header"),
    ('# %% lrc="given"\nx = 1\n', "cell without a valid lrc header"),
    ('# %% lrc="tests ex9_value_tests" reads="value"\nassert True\n', "cell without a valid lrc header"),
    ('# %% lrc="homework ex9_x"\nx = 1\n', "cell without a valid lrc header"),
    ('# %% [markdown] lrc="answer ex9_value"\n# some text\n', "ex9_value is a answer cell but is markdown"),
    (GIVEN + '# %% lrc="given ex9_setup"\ny = 2\n', "duplicate grade id ex9_setup"),
    (GIVEN + ANSWER + '# %% lrc="tests ex9_value_tests 1"\nassert value == 2\n', 'declares no reads='),
    ('# %% lrc="given ex9_setup" reads="x"\nx = 1\n', "is no test cell but declares reads="),
    (GIVEN + ANSWER + TESTS.replace('reads="value"', 'reads="value x"'), "x"),
])
def test_a_malformed_text_is_refused_naming_the_file_and_the_cell(text, message):
    with pytest.raises(CourseError) as err:
        text_to_notebook(text, name="ex9.py")
    assert str(err.value).startswith("ex9.py: ") and message in str(err.value)


def test_a_test_reading_an_undeclared_answer_is_refused():
    undeclared = TESTS.replace('reads="value"', 'reads="x"')
    with pytest.raises(CourseError, match="ex9.py: .*value"):
        text_to_notebook(GIVEN + ANSWER + undeclared, name="ex9.py")


# --- exercise discovery

def course_with(tmp_path, folders: dict[str, dict[str, str]]) -> Course:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for name, files in folders.items():
        (tmp_path / "exercises" / name).mkdir(parents=True)
        for file, text in files.items():
            (tmp_path / "exercises" / name / file).write_text(text)
    return Course(tmp_path)


SCENARIOS = 'from lrcourse.scenarios import correct\nSCENARIOS = [correct("solution")]\n'


def test_exercises_are_the_folders_in_exercise_number_order(tmp_path):
    names = ["ex10_last", "ex2_second", "ex1_first"]
    course = course_with(tmp_path, {n: {f"{n}.py": GIVEN, "scenarios.py": SCENARIOS} for n in names})
    assert course.exercises() == ["ex1_first", "ex2_second", "ex10_last"]
    assert [s.name for s in scenarios_for("ex10_last", course)] == ["solution"]
    assert sorted(["ex10_a", "ex9_b", "ex1_c"], key=exercise_order) == ["ex1_c", "ex9_b", "ex10_a"]


def test_the_repository_lists_its_five_exercises():
    assert Course(ROOT).exercises() == ["ex1_probability_curve", "ex2_decision_thresholds", "ex3_class_imbalance",
                                        "ex4_logistic_vs_linear", "ex5_breast_cancer"]


@pytest.mark.parametrize(("name", "files", "message"), [
    ("ex6_roc_curve", {"scenarios.py": SCENARIOS}, "missing ex6_roc_curve.py"),
    ("ex6_roc_curve", {"ex6_roc_curve.py": GIVEN}, "missing scenarios.py"),
    ("Ex6-ROC", {"Ex6-ROC.py": GIVEN, "scenarios.py": SCENARIOS}, "not an exercise name"),
    ("roc_curve", {"roc_curve.py": GIVEN, "scenarios.py": SCENARIOS}, "not an exercise name"),
])
def test_a_malformed_exercise_folder_is_an_error_naming_it(tmp_path, name, files, message):
    course = course_with(tmp_path, {name: files})
    with pytest.raises(CourseError) as err:
        course.exercises()
    assert str(tmp_path / "exercises" / name) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(("text", "message"), [
    ("from lrcourse.scenarios import nothing_like_this\n", "cannot be imported: ImportError"),
    ("SCENARIOS = [\n", "cannot be imported: SyntaxError"),
    ("SCENARIOS = ['solution']\n", "SCENARIOS must be a list"),
    ("X = 1\n", "SCENARIOS must be a list"),
    ('from lrcourse.scenarios import correct\nSCENARIOS = [correct("a"), correct("a")]\n', "duplicate scenario"),
])
def test_a_broken_scenarios_file_is_an_error_naming_it(tmp_path, text, message):
    course = course_with(tmp_path, {"ex6_roc_curve": {"ex6_roc_curve.py": GIVEN, "scenarios.py": text}})
    with pytest.raises(CourseError) as err:
        scenarios_for("ex6_roc_curve", course)
    assert str(course.exercise_dir("ex6_roc_curve") / "scenarios.py") in str(err.value)
    assert message in str(err.value)


# --- review flags

STEM = "ex1_probability_curve"


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def test_an_untouched_release_raises_no_structure_flag():
    assert structure_flags(release_nb(STEM), release_nb(STEM)) == []


def test_structure_flags_name_each_edit_of_the_handed_out_cells():
    release, nb = release_nb(STEM), release_nb(STEM)
    cell(nb, "ex1_model_tests").source = "pass"
    nb.cells.remove(cell(nb, "ex1_curve_tests"))
    cell(nb, "ex1_plot").metadata.nbgrader["points"] = 99
    extra = nbformat.v4.new_code_cell("x = 1")
    extra.metadata.nbgrader = {"grade_id": "my_own", "grade": False, "solution": True, "locked": False}
    nb.cells.append(extra)
    nb.metadata.kernelspec = {"name": "other", "display_name": "other", "language": "python"}
    assert structure_flags(nb, release) == [
        "test cell ex1_model_tests edited",
        "test cell ex1_curve_tests deleted",
        "nbgrader metadata of ex1_plot edited (points None -> 99)",
        "unknown cell id my_own (renamed or added with nbgrader metadata)",
        "notebook claims kernel 'other' (grading ignores it)",
    ]


def test_structure_flags_see_moved_and_duplicated_cells():
    release, nb = release_nb(STEM), release_nb(STEM)
    model = cell(nb, "ex1_model")
    nb.cells.remove(model)
    nb.cells.insert(0, model)
    nb.cells.append(nbformat.from_dict(cell(release, "ex1_crossing")))
    flags = structure_flags(nb, release)
    assert "cell ex1_crossing duplicated (2 copies)" in flags
    assert any(f.startswith("cells moved, from ex1_model on") for f in flags), flags


def answer_nb(source: str):
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell(source)
    answer.metadata.nbgrader = {"grade_id": "ex9_value", "solution": True, "locked": False}
    given = nbformat.v4.new_code_cell("import os")
    given.metadata.nbgrader = {"grade_id": "ex9_setup", "locked": True}
    nb.cells = [given, answer]
    return nb


def test_an_honest_answer_raises_no_code_flag_and_locked_cells_are_not_scanned():
    assert code_flags(answer_nb("import numpy as np\nvalue = float(np.mean([1, 2, 3]))")) == []


@pytest.mark.parametrize(("source", "flag"), [
    ("get_ipython().events.register('post_run_cell', print)", "ex9_value: uses IPython's internals (get_ipython)"),
    ("import subprocess", "ex9_value: imports subprocess"),
    ("import numpy as np\nnp.isclose = lambda *a, **k: True", "ex9_value: replaces np.isclose"),
    ("class Liar(float):\n    def __eq__(self, other):\n        return True", "ex9_value: defines __eq__"),
    ("len = lambda x: 3", "ex9_value: redefines the builtin len"),
    ("import os\nos._exit(0)", "ex9_value: uses ._exit"),
])
def test_code_flags_name_what_an_answer_reaches_for(source, flag):
    assert flag in code_flags(answer_nb(source))


def test_code_flags_skip_code_that_does_not_parse():
    assert code_flags(answer_nb("%timeit 1 + 1")) == []


# --- a student's status in the exports

NOTEBOOKS = ["ex1_a", "ex2_b"]


@pytest.mark.parametrize(("problems", "waiting", "status"), [
    ({}, [], "graded"),
    ({}, ["ex1_a:ex1_essay"], "autograded"),
    ({"*": NOT_SUBMITTED}, [], "not submitted"),
    ({"*": "gradebook refused it"}, [], "not graded"),
    ({"ex1_a": "kernel died", "ex2_b": "not JSON"}, [], "not graded"),
    ({"ex1_a": "kernel died"}, [], "incomplete"),
    ({"ex1_a": "kernel died"}, ["ex2_b:ex2_essay"], "incomplete"),
])
def test_student_status(problems, waiting, status):
    assert student_status(problems, NOTEBOOKS, waiting) == status



# --- paths come from nbgrader's configuration

def test_step_folders_follow_nbgraders_directory_structure(tmp_path):
    config = (ROOT / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(
        config + '\nc.CourseDirectory.directory_structure = "{assignment_id}/{nbgrader_step}/{student_id}"\n')
    course = Course(tmp_path)
    assert course.step_dir("submitted", "bob") == tmp_path / "logistic_regression" / "submitted" / "bob"
    assert course.step_dir("solutions") == tmp_path / "logistic_regression" / "solutions"
    for student in ("bob", "alice"):
        (tmp_path / "logistic_regression" / "feedback" / student).mkdir(parents=True)
    (tmp_path / "feedback" / "eve" / "logistic_regression").mkdir(parents=True)  # the default layout: not here
    assert course.student_dirs("feedback") == {
        "alice": tmp_path / "logistic_regression" / "feedback" / "alice",
        "bob": tmp_path / "logistic_regression" / "feedback" / "bob"}


def test_the_default_layout_is_nbgraders_and_the_cell_timeout_is_the_configured_one():
    course = Course(ROOT)
    assert course.step_dir("autograded", "bob") == ROOT / "autograded" / "bob" / "logistic_regression"
    assert course.cell_timeout() == course.config.Execute.timeout == 60


# --- the command: options from the verbs' signatures, one Course per command

def leaf_verbs() -> dict[tuple[str, ...], Verb]:
    """Every verb of the command by the words that call it: ("grade",), ("repos", "create"), ..."""
    found = {}
    for name, verb in VERBS.items():
        for action, leaf in (verb.actions.items() if isinstance(verb, Group) else [(None, verb)]):
            found[(name, action) if action else (name,)] = leaf
    return found


def signature_defaults(verb: Verb) -> dict[str, object]:
    """The defaults the verb's function gives its command-line options that take a value."""
    params = inspect.signature(verb.function()).parameters
    return {name: params[name].default for name in verb.options
            if params[name].default not in (None, inspect.Parameter.empty)
            and not isinstance(params[name].default, bool)}


def fake_verb(course: Course | None = None, *, to: str = "elsewhere.csv", tries: int = 3,
              workers: int | None = None, quiet: bool = False, progress: bool = True,
              names: list[str] | None = None, root: str | None = None):
    """A verb with one parameter of each kind the command knows."""


FAKE_OPTIONS = {"to": opt("output"), "tries": opt("attempts"), "workers": opt("workers", "-j", "--workers"),
                "quiet": opt("say less"), "progress": opt("no progress bar"), "names": opt("a name", "--name")}


def test_options_take_their_kind_and_default_from_the_signature_and_argparse_keeps_no_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # no wrapped help lines
    parser = argparse.ArgumentParser()
    options_from_signature(parser, fake_verb, FAKE_OPTIONS)
    text = parser.format_help()
    assert "output (default: elsewhere.csv)" in text and "attempts (default: 3)" in text
    assert "--no-progress" in text and "--quiet" in text and "--name NAME" in text
    assert "(default: None)" not in text and "(default: True)" not in text
    assert vars(parser.parse_args([])) == {}  # nothing given: the function's own defaults apply
    given = parser.parse_args(["--tries", "5", "-j", "2", "--quiet", "--no-progress", "--name", "a", "--name", "b"])
    assert vars(given) == {"tries": 5, "workers": 2, "quiet": True, "progress": False, "names": ["a", "b"]}


def test_an_option_for_no_parameter_of_the_verb_is_refused():
    with pytest.raises(TypeError, match="'tires'"):
        options_from_signature(argparse.ArgumentParser(), fake_verb, {"tires": opt("attempts")})
    with pytest.raises(TypeError, match="'root'"):
        options_from_signature(argparse.ArgumentParser(), fake_verb, {"root": opt("course root")})


@pytest.mark.parametrize("words", list(leaf_verbs()), ids=" ".join)
def test_every_verbs_help_shows_the_defaults_of_its_function(words, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for name, default in signature_defaults(leaf_verbs()[words]).items():
        assert f"(default: {default})" in text, f"--help of `{' '.join(words)}` does not show {name}={default!r}"


def test_the_signature_defaults_are_the_ones_the_verbs_document():
    """A few by value, so that the test above cannot pass on an empty list of defaults."""
    verbs = leaf_verbs()
    assert signature_defaults(verbs[("export",)]) == {"to": "grades.csv"}
    assert signature_defaults(verbs[("report",)]) == {"out": "exports/report"}
    assert signature_defaults(verbs[("repos", "clone")]) == {"prefix": "logistic-regression", "into": "clones"}


def cli_and_python_calls(words, verb: Verb, root: Path, monkeypatch) -> tuple[dict, dict]:
    """The arguments the verb's function gets from `lrcourse --root <root> <words>` with only the
    required options, and from a Python call with the same values, each with its defaults applied."""
    real = verb.function()
    sig = inspect.signature(real)
    calls = []

    @functools.wraps(real)
    def recorder(*args, **kwargs):
        calls.append(sig.bind(*args, **kwargs))
        return SimpleNamespace(exit_code=0, failed={}, ungraded=[], summary=lambda: "")

    module, name = verb.target.split(":")
    monkeypatch.setattr(importlib.import_module(f"lrcourse.{module}"), name, recorder)
    required = {n: f"given-{n}" for n in verb.options if sig.parameters[n].default is inspect.Parameter.empty}
    argv = []
    for n, value in required.items():
        flags = verb.options[n].flags
        argv += [value] if flags and not flags[0].startswith("-") else [flags[0] if flags else f"--{n}", value]
    assert main(["--root", str(root), *words, *argv]) == 0
    if "course" in sig.parameters:
        required["course"] = Course(root.resolve())
    elif "root" in sig.parameters:
        required["root"] = str(root)
    from_python = sig.bind(**required)
    (from_cli,) = calls
    from_cli.apply_defaults()
    from_python.apply_defaults()
    return from_cli.arguments, from_python.arguments


@pytest.mark.parametrize("words", list(leaf_verbs()), ids=" ".join)
def test_a_verb_called_from_the_cli_gets_the_defaults_it_gets_when_called_from_python(words, tmp_path, monkeypatch):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    from_cli, from_python = cli_and_python_calls(words, leaf_verbs()[words], tmp_path, monkeypatch)
    assert from_cli == from_python


def test_the_cli_hands_the_grade_verb_the_course_and_the_options_given(tmp_path, monkeypatch):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    calls = []

    @functools.wraps(grade)
    def recorder(course, **kwargs):
        calls.append((course, kwargs))
        return GradeReport()

    monkeypatch.setattr("lrcourse.grade.grade", recorder)
    argv = ["--root", str(tmp_path), "autograde", "-j", "3", "--force", "--student", "a", "--student", "b",
            "--no-progress"]
    assert main(argv) == 0
    assert calls == [(Course(tmp_path.resolve()), {"workers": 3, "force": True, "students": ["a", "b"],
                                                    "progress": False})]


def test_the_config_is_loaded_once_per_course_and_a_verb_given_a_course_uses_it(tmp_path, monkeypatch):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    loads = []
    real_load = course_module.load_config
    monkeypatch.setattr(course_module, "load_config", lambda folder: loads.append(folder) or real_load(folder))
    course = Course(tmp_path)
    assert Course.of(course) is course and Course.of(root=str(tmp_path)) == course
    course.step_dir("submitted", "bob"), course.cell_timeout(), course.db_url, course.config
    assert loads == [tmp_path]
    with pytest.raises(TypeError):
        Course.of(course, root=str(tmp_path))


def test_the_kernel_the_head_start_reads_is_the_one_the_loaded_config_names(tmp_path):
    """cli.head_start reads nbgrader_config.py's kernel without loading the file; on the course's
    own file that is the kernel nbgrader sees. A line it cannot read plainly starts nothing."""
    from lrcourse.sandbox.warm import KERNEL_NAME_LINE

    text = (ROOT / "nbgrader_config.py").read_text()
    names = [name for _, name in KERNEL_NAME_LINE.findall(text)]
    assert names == [Course(ROOT).config.Execute.kernel_name] == ["lrcourse-sandbox"]
    assert [n for _, n in KERNEL_NAME_LINE.findall("c.Execute.kernel_name = 'k-1.x'  # why\n")] == ["k-1.x"]
    for unclear in ("c.Execute.kernel_name = NAME\n", "c.Execute.kernel_name = 'a' + 'b'\n",
                    "# c.Execute.kernel_name = 'a'\n", "c.Execute.kernel_name = 'a\"\n"):
        assert KERNEL_NAME_LINE.findall(unclear) == [], unclear


@pytest.mark.parametrize("argv, submitted, started", [
    (["grade"], True, True),
    (["autograde", "-j", "2", "--no-progress"], True, True),
    (["--root", "{root}", "grade", "--student", "a"], True, True),
    (["grade"], False, False),  # nothing submitted: nothing to grade
    (["grade", "--scheduler", "tcp://h:8786"], True, False),  # kernels start on the Dask workers
    (["grade", "--scheduler=tcp://h:8786"], True, False),
    (["grade", "--help"], True, False),
    (["export"], True, False),
    ([], True, False),
])
def test_only_a_local_grading_run_with_submissions_starts_its_template_before_loading_the_config(
        argv, submitted, started, tmp_path, monkeypatch):
    from lrcourse import cli
    from lrcourse.sandbox import warm

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    if submitted:
        (tmp_path / "submitted" / "a").mkdir(parents=True)
    calls = []
    monkeypatch.setattr(warm, "prestart_course", calls.append)
    monkeypatch.chdir(tmp_path if "--root" not in argv else ROOT / "docs")
    cli.head_start([a.format(root=tmp_path) for a in argv])
    assert calls == ([tmp_path.resolve() / "nbgrader_config.py"] if started else [])


def test_a_head_start_that_fails_leaves_the_command_to_run_as_before(tmp_path, monkeypatch):
    from lrcourse import cli
    from lrcourse.sandbox import warm

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "submitted" / "a").mkdir(parents=True)

    def broken(config_file):
        raise RuntimeError("no template here")

    monkeypatch.setattr(warm, "prestart_course", broken)
    monkeypatch.chdir(tmp_path)
    assert cli.head_start(["grade"]) is None


def test_lrcourse_help_imports_no_verb_and_neither_nbgrader_nor_numpy():
    probe = ("import sys\nfrom lrcourse.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbgrader', 'nbformat', 'numpy', "
             "'sklearn', 'traitlets') or m in ('lrcourse.grade', 'lrcourse.export', 'lrcourse.collect')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "usage: lrcourse" in proc.stdout and "return-feedback" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "[]"


# --- the sandbox's port relay (lrcourse.sandbox.relay), with a Unix echo server for a kernel

def test_the_relay_copies_bytes_both_ways_and_stop_closes_every_connection(tmp_path):
    import socket
    import threading

    from lrcourse.sandbox.relay import PORTS, Relay

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    connection = {"ip": "127.0.0.1", **{key: free_port() for key in PORTS}}
    servers = []
    for key in PORTS:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(tmp_path / f"kernel-{connection[key]}"))
        server.listen()
        servers.append(server)

    def echo(server):
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1 << 16):
                conn.sendall(data)

    for server in servers:
        threading.Thread(target=echo, args=(server,), daemon=True).start()
    relay = Relay(connection, tmp_path / "kernel", alive=lambda: True, wait=5)
    relay.start()
    clients = []
    try:
        for key in PORTS:
            client = socket.create_connection(("127.0.0.1", connection[key]), timeout=10)
            clients.append(client)
            payload = key.encode() * 50_000  # larger than one chunk: sent and read in pieces
            threading.Thread(target=client.sendall, args=(payload,), daemon=True).start()
            received = b""
            while len(received) < len(payload):
                received += client.recv(1 << 16)
            assert received == payload
    finally:
        relay.stop()
    for client in clients:
        assert client.recv(1) == b""  # the relay closed it
        client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", connection["shell_port"]), timeout=2)
    for server in servers:
        server.close()


def test_the_relay_accepts_on_the_listening_sockets_it_is_given_and_closes_unused_ones(tmp_path):
    import socket
    import threading

    from lrcourse.sandbox.relay import PORTS, Relay

    given = {}
    for _ in range(len(PORTS) + 1):  # one socket a port, and one for no port of the connection
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        given[sock.getsockname()[1]] = sock
    ports = list(given)
    connection = {"ip": "127.0.0.1", **dict(zip(PORTS, ports, strict=False))}
    extra = given[ports[-1]]
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / f"kernel-{connection['shell_port']}"))
    server.listen()

    def echo():
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100))

    threading.Thread(target=echo, daemon=True).start()
    early = socket.create_connection(("127.0.0.1", connection["shell_port"]), timeout=10)  # before start
    early.sendall(b"queued before the relay started")
    relay = Relay(connection, tmp_path / "kernel", alive=lambda: True, wait=5, listeners=given)
    relay.start()
    try:
        assert early.recv(100) == b"queued before the relay started"
        assert extra.fileno() == -1  # closed: the relay keeps only what it uses
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", ports[-1]), timeout=2)
    finally:
        relay.stop()
        early.close()
        server.close()


def test_the_templates_kept_lexer_regexes_colour_code_as_pygments_does(monkeypatch):
    """sandbox.warm.keep_lexer_regexes: stack_data makes a new lexer class for every traceback
    frame; with the kept regular expressions it is coloured the same, without rebuilding them."""
    import pygments
    import pygments.lexer
    from pygments.formatters import Terminal256Formatter
    from pygments.lexers import PythonLexer

    from lrcourse.sandbox import warm

    monkeypatch.setattr(pygments.lexer, "regex_opt", pygments.lexer.regex_opt)  # put back afterwards
    code = "def f(x):\n    return [len(str(v)) for v in x if v is not None]  # keywords, builtins\n"

    def coloured() -> str:
        return pygments.highlight(code, type("FrameLexer", (PythonLexer,), {})(), Terminal256Formatter())

    before = coloured()
    warm.keep_lexer_regexes()
    kept = pygments.lexer.regex_opt
    warm.keep_lexer_regexes()  # once is enough: a second call changes nothing
    assert pygments.lexer.regex_opt is kept
    assert [coloured(), coloured()] == [before, before] and "\x1b[" in before
    assert kept.cache_info().hits > 0
    assert kept(["if", "else"], r"\b", r"\b") == kept(iter(["if", "else"]), r"\b", r"\b")  # words from any iterable


def _schema_formats(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_schema_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_schema_formats(v) for v in node))
    return set()


def test_lrcourse_processes_skip_jsonschemas_iri_check_which_no_schema_they_validate_uses():
    """lrcourse/__init__.py keeps rfc3987_syntax (0.74 s of grammar building at import) out of its
    processes: no schema they validate names an iri format, and notebooks still validate."""
    import json as json_module

    import nbformat
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    files = Path(nbformat.__file__).parent.glob("v*/nbformat.v*.schema.json")
    schemas = [json_module.loads(p.read_text()) for p in files]
    assert schemas
    formats = set().union(*map(_schema_formats, [*schemas, MetadataValidatorV3().schema]))
    assert not {f for f in formats if f.startswith("iri")}, formats
    code = ("import sys, lrcourse, nbformat, jsonschema\n"
            "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
            "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stdout + proc.stderr


def test_what_the_grading_workers_import_ahead_exists():
    from lrcourse.grade import WORKER_IMPORTS

    for name in WORKER_IMPORTS:
        assert importlib.import_module(name)


VERIFIER_SHORTCUTS = r"""
from IPython.core.interactiveshell import InteractiveShell
from lrcourse.sandbox import shell
from lrcourse.verify import take_over_cell
s = shell.make_shell()
takeovers = [take_over_cell(t, n) for t, n in [(None, []), ("", ["a"]), ('{"x": [1, 2]}', ["files_grid", "p_fail"]),
                                               ("é?!%\n" * 1000, ["x"])]]
for cell in takeovers:
    assert shell.TAKE_OVER.fullmatch(cell), cell[:80]
    assert s.transform_cell(cell) == InteractiveShell.transform_cell(s, cell) == cell + "\n"
others = ["x = 1", "%time 1", "x?", "!ls", "await f()", "async def f():\n    pass\n", "print('async')",
          "  await g()", "[x async for x in y]", "def f(): return 1\nf()"]
for cell in others + takeovers:
    t = InteractiveShell.transform_cell(s, cell)
    assert s.transform_cell(cell) == t, cell
    ours = s.should_run_async(cell, transformed_cell=t)
    assert ours == InteractiveShell.should_run_async(s, cell, transformed_cell=t), cell
assert s.should_run_async("await f()", transformed_cell="await f()\n")
near_misses = [takeovers[2] + "; import os", "%" + takeovers[1],
               takeovers[2].replace("['files_grid'", "[__import__('os')")]
for near in near_misses:
    assert not shell.TAKE_OVER.fullmatch(near), near
print("same")
"""


def test_the_verifiers_shortcuts_give_ipythons_own_answers():
    """sandbox.shell.VerifierShell skips IPython's input transformers for the verifier's own
    take-over lines and the second compile for cells without await/async: the same results."""
    proc = subprocess.run([sys.executable, "-c", VERIFIER_SHORTCUTS], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().endswith("same"), proc.stdout + proc.stderr
