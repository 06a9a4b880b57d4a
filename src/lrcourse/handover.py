"""Answers handed over as plain data: from the student's kernel to the verifier's.

This module runs *inside kernels*, as cell code (lrcourse.verify sends its source), so
it imports nothing of lrcourse and defines only `_lrc_`-prefixed names. Two halves:

  _lrc_hand_over(names)   student's kernel: the answers a test cell reads, encoded as
                          JSON (numbers, strings, containers, arrays as .npy without
                          pickle, DataFrames as columns, figures as their drawn data,
                          scikit-learn objects as their parameters and fitted numbers),
                          displayed as one output of type HANDOVER_MIME
  _lrc_take_over(text, names)  verifier's kernel: decodes that JSON into the namespace
                          (real arrays, DataFrames, matplotlib Figures, scikit-learn
                          estimators), so the tests read them as they would the originals

Nothing is unpickled and no code from the payload runs: a class is rebuilt only when it
is a scikit-learn estimator or display, by its module path, without calling its
constructor on anything but the handed-over plain values. What cannot be encoded is
handed over as "unreadable" with the reason, and becomes an `_LrcUnreadable` value in
the verifier, which fails any test that uses it. A name the student never defined is
handed over as missing and is unbound in the verifier.
"""

HANDOVER_MIME = "application/x.lrcourse-handover"
_LRC_MAX_DEPTH = 8
_LRC_MAX_ITEMS = 2_000_000  # list items and array elements, all answers of one test together


def _lrc_encode(value, budget, depth=0):
    """Plain-data form of `value` (a JSON-able dict); raises TypeError/ValueError when it has none."""
    import base64
    import io

    import numpy as np

    if depth > _LRC_MAX_DEPTH:
        raise ValueError("nested too deeply")
    if value is None or type(value) in (bool, str):
        return {"k": "json", "v": value}
    if type(value) in (int, float):
        return {"k": "json", "v": value} if type(value) is int else {"k": "float", "v": repr(value)}
    if isinstance(value, bool | np.bool_):
        return {"k": "json", "v": bool(value)}
    if isinstance(value, int) and not isinstance(value, np.integer):
        return {"k": "json", "v": int.__index__(value)}
    if isinstance(value, float) and not isinstance(value, np.floating):
        return {"k": "float", "v": float.__repr__(value)}
    if isinstance(value, str):
        return {"k": "json", "v": str.__str__(value)}
    if isinstance(value, complex):
        return {"k": "complex", "v": [repr(value.real), repr(value.imag)]}
    if isinstance(value, bytes | bytearray):
        return {"k": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, np.generic):
        return {"k": "npscalar", "v": _lrc_encode(np.asarray(value), budget, depth + 1)}
    if isinstance(value, np.ndarray):
        arr = np.ndarray.view(value, np.ndarray)
        budget[0] -= arr.size
        if budget[0] < 0:
            raise ValueError("too large to hand over")
        if arr.dtype.hasobject:
            items = [_lrc_encode(x, budget, depth + 1) for x in arr.reshape(-1).tolist()]
            return {"k": "objarray", "shape": list(arr.shape), "v": items}
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"k": "array", "v": base64.b64encode(buf.getvalue()).decode()}
    if isinstance(value, range):
        return {"k": "range", "v": [value.start, value.stop, value.step]}
    if isinstance(value, list | tuple | set | frozenset):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise ValueError("too large to hand over")
        kind = "list" if isinstance(value, list) else type(value).__name__
        if kind not in ("list", "tuple", "set", "frozenset"):
            kind = "tuple" if isinstance(value, tuple) else "list"
        return {"k": kind, "v": [_lrc_encode(x, budget, depth + 1) for x in list(value)]}
    if isinstance(value, dict):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise ValueError("too large to hand over")
        return {"k": "dict", "v": [[_lrc_encode(k, budget, depth + 1), _lrc_encode(v, budget, depth + 1)]
                                   for k, v in list(dict.items(value))]}
    module = type(value).__module__ or ""
    if module.startswith("pandas"):
        return _lrc_encode_pandas(value, budget, depth)
    if module.startswith("matplotlib"):
        return _lrc_encode_matplotlib(value, budget, depth)
    if module.startswith("sklearn"):
        return _lrc_encode_sklearn(value, budget, depth)
    return _lrc_encode_object(value, budget, depth)


