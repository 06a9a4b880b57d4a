"""The verifier's parts, without a kernel: hand-over encoding, read declarations, arrangement.

The verifier end to end is proved by the grading suites: every scenario's scores equal
its promise (test_grading) and real `nbgrader autograde` runs it (test_tamper,
test_numerics' runner-vs-nbgrader check).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from helpers import release_nb, source_nb  # noqa: E402

from lrcourse import handover  # noqa: E402
from lrcourse.declarations import check_declarations, declared_reads, reads_line  # noqa: E402
from lrcourse.notebooks import nbgrader_metadata  # noqa: E402
from lrcourse.verify import VerifiedExecute, arrange  # noqa: E402


def roundtrip(value):
    """Through JSON text, as between the two kernels."""
    data = json.loads(json.dumps(handover._lrc_encode(value, [handover._LRC_MAX_ITEMS])))
    return handover._lrc_decode(data)


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**80, 0.1, float("inf"), "text", "", b"\x00\xff", 1 + 2j,
    [1, "a", [2.5, None]], (1, 2), {1, 2}, frozenset({"x"}), range(2, 10, 3),
    {"a": True, 1: [1.5], (2, "b"): None},
])
def test_plain_values_come_back_equal_and_of_the_same_type(value):
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_nan_comes_back_as_nan():
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.int64).reshape(3, 4), np.linspace(0, 1, 7), np.array([True, False]),
    np.array(["malignant", "benign"]), np.array([1 + 1j]), np.zeros((0, 3)),
    np.array(["2026-11-30"], dtype="datetime64[D]"), np.float32(2.5) * np.ones(3, np.float32),
])
def test_arrays_come_back_bit_for_bit(array):
    back = roundtrip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()


def test_numpy_scalars_and_object_arrays():
    assert roundtrip(np.float64(0.25)) == 0.25 and type(roundtrip(np.float64(0.25))) is np.float64
    assert type(roundtrip(np.int64(3))) is np.int64
    back = roundtrip(np.array([1, "a", None], dtype=object))
    assert back.dtype == object and back.tolist() == [1, "a", None]


def test_subclasses_hand_over_their_plain_value_not_their_lies():
    class Yes(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    class YesArray(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(self), bool)

    assert type(roundtrip(Yes(1.0))) is float and roundtrip(Yes(1.0)) != 2.0
    back = roundtrip(np.array([20.0]).view(YesArray))
    assert type(back) is np.ndarray and not (back == 5.0).any()


def test_dataframes_keep_columns_dtypes_and_index_labels():
    frame = pd.DataFrame({"files_changed": [3, 1, 2], "rate": [0.5, 0.25, 1.0], "name": ["a", "b", "c"]},
                         index=[10, 4, 7])
    frame["cat"] = pd.Categorical(["x", "y", "x"])
    back = roundtrip(frame)
    assert list(back.columns) == list(frame.columns) and list(back.index) == [10, 4, 7]
    assert back["files_changed"].dtype == np.int64 and back["rate"].tolist() == [0.5, 0.25, 1.0]
    assert back["cat"].tolist() == ["x", "y", "x"]
    ranged = roundtrip(pd.DataFrame({"a": [1, 2]}))
    assert isinstance(ranged.index, pd.RangeIndex)
    series = roundtrip(pd.Series([0.1, 0.2], index=["u", "v"], name="p"))
    assert series.name == "p" and series.to_dict() == {"u": 0.1, "v": 0.2}
    duplicated = roundtrip(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    assert list(duplicated.columns) == ["a", "a"]


def test_figures_come_back_with_their_lines_labels_and_axes():
    fig = matplotlib.figure.Figure()
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [0.1, 0.5, 0.9], label="curve")
    ax.plot([1, 3], [0.2, 0.8], linestyle="--")
    ax.scatter([1, 2], [3, 4])
    ax.set_xlabel("files")
    ax.set_ylabel("P(failure)")
    ax.set_title("t")
    ax.legend()
    back = roundtrip(fig)
    assert isinstance(back, matplotlib.figure.Figure) and len(back.axes) == 1
    bax = back.axes[0]
    assert (bax.get_xlabel(), bax.get_ylabel(), bax.get_title()) == ("files", "P(failure)", "t")
    assert [list(ln.get_xdata()) for ln in bax.lines] == [[1, 2, 3], [1, 3]]
    assert list(bax.lines[0].get_ydata()) == [0.1, 0.5, 0.9] and bax.lines[1].get_linestyle() == "--"
    assert bax.get_legend() is not None and bax.collections[0].get_offsets().tolist() == [[1, 3], [2, 4]]
    assert roundtrip(ax).figure.axes[0].get_xlabel() == "files"


def test_fitted_scikit_learn_models_come_back_as_working_estimators():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    for model in (LogisticRegression(class_weight={0: 1, 1: 3}).fit(X, y),
                  make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)):
        back = roundtrip(model)
        assert type(back) is type(model)
        assert back.get_params(deep=False).keys() == model.get_params(deep=False).keys()
        np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert roundtrip(LogisticRegression(class_weight="balanced")).get_params()["class_weight"] == "balanced"


def test_a_display_object_keeps_its_figure():
    from sklearn.metrics import RocCurveDisplay

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display = RocCurveDisplay.from_predictions([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3])
    back = roundtrip(display)
    assert type(back) is RocCurveDisplay and isinstance(back.figure_, matplotlib.figure.Figure)
    assert back.figure_.axes[0].lines


def test_other_objects_come_back_as_stand_ins_holding_their_data():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    X = sm.add_constant(rng.normal(size=(80, 2)))
    y = (X[:, 1] + rng.normal(size=80) > 0).astype(int)
    result = sm.Logit(y, X).fit(disp=False)
    back = roundtrip(result)
    np.testing.assert_array_equal(back.params, result.params)


@pytest.mark.parametrize("value", [lambda: 1, print, (x for x in []), object])
def test_code_is_never_handed_over(value):
    with pytest.raises(TypeError):
        handover._lrc_encode(value, [handover._LRC_MAX_ITEMS])


def test_the_size_budget_is_enforced():
    with pytest.raises(ValueError, match="too large"):
        handover._lrc_encode(np.zeros(10), [5])


def take_over(answers: dict, names: list[str]) -> dict:
    namespace: dict = {"already": "given value"}
    exec(compile(handover.__loader__.get_source(handover.__name__), "handover", "exec"), namespace)
    namespace["_lrc_take_over"](json.dumps(answers), names)
    return namespace


def test_take_over_never_unpickles_and_never_imports_what_the_payload_names():
    class Boom:
        def __reduce__(self):
            return (print, ("PWNED",))

    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    pickled = {"k": "array", "v": base64.b64encode(buf.getvalue()).decode()}
    foreign = {"k": "sklearn", "class": "os.system", "params": {}, "attrs": {"x": {"k": "json", "v": 1}}}
    ns = take_over({"a": pickled, "b": foreign, "c": {"k": "json", "v": 3.5}}, ["a", "b", "c"])
    assert "could not be handed" in repr(ns["a"]) and pickle.dumps  # a pickled array is refused
    assert type(ns["b"]).__name__ == "_LrcHandedOver" and ns["b"].x == 1  # no os.system object
    assert "malformed" in repr(ns["c"])  # a float must travel as a float record, not raw JSON


def test_take_over_unbinds_missing_answers_even_over_a_given_value():
    ns = take_over({"already": {"k": "missing"}, "x": {"k": "unreadable", "why": "a generator"}}, ["already", "x"])
    assert "already" not in ns
    with pytest.raises(TypeError, match="a generator"):
        ns["x"].shape  # noqa: B018


def test_take_over_of_garbage_binds_nothing():
    namespace: dict = {}
    exec(compile(handover.__loader__.get_source(handover.__name__), "handover", "exec"), namespace)
    namespace["deploy_data"] = "given"
    with pytest.raises(ValueError):
        namespace["_lrc_take_over"]("{not json", ["deploy_data"])
    assert "deploy_data" not in namespace



def test_hand_over_cells_define_the_functions_again_from_code_compiled_once(capsys, monkeypatch):
    """The first hand-over cell keeps the compiled hand-over; later ones are a few short lines
    that define the functions again from it (a student who deleted them still hands over)."""
    from lrcourse.verify import HANDOVER_CODE, HANDOVER_SOURCE, hand_over_cell

    monkeypatch.delitem(sys.modules, HANDOVER_CODE, raising=False)
    first, later = hand_over_cell(["x"], first=True), hand_over_cell(["x", "y"], first=False)
    assert HANDOVER_SOURCE not in later and len(later.encode()) < 200
    namespace: dict = {"x": 2, "y": "two"}
    exec(first, namespace)
    assert sys.modules[HANDOVER_CODE].code.co_filename == "<lrcourse hand-over>"
    del namespace["_lrc_hand_over"], namespace["_lrc_encode"]
    exec(later, namespace)
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 2 and handover.HANDOVER_MIME in shown[1]
    assert '"y": {"k": "json", "v": "two"}' in shown[1]


# --- declarations ----------------------------------------------------------------------------

def cell(kind: str, gid: str, source: str, points: str | None = None):
    make = nbformat.v4.new_markdown_cell if kind == "written" else nbformat.v4.new_code_cell
    new = make(source=source, id=gid)
    new.metadata = {"nbgrader": nbgrader_metadata(kind, gid, points)}
    return new


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


GIVEN = cell("given", "setup", "import numpy as np\ndata = np.arange(5)")
ANSWER = cell("answer", "ans", "total = data.sum()\nmodel = object()")


def test_a_correct_declaration_passes_and_string_mentions_may_be_declared():
    source = reads_line(["total", "model"]) + "\nassert 'model' in dir()\nassert total == 10"
    test = cell("tests", "ans_tests", source, "1")
    assert check_declarations(notebook(GIVEN, ANSWER, test)) == []
    assert declared_reads(test.source) == ["total", "model"]


@pytest.mark.parametrize("source, problem", [
    ("assert total == 10", "no first line"),
    (reads_line(["model"]) + "\nassert total == 10", "reads ['total'] without declaring"),
    (reads_line(["total", "data"]) + "\nassert total == 10", "declares ['data']"),
    (reads_line(["total"]) + "\nassert total == undefined_name", "which no earlier cell defines"),
])
def test_a_wrong_declaration_is_refused(source, problem):
    problems = check_declarations(notebook(GIVEN, ANSWER, cell("tests", "ans_tests", source, "1")))
    assert any(problem in p for p in problems), problems


def test_a_read_only_cell_may_not_read_answers():
    problems = check_declarations(notebook(GIVEN, ANSWER, cell("given", "later", "x = total + 1")))
    assert any("reads answers ['total']" in p for p in problems)


def test_a_given_cell_that_redefines_an_answer_makes_later_tests_read_the_given_one():
    checkpoint = cell("given", "checkpoint", "total = 10")
    test = cell("tests", "t", reads_line(["model"]) + "\nassert total == 10 and model", "1")
    assert check_declarations(notebook(GIVEN, ANSWER, checkpoint, test)) == []


@pytest.mark.parametrize("stem", ["ex1_probability_curve", "ex3_class_imbalance", "ex5_breast_cancer"])
def test_every_course_test_cell_declares_what_it_reads(stem):
    nb = source_nb(stem)
    assert check_declarations(nb) == []
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert tests and all(declared_reads(c.source) for c in tests)


# --- arrangement -----------------------------------------------------------------------------

def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") or c.source for c in nb.cells]


def test_arrange_restores_the_order_and_keeps_added_cells_in_place():
    ref = source_nb("ex1_probability_curve")
    sub = nbformat.from_dict(release_nb("ex1_probability_curve"))
    test = next(c for c in sub.cells if c.metadata.nbgrader["grade_id"] == "ex1_data_tests")
    sub.cells.remove(test)
    sub.cells.append(test)  # moved to the end, after the data checkpoint
    at = next(i for i, c in enumerate(sub.cells) if c.metadata.nbgrader["grade_id"] == "ex1_model") + 1
    sub.cells.insert(at, nbformat.v4.new_code_cell("scratch = 1"))
    arranged = arrange(sub, ref)
    assert [i for i in ids(arranged) if i != "scratch = 1"] == ids(ref)
    assert ids(arranged)[ids(arranged).index("ex1_model") + 1] == "scratch = 1"


def test_arrange_never_puts_a_solution_into_the_students_notebook():
    ref = source_nb("ex1_probability_curve")
    sub = nbformat.from_dict(release_nb("ex1_probability_curve"))
    sub.cells = [c for c in sub.cells if c.metadata.nbgrader["grade_id"] not in ("ex1_model", "ex1_shape_answer",
                                                                                 "ex1_model_tests")]
    arranged = arrange(sub, ref)
    assert "ex1_model" not in ids(arranged) and "ex1_shape_answer" not in ids(arranged)
    assert "ex1_model_tests" in ids(arranged)  # a test cell comes back from the reference
    assert "BEGIN SOLUTION" not in json.dumps([c.source for c in arranged.cells
                                               if c.metadata.nbgrader.get("solution")])


def test_a_payload_that_is_missing_too_large_or_not_json_is_explained():
    run = VerifiedExecute(handover_limit=100)

    def out(text):
        return nbformat.from_dict({"cell_type": "code", "source": "", "metadata": {}, "outputs": [
            {"output_type": "display_data", "metadata": {}, "data": {handover.HANDOVER_MIME: text}}]})

    assert run._payload(nbformat.v4.new_code_cell(""))[0] is None
    assert "too large" in run._payload(out("x" * 101))[1][0]
    assert "cannot read" in run._payload(out("{nope"))[1][0]
    text, notes = run._payload(out(json.dumps({"fig": {"k": "unreadable", "why": "TypeError: code"}})))
    assert text and notes == ["`fig` could not be handed over: TypeError: code"]


# --- output caps -----------------------------------------------------------------------------

def test_outputs_of_every_type_are_cut_to_the_cell_and_notebook_budgets():
    from lrcourse.preprocessors import CapOutput, output_bytes

    png = base64.b64encode(b"\x89PNG" + b"0" * 3_000_000).decode()
    flood = nbformat.v4.new_code_cell("flood", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stdout", text="x" * 5_000_000),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="e" * 50_000, traceback=["t" * 50_000] * 99),
    ])
    small = nbformat.v4.new_code_cell("ok", outputs=[nbformat.v4.new_output("stream", name="stdout", text="fine\n")])
    note = nbformat.v4.new_markdown_cell("see", attachments={"big.png": {"image/png": png}})
    again = nbformat.from_dict(flood)
    again.id = "flood-again"
    nb = nbformat.v4.new_notebook(cells=[note, flood, small, again])
    CapOutput(max_cell_bytes=1_000_000, max_notebook_bytes=1_500_000).preprocess(nb, {})
    assert "attachments" not in nb.cells[0]
    for cell in nb.cells[1:]:
        assert sum(output_bytes(o) for o in cell.outputs) <= 1_000_000 + 200
    kinds = [o.output_type for o in nb.cells[1].outputs]
    assert "error" in kinds and "display_data" not in kinds  # the failing verdict survives; the image goes
    assert "bytes of output removed" in nb.cells[1].outputs[-1].text
    assert nb.cells[2].outputs[0].text == "fine\n"
    assert "error" in [o.output_type for o in nb.cells[3].outputs]  # over the notebook budget: error still kept
    total = sum(output_bytes(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert total <= 1_500_000 + 2 * 20_000 + 400


def test_outputs_beyond_the_budget_are_dropped_as_they_arrive():
    run = VerifiedExecute(max_arriving_bytes=1000)
    run.reset_execution_trackers()
    run.clear_before_next_output = False  # what nbclient sets when a cell starts
    outs: list = []

    def msg(kind, **content):
        return {"msg_type": kind, "content": content, "parent_header": {"msg_id": "m"}, "header": {"msg_type": kind}}

    run.output(outs, msg("stream", name="stdout", text="a" * 600), None, 0)
    for _ in range(5):
        run.output(outs, msg("display_data", data={"image/png": "b" * 600}, metadata={}), None, 0)
    run.output(outs, msg("error", ename="E", evalue="v", traceback=[]), None, 0)
    assert [o.output_type for o in outs] == ["stream", "stream", "error"]
    assert "dropped by the grader" in outs[1].text