def _lrc_encode_pandas(value, budget, depth):
    import pandas as pd

    def index(idx):
        if isinstance(idx, pd.RangeIndex):
            return {"k": "rangeindex", "v": [idx.start, idx.stop, idx.step], "name": _lrc_encode(idx.name, budget)}
        if isinstance(idx, pd.MultiIndex):
            return {"k": "multiindex", "v": _lrc_encode(list(idx), budget, depth + 1),
                    "names": _lrc_encode(list(idx.names), budget, depth + 1)}
        return {"k": "index", "v": _lrc_column(idx, budget, depth), "name": _lrc_encode(idx.name, budget, depth + 1)}

    if isinstance(value, pd.DataFrame):
        return {"k": "dataframe", "index": index(value.index), "columns": index(value.columns),
                "v": [_lrc_column(value.iloc[:, i], budget, depth) for i in range(value.shape[1])]}
    if isinstance(value, pd.Series):
        return {"k": "series", "index": index(value.index), "v": _lrc_column(value, budget, depth),
                "name": _lrc_encode(value.name, budget, depth + 1)}
    if isinstance(value, pd.Index):
        return index(value)
    raise TypeError(f"a {type(value).__name__} from pandas cannot be handed over")


def _lrc_column(values, budget, depth):
    """One column (Series or Index) as an array; categories and extension types as plain values."""
    import numpy as np

    try:
        arr = values.to_numpy()
    except Exception:  # noqa: BLE001 - an odd extension type: its values one by one
        arr = np.asarray(list(values), dtype=object)
    if arr.dtype.kind not in "biufcUSMm" and not arr.dtype.hasobject:
        arr = arr.astype(object)
    return _lrc_encode(arr, budget, depth + 1)


def _lrc_encode_matplotlib(value, budget, depth):
    import matplotlib.axes
    import matplotlib.figure

    if isinstance(value, matplotlib.axes.Axes):
        fig = value.figure
        return {"k": "axes", "figure": _lrc_encode_matplotlib(fig, budget, depth),
                "index": list(fig.axes).index(value) if value in fig.axes else 0}
    if isinstance(value, matplotlib.figure.SubFigure):
        value = value.figure
    if not isinstance(value, matplotlib.figure.Figure):
        raise TypeError(f"a {type(value).__name__} from matplotlib cannot be handed over")
    axes = []
    for ax in value.axes:
        lines = [{"x": _lrc_encode(_lrc_float_array(ln.get_xdata()), budget, depth + 1),
                  "y": _lrc_encode(_lrc_float_array(ln.get_ydata()), budget, depth + 1),
                  "label": str(ln.get_label()), "linestyle": str(ln.get_linestyle()),
                  "marker": str(ln.get_marker())} for ln in ax.get_lines()]
        points = [_lrc_encode(_lrc_float_array(c.get_offsets()), budget, depth + 1) for c in ax.collections
                  if hasattr(c, "get_offsets")]
        legend = ax.get_legend()
        axes.append({"position": [float(v) for v in ax.get_position().bounds], "lines": lines, "points": points,
                     "xlabel": str(ax.get_xlabel()), "ylabel": str(ax.get_ylabel()), "title": str(ax.get_title()),
                     "xlim": [float(v) for v in ax.get_xlim()], "ylim": [float(v) for v in ax.get_ylim()],
                     "legend": None if legend is None else [str(t.get_text()) for t in legend.get_texts()]})
    suptitle = getattr(value, "_suptitle", None)
    return {"k": "figure", "axes": axes, "suptitle": None if suptitle is None else str(suptitle.get_text()),
            "size": [float(v) for v in value.get_size_inches()]}


def _lrc_float_array(data):
    import numpy as np

    try:
        return np.asarray(data, dtype=float)
    except (TypeError, ValueError):  # categorical or date axes: their values as drawn
        return np.asarray([str(x) for x in np.asarray(data, dtype=object).reshape(-1)], dtype=str)


def _lrc_encode_sklearn(value, budget, depth):
    params = {}
    if hasattr(type(value), "get_params"):
        for key, param in type(value).get_params(value, deep=False).items():
            try:
                params[key] = _lrc_encode(param, budget, depth + 1)
            except (TypeError, ValueError) as err:
                params[key] = {"k": "unreadable", "why": str(err)}
    return {"k": "sklearn", "class": f"{type(value).__module__}.{type(value).__qualname__}",
            "params": params, "attrs": _lrc_attributes(value, budget, depth, skip=set(params))}


def _lrc_attributes(value, budget, depth, skip=()):
    """The object's own public attributes that are plain data (others are left out)."""
    attrs = {}
    try:
        own = dict(object.__getattribute__(value, "__dict__"))
    except (AttributeError, TypeError):
        own = {}
    for key, attr in own.items():
        if not isinstance(key, str) or key.startswith("_") or key in skip:
            continue
        try:
            attrs[key] = _lrc_encode(attr, budget, depth + 1)
        except (TypeError, ValueError, RecursionError):
            continue
    return attrs


def _lrc_encode_object(value, budget, depth):
    """Any other object: its class name and its plain-data attributes (statsmodels results
    keep their `params`); the verifier sees a stand-in holding just those."""
    import types

    code_like = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType, types.ModuleType,
                 types.CodeType, types.FrameType)
    if callable(value) or isinstance(value, (type, *code_like)):
        raise TypeError(f"{type(value).__name__} objects (code) cannot be handed over")
    attrs = _lrc_attributes(value, budget, depth)
    for key in ("params", "bse", "pvalues", "llf"):
        if key not in attrs:
            try:
                attrs[key] = _lrc_encode(getattr(value, key), budget, depth + 1)
            except Exception:  # noqa: BLE001 - absent or not data
                pass
    return {"k": "object", "class": f"{type(value).__module__}.{type(value).__qualname__}", "attrs": attrs}


def _lrc_hand_over(names):
    """Student's kernel: display the named answers as one HANDOVER_MIME output."""
    import json

    from IPython.display import display

    namespace = (lambda: 0).__globals__
    budget = [_LRC_MAX_ITEMS]
    answers = {}
    for name in names:
        if name not in namespace:
            answers[name] = {"k": "missing"}
            continue
        try:
            answers[name] = _lrc_encode(namespace[name], budget)
        except Exception as err:  # noqa: BLE001 - the reason goes to the verifier and the student
            answers[name] = {"k": "unreadable", "why": f"{type(err).__name__}: {str(err)[:200]}"}
    display({HANDOVER_MIME: json.dumps(answers)}, raw=True)


# --- the verifier's half -------------------------------------------------------------------

class _LrcUnreadable:
    """An answer that could not be handed over: any test that uses it fails, saying why."""

    def __init__(self, name, why):
        self._name, self._why = name, why

    def __repr__(self):
        return f"<{self._name}: could not be handed to the grader ({self._why})>"

    def __getattr__(self, attr):
        raise TypeError(f"{self._name} could not be handed to the grader: {self._why}")


class _LrcHandedOver:
    """Stand-in for an object that is neither data, a figure nor a scikit-learn object: its
    class name and its plain-data attributes."""

    def __init__(self, cls, attrs):
        self.__dict__.update(attrs)
        self._lrc_class = cls

    def __repr__(self):
        return f"<handed-over {self._lrc_class}>"


def _lrc_decode(data, depth=0):
    import base64
    import io

    import numpy as np

    if depth > _LRC_MAX_DEPTH + 4:
        raise ValueError("nested too deeply")
    kind = data["k"]
    if kind == "json":
        if data["v"] is not None and type(data["v"]) not in (bool, int, str):
            raise TypeError("not plain JSON data")
        return data["v"]
    if kind == "float":
        return float(str(data["v"]))
    if kind == "complex":
        return complex(float(str(data["v"][0])), float(str(data["v"][1])))
    if kind == "bytes":
        return base64.b64decode(str(data["v"]))
    if kind == "npscalar":
        arr = _lrc_decode(data["v"], depth + 1)
        return arr[()]
    if kind == "array":
        return np.load(io.BytesIO(base64.b64decode(str(data["v"]))), allow_pickle=False)
    if kind == "objarray":
        items = [_lrc_decode(x, depth + 1) for x in data["v"]]
        arr = np.empty(len(items), dtype=object)
        arr[:] = items if items else arr
        return arr.reshape([int(n) for n in data["shape"]])
    if kind == "range":
        return range(*[int(v) for v in data["v"]])
    if kind in ("list", "tuple", "set", "frozenset"):
        items = [_lrc_decode(x, depth + 1) for x in data["v"]]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
    if kind == "dict":
        return {_lrc_decode(k, depth + 1): _lrc_decode(v, depth + 1) for k, v in data["v"]}
    if kind in ("rangeindex", "index", "multiindex", "series", "dataframe"):
        return _lrc_decode_pandas(data, depth)
    if kind in ("figure", "axes"):
        return _lrc_decode_matplotlib(data, depth)
    if kind == "sklearn":
        return _lrc_decode_sklearn(data, depth)
    if kind == "object":
        return _LrcHandedOver(str(data["class"]), {str(k): _lrc_decode(v, depth + 1) for k, v in data["attrs"].items()})
    raise ValueError(f"unknown kind {kind!r}")


def _lrc_decode_pandas(data, depth):
    import pandas as pd

    kind = data["k"]
    if kind == "rangeindex":
        return pd.RangeIndex(*[int(v) for v in data["v"]], name=_lrc_decode(data["name"], depth + 1))
    if kind == "multiindex":
        return pd.MultiIndex.from_tuples(_lrc_decode(data["v"], depth + 1), names=_lrc_decode(data["names"], depth + 1))
    if kind == "index":
        return pd.Index(_lrc_decode(data["v"], depth + 1), name=_lrc_decode(data["name"], depth + 1))
    index = _lrc_decode_pandas(data["index"], depth + 1)
    if kind == "series":
        return pd.Series(_lrc_decode(data["v"], depth + 1), index=index, name=_lrc_decode(data["name"], depth + 1))
    columns = _lrc_decode_pandas(data["columns"], depth + 1)
    frame = pd.DataFrame(index=index)
    for position, (label, column) in enumerate(zip(columns, data["v"], strict=True)):
        frame.insert(position, label, _lrc_decode(column, depth + 1), allow_duplicates=True)
    frame.columns = columns
    return frame


def _lrc_decode_matplotlib(data, depth):
    import matplotlib.figure

    if data["k"] == "axes":
        fig = _lrc_decode_matplotlib(data["figure"], depth + 1)
        return fig.axes[int(data["index"])] if fig.axes else fig.add_subplot()
    fig = matplotlib.figure.Figure(figsize=[float(v) for v in data["size"]])
    for spec in data["axes"]:
        ax = fig.add_axes([float(v) for v in spec["position"]])
        for line in spec["lines"]:
            ax.plot(_lrc_decode(line["x"], depth + 1), _lrc_decode(line["y"], depth + 1), label=str(line["label"]),
                    linestyle=str(line["linestyle"]), marker=str(line["marker"]))
        for points in spec["points"]:
            xy = _lrc_decode(points, depth + 1)
            if xy.ndim == 2 and xy.shape[1] == 2 and xy.dtype.kind == "f":
                ax.scatter(xy[:, 0], xy[:, 1])
        ax.set_xlabel(str(spec["xlabel"]))
        ax.set_ylabel(str(spec["ylabel"]))
        ax.set_title(str(spec["title"]))
        ax.set_xlim(*[float(v) for v in spec["xlim"]])
        ax.set_ylim(*[float(v) for v in spec["ylim"]])
        if spec["legend"] is not None:
            ax.legend()
    if data["suptitle"] is not None:
        fig.suptitle(str(data["suptitle"]))
    return fig


def _lrc_decode_sklearn(data, depth):
    """A scikit-learn estimator or display of the handed-over class, holding the handed-over
    parameters and fitted attributes; other classes come back as a stand-in."""
    import importlib

    path = str(data["class"])
    module, _, name = path.rpartition(".")
    params = {str(k): _lrc_decode(v, depth + 1) for k, v in data["params"].items() if v.get("k") != "unreadable"}
    attrs = {str(k): _lrc_decode(v, depth + 1) for k, v in data["attrs"].items()}
    cls = None
    if module.split(".")[0] == "sklearn" and name.isidentifier():
        from sklearn.base import BaseEstimator

        cls = getattr(importlib.import_module(module), name, None)
        if not isinstance(cls, type) or not (issubclass(cls, BaseEstimator) or name.endswith("Display")):
            cls = None
    if cls is None:
        return _LrcHandedOver(path, {**params, **attrs})
    obj = cls.__new__(cls)
    obj.__dict__.update(params)
    obj.__dict__.update(attrs)
    return obj


def _lrc_take_over(text, names):
    """Verifier's kernel: bind the handed-over answers (missing ones unbound)."""
    import json

    namespace = (lambda: 0).__globals__
    for name in names:
        namespace.pop(name, None)
    answers = json.loads(text) if text else {}
    for name in names:
        entry = answers.get(name) if isinstance(answers, dict) else None
        if not isinstance(entry, dict) or entry.get("k") == "missing":
            continue
        if entry.get("k") == "unreadable":
            namespace[name] = _LrcUnreadable(name, str(entry.get("why", "")))
            continue
        try:
            namespace[name] = _lrc_decode(entry)
        except Exception as err:  # noqa: BLE001 - a malformed answer fails its tests, nothing else
            namespace[name] = _LrcUnreadable(name, f"malformed ({type(err).__name__})")
