# %% [markdown] lrc="given ex5_intro"
# # Exercise 5 — A full evaluation: breast cancer
#
# *Chapter: "Logistic regression and classification", sections "Evaluating
# classification: beyond accuracy", "The precision-recall trade-off" and "The ROC curve
# and AUC". Exercise 5 at the end of the chapter.*
#
# scikit-learn ships a classic medical data set: 569 breast tumours, each described by 30
# measurements of its cell nuclei and diagnosed as **malignant** or **benign**. In this
# notebook you fit a logistic regression to it and evaluate it the way the chapter
# evaluates the deployment model:
#
# 1. split the data and fit the model (`X_train, X_test, y_train, y_test, model, y_pred, p_malignant`);
# 2. compute the confusion matrix, the classification report, the ROC AUC and the recall
#    for malignant tumours (`cm, report, auc, malignant_recall`);
# 3. compute and plot the ROC curve and the precision-recall curve
#    (`fpr, tpr, precision_curve, recall_curve, fig_roc, fig_pr`);
# 4. decide which metric matters most to a clinician (`clinician_metric`), and explain why.
#
# **How this notebook is graded (10 points).** Write your code in the cells that say
# `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). Keep the variable
# names exactly as asked: the grader looks for them. The cells after each answer run
# *visible tests* that catch common slips early; when you submit, *hidden tests* also
# compare your results with the reference solution. A visible test that passes is a good
# sign, not a guarantee. The last answer is written in words and graded by hand. Before
# you submit, restart the kernel and run all cells (*Kernel → Restart & Run All*): the
# grader runs your notebook from top to bottom in a fresh kernel, and each cell has a
# time limit.
#
# Do not edit, delete or move the read-only cells or the test cells; the grader
# restores them from its own copy.

# %% lrc="given ex5_setup"
# Given: the libraries this exercise uses. Run this cell first.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# %% [markdown] lrc="given ex5_labels_note"
# ## Which class is positive?
#
# Run the next cell and look at how the data set codes its two classes.

# %% lrc="given ex5_labels"
# Given: the two classes and how they are coded.
cancer = load_breast_cancer()
for code, name in enumerate(cancer.target_names):
    print(f"label {code} = {name}: {np.sum(cancer.target == code)} tumours")

# %% [markdown] lrc="given ex5_labels_warning"
# **Malignant is coded 0 and benign is coded 1.** For a clinician the *positive* class, the
# one a test is meant to find, is **malignant**. scikit-learn, however, treats label 1 as
# positive unless you say otherwise, so out of the box its metrics and curves are about
# *benign* tumours:
#
# * `recall_score`, `precision_score`, `f1_score`, `roc_curve`, `precision_recall_curve` and
#   the display classes use `pos_label=1` by default (they all accept a `pos_label`
#   argument);
# * `predict_proba` returns one column per class in the order of `model.classes_`
#   (`[0, 1]`): column 0 is P(malignant), column 1 is P(benign);
# * a ROC or precision-recall curve, and a ROC AUC, must be computed from the
#   probability of the class you treat as positive.
#
# Throughout this notebook **malignant (0) is the positive class**. Keep the data set's own
# coding for the labels themselves (`y_test`, `y_pred`, the confusion matrix), and tell
# each metric which class is positive.

# %% [markdown] lrc="given ex5_fit_task"
# ## 1. Split and fit (2 points)
#
# Follow this procedure exactly; the grader compares your numbers with the solution's.
#
# * Load the data as `X, y = load_breast_cancer(return_X_y=True)` (`as_frame=True` also works).
# * Split it with `train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)` into
#   **`X_train, X_test, y_train, y_test`**. `stratify=y` keeps the share of malignant
#   tumours the same in both parts.
# * Fit **`model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))`** on
#   the training split. This exact pipeline is prescribed: the 30 measurements have very
#   different scales, and without scaling the solver's result depends on the machine's
#   linear-algebra (BLAS) library, so your numbers could not be compared with the
#   solution's.
# * **`y_pred`**: the model's predicted labels for the test split (`model.predict`).
# * **`p_malignant`**: the predicted probability that each test tumour is **malignant**
#   (class 0), from `model.predict_proba`.

# %% lrc="answer ex5_fit"
### BEGIN SOLUTION
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=42)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
malignant_column = list(model.classes_).index(0)  # classes_ is [0, 1]: column 0
p_malignant = model.predict_proba(X_test)[:, malignant_column]
### END SOLUTION

# %% lrc="tests ex5_fit_tests 1" reads="X_test X_train y_test y_train"
# Checks the split: 455/114 tumours, stratified on the diagnosis, random_state=42.
_Xtr = np.asarray(X_train, dtype=float)
_Xte = np.asarray(X_test, dtype=float)
_ytr = np.asarray(y_train, dtype=float).reshape(-1)
_yte = np.asarray(y_test, dtype=float).reshape(-1)
assert _Xtr.shape == (455, 30) and _Xte.shape == (114, 30), (
    "X_train and X_test should hold 455 and 114 tumours with 30 measurements each (test_size=0.2)")
assert _ytr.shape == (455,) and _yte.shape == (114,), "y_train and y_test should hold 455 and 114 labels"
assert set(np.unique(_yte)) <= {0.0, 1.0}, "y_test should hold the data set's labels, 0 and 1"
assert int(np.sum(_yte == 0)) == 42, (
    "a split with stratify=y keeps the data's share of malignant tumours: y_test should hold 42 "
    "malignant (0) labels")
### BEGIN HIDDEN TESTS
_REF_Y_TEST = [0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1]  # ref: y_test.tolist()
_REF_SUMS = [835565.5841704, 220908.87546520002, 95594.77]  # ref: [float(X_train.sum()), float(X_test.sum()), float(np.arange(1, 115) @ X_test[:, 0])]
assert np.array_equal(_yte, np.asarray(_REF_Y_TEST, dtype=float)), (
    "y_test is not the prescribed split: use train_test_split(X, y, test_size=0.2, stratify=y, "
    "random_state=42)")
assert np.allclose([_Xtr.sum(), _Xte.sum(), np.arange(1, 115) @ _Xte[:, 0]], _REF_SUMS,
                   rtol=1e-10, atol=0), (
    "X_train / X_test are not the prescribed split (same rows, same order as train_test_split gives)")
### END HIDDEN TESTS

# %% lrc="tests ex5_fit_tests_model 1" reads="X_test X_train p_malignant y_pred y_test y_train"
# Checks y_pred and p_malignant: labels and P(malignant) from the prescribed model on the test split.
_yte = np.asarray(y_test, dtype=float).reshape(-1)
_yp = np.asarray(y_pred, dtype=float).reshape(-1)
_pm = np.asarray(p_malignant, dtype=float).reshape(-1)
assert _yp.shape == _yte.shape, "y_pred should hold one predicted label per test tumour (predict on X_test)"
assert set(np.unique(_yp)) <= {0.0, 1.0}, "y_pred should hold the predicted labels 0/1 (model.predict)"
assert _pm.shape == _yte.shape, "p_malignant should hold one probability per test tumour"
assert np.all((_pm >= 0) & (_pm <= 1)), "p_malignant should hold probabilities between 0 and 1"
assert np.array_equal(_pm > 0.5, _yp == 0), (
    "p_malignant should be the probability of malignant (class 0): above 0.5 exactly for the "
    "tumours that y_pred calls malignant (0)")
### BEGIN HIDDEN TESTS
import warnings as _warnings

from sklearn.linear_model import LogisticRegression as _LR
from sklearn.pipeline import make_pipeline as _make_pipeline
from sklearn.preprocessing import StandardScaler as _Scaler

_REF_Y_TEST = [0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1]  # ref: y_test.tolist()
_REF_X_TEST_SUM = 220908.87546520002  # ref: float(X_test.sum())
_REF_P = [0.9999999411, 1.13352e-05, 0.9935891754, 0.466491463, 0.9999999993, 0.0078396016, 1.71747e-05, 0.9999994365, 0.9999456836, 0.9999999999, 0.0108214445, 0.9986675813, 0.0012962234, 0.9999739408, 0.9997237754, 0.0983676461, 0.6341381443, 0.1650023498, 3.38813e-05, 0.0169826652, 0.9983422807, 0.9482600203, 0.0001921146, 0.0008766763, 0.0099897826, 0.1325318376, 0.9999999952, 0.0095362162, 0.000830119, 0.0010778308, 0.0080870273, 1.08571e-05, 0.0164726342, 0.0307609202, 0.999994625, 0.8120106894, 0.0015485926, 0.0289466751, 0.3787373906, 0.9999945574, 5.53595e-05, 0.0001532701, 0.0064633114, 0.9999999736, 0.9982877809, 0.2927814978, 1.0561e-06, 0.0001814194, 0.069089384, 0.9997308572, 0.0003829827, 0.4533614964, 0.0006189478, 0.0912718522, 0.0662002257, 0.0006717764, 1.30038e-05, 0.9938506763, 0.9999996489, 0.0479983678, 0.0019928887, 1.56389e-05, 0.0003635949, 0.0266694715, 0.9999931417, 0.8668645394, 0.4629542652, 0.0023626716, 0.0472684739, 0.0834118527, 0.0006660058, 0.007556366, 1.6912e-06, 0.9998940211, 0.9995155248, 0.9999586503, 0.8358201529, 0.0008616167, 0.0003357935, 0.0115336474, 0.133850272, 0.000140743, 0.9999953796, 6.33163e-05, 0.6481197372, 0.0009172801, 0.0129599901, 1.56141e-05, 0.0977363979, 0.1071941748, 0.0653688753, 0.0252976765, 0.9999993697, 0.9998649656, 0.9995339946, 4.201e-07, 0.9999707266, 0.0040195047, 0.999999266, 0.0079808213, 0.9994980189, 0.9999999924, 0.9682764283, 0.0077760161, 1.0, 1.0, 0.0011716831, 0.9999654344, 0.0003273266, 0.9999983769, 0.1479541265, 0.9993778767, 0.0918002212, 0.0133119325]  # ref: np.round(p_malignant, 10).tolist()
_train_X = np.asarray(X_train, dtype=float)
_test_X = np.asarray(X_test, dtype=float)
_train_y = np.asarray(y_train, dtype=float).reshape(-1)
if (_yte.shape == (len(_REF_Y_TEST),) and np.array_equal(_yte, _REF_Y_TEST)
        and np.isclose(_test_X.sum(), _REF_X_TEST_SUM, rtol=1e-10, atol=0)):
    _ref_p = np.asarray(_REF_P, dtype=float)
else:
    # Another split loses the split test above; here the model is judged on the student's own
    # split: the prescribed pipeline, refitted on it.
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            _refit = _make_pipeline(_Scaler(), _LR(max_iter=1000)).fit(_train_X, _train_y)
            _ref_p = _refit.predict_proba(_test_X)[:, list(_refit.classes_).index(0)]
    except Exception:
        _ref_p = None
assert _ref_p is not None and _ref_p.shape == _pm.shape, (
    "p_malignant does not match your X_test, or the model cannot be refitted on your X_train, y_train")
# Solver tolerances move these probabilities by up to ~0.003; other models move them further.
assert np.max(np.abs(_pm - _ref_p)) <= 0.005, (
    "p_malignant is not P(malignant) from make_pipeline(StandardScaler(), "
    "LogisticRegression(max_iter=1000)) fitted on the training split")
assert np.array_equal(_yp, np.where(_ref_p > 0.5, 0.0, 1.0)), (
    "y_pred is not the prescribed model's prediction for the test split")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex5_fit_checkpoint_note"
# The next read-only cell re-creates the prescribed split, model and predictions, so that a
# slip in part 1 does not cost you the rest of the exercise. If your answers passed the
# tests above, it changes nothing (except that `X_train, X_test, y_train, y_test` are now
# NumPy arrays).

# %% lrc="given ex5_fit_checkpoint"
# Given: the prescribed split, model and test-set predictions, used by the rest of this notebook.
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=42)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
y_pred = model.predict(X_test)
p_malignant = model.predict_proba(X_test)[:, 0]  # column 0: class 0, malignant
print(f"test split: {len(y_test)} tumours, {np.sum(y_test == 0)} malignant, "
      f"{np.sum(y_test == 1)} benign")

# %% [markdown] lrc="given ex5_metrics_task"
# ## 2. Metrics on the test split (3 points)
#
# Evaluate the model on the **test split** (`y_test`, `y_pred`, `p_malignant`), never on the
# data it was trained on.
#
# * **`cm`** (0.5 points): the confusion matrix of `y_test` and `y_pred` in scikit-learn's
#   orientation and in the data set's own coding: rows are the actual class, columns the
#   predicted class, in the order 0 (malignant), 1 (benign). An array or a DataFrame.
# * **`report`** (0.5 points): the classification report of `y_test` and `y_pred`, with the
#   classes named `malignant` and `benign` (`target_names`, in the order of the labels 0, 1).
#   The string that `classification_report` returns, or its dict (`output_dict=True`).
# * **`auc`** (1 point): the area under the ROC curve, with malignant as the positive class.
# * **`malignant_recall`** (1 point): the recall for malignant tumours: the share of the
#   actually malignant tumours in the test split that the model calls malignant.
#
# Print the report and look at the confusion matrix: which error does the model make, and
# how often?

# %% lrc="answer ex5_metrics"
### BEGIN SOLUTION
cm = confusion_matrix(y_test, y_pred)
report = classification_report(y_test, y_pred, target_names=['malignant', 'benign'])
auc = roc_auc_score(y_test == 0, p_malignant)  # malignant is positive, scored by P(malignant)
malignant_recall = recall_score(y_test, y_pred, pos_label=0)
print(report)
print(f"ROC AUC (malignant positive): {auc:.4f}")
print(f"Recall for malignant tumours: {malignant_recall:.4f}")
fig_cm, ax_cm = plt.subplots(figsize=(5, 4))
ConfusionMatrixDisplay(cm, display_labels=['malignant', 'benign']).plot(ax=ax_cm, colorbar=False)
ax_cm.set_xlabel('Predicted')
ax_cm.set_ylabel('Actual')
plt.show()
### END SOLUTION

# %% lrc="tests ex5_metrics_tests_cm 0.5" reads="cm"
# Checks cm: the test split's 2x2 confusion matrix (rows actual 0/1, columns predicted 0/1).
_cm = np.asarray(cm, dtype=float)
assert _cm.shape == (2, 2), "cm should be a 2x2 confusion matrix"
assert _cm.sum() == 114, "cm should count the 114 tumours of the test split (y_test and y_pred)"
### BEGIN HIDDEN TESTS
_REF_CM = [[41, 1], [1, 71]]  # ref: np.asarray(cm).tolist()
assert np.array_equal(_cm, np.asarray(_REF_CM, dtype=float)), (
    "cm is not confusion_matrix(y_test, y_pred) in scikit-learn's orientation (rows actual, columns "
    "predicted, in the label order 0 = malignant, 1 = benign)")
### END HIDDEN TESTS

# %% lrc="tests ex5_metrics_tests_report 0.5" reads="report"
# Checks report: the test split's classification report, naming malignant and benign.
assert isinstance(report, (str, dict, pd.DataFrame)), (
    "report should be the string (or dict) that classification_report returns, not None from print()")
_text = " ".join(map(str, report)).lower() if isinstance(report, dict) else str(report).lower()
assert 'malignant' in _text and 'benign' in _text, (
    "report should name the classes malignant and benign (classification_report's target_names)")
### BEGIN HIDDEN TESTS


def _report_rows(rep):
    """{class name: {'precision', 'recall', 'f1-score', 'support'}} from a string, dict or DataFrame."""
    if isinstance(rep, pd.DataFrame):
        names = [str(i).strip().lower() for i in rep.index]
        rep = rep.to_dict(orient='index') if 'malignant' in names else rep.to_dict()
    rows = {}
    if isinstance(rep, dict):
        for name, row in rep.items():
            if isinstance(row, dict):
                rows[str(name).strip().lower()] = {str(k).lower(): float(v) for k, v in row.items()}
        return rows
    for line in str(rep).splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0].lower() in ('malignant', 'benign'):
            rows[parts[0].lower()] = dict(zip(['precision', 'recall', 'f1-score', 'support'],
                                              map(float, parts[1:]), strict=True))
    return rows


_rows = _report_rows(report)
assert {'malignant', 'benign'} <= set(_rows), "report should have one row for malignant and one for benign"
_REF_REPORT = [0.9761904761904762, 0.9761904761904762, 42.0, 0.9861111111111112, 0.9861111111111112, 72.0]  # ref: [v for c in (0, 1) for v in (cm[c, c] / cm[:, c].sum(), cm[c, c] / cm[c].sum(), float(cm[c].sum()))]
for _i, _name in enumerate(['malignant', 'benign']):
    _ref_precision, _ref_recall, _ref_support = _REF_REPORT[3 * _i: 3 * _i + 3]
    assert _rows[_name]['support'] == _ref_support, (
        f"the {_name} row should count the {_name} tumours of the test split: check target_names "
        "(in label order 0, 1) and that the report is for y_test and y_pred")
    # A printed report rounds to 2 digits (0.005).
    assert abs(_rows[_name]['precision'] - _ref_precision) <= 0.0051, f"the {_name} precision is not right"
    assert abs(_rows[_name]['recall'] - _ref_recall) <= 0.0051, f"the {_name} recall is not right"
### END HIDDEN TESTS

# %% lrc="tests ex5_metrics_tests_auc 1" reads="auc"
# Checks auc: one number between 0 and 1 (hidden: the ROC AUC with malignant as positive).
_auc = np.asarray(auc, dtype=float).reshape(-1)
assert _auc.size == 1 and 0 <= _auc[0] <= 1, "auc should be a single number between 0 and 1"
### BEGIN HIDDEN TESTS
_REF_AUC = 0.9953703703703705  # ref: auc
assert abs(_auc[0] - _REF_AUC) <= 1e-6, (
    "auc is not the ROC AUC of the test split with malignant as the positive class, computed from "
    "the predicted probabilities")
### END HIDDEN TESTS

# %% lrc="tests ex5_metrics_tests_recall 1" reads="malignant_recall"
# Checks malignant_recall: one number between 0 and 1 (hidden: recall for the malignant class).
_rec = np.asarray(malignant_recall, dtype=float).reshape(-1)
assert _rec.size == 1 and 0 <= _rec[0] <= 1, "malignant_recall should be a single number between 0 and 1"
### BEGIN HIDDEN TESTS
_REF_RECALL = 0.9761904761904762  # ref: malignant_recall
assert abs(_rec[0] - _REF_RECALL) <= 1e-6, (
    "malignant_recall is not the share of the test split's malignant tumours that the model calls "
    "malignant")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex5_curves_task"
# ## 3. ROC and precision-recall curves (3 points)
#
# Both curves with **malignant as the positive class**, from the predicted probabilities
# `p_malignant` on the test split.
#
# * **`fpr, tpr`** (1 point): the ROC curve's false and true positive rates.
# * **`precision_curve, recall_curve`** (1 point): the precision-recall curve.
# * **`fig_roc`** (0.5 points): a matplotlib Figure that draws `tpr` against `fpr` (x = false
#   positive rate), with labelled axes. Show the AUC in the legend and the diagonal of a
#   random classifier for comparison.
# * **`fig_pr`** (0.5 points): a Figure that draws `precision_curve` against `recall_curve`
#   (x = recall), with labelled axes.
#
# `roc_curve` and `precision_recall_curve` work, and so do scikit-learn's display classes
# (`from sklearn.metrics import RocCurveDisplay, PrecisionRecallDisplay`, then
# `.from_predictions(...)`; a display's `.figure_` is its Figure, and `.fpr`/`.tpr` or
# `.precision`/`.recall` its curve). Any number of points is
# fine (for example `drop_intermediate=False`), as long as they trace the whole curve.

# %% lrc="answer ex5_curves"
### BEGIN SOLUTION
fpr, tpr, roc_thresholds = roc_curve(y_test, p_malignant, pos_label=0)
precision_curve, recall_curve, pr_thresholds = precision_recall_curve(y_test, p_malignant, pos_label=0)

fig_roc, ax_roc = plt.subplots(figsize=(6, 6))
ax_roc.plot(fpr, tpr, linewidth=2, label=f'Logistic regression (AUC = {auc:.3f})')
ax_roc.plot([0, 1], [0, 1], color='grey', linestyle='--', label='Random classifier (AUC = 0.5)')
ax_roc.set_xlabel('False positive rate (benign tumours flagged malignant)')
ax_roc.set_ylabel('True positive rate (recall for malignant)')
ax_roc.set_title('ROC curve, malignant as the positive class')
ax_roc.legend(loc='lower right')
plt.show()

fig_pr, ax_pr = plt.subplots(figsize=(6, 6))
ax_pr.plot(recall_curve, precision_curve, linewidth=2)
ax_pr.set_xlabel('Recall (share of malignant tumours caught)')
ax_pr.set_ylabel('Precision (share of "malignant" calls that are malignant)')
ax_pr.set_title('Precision-recall curve, malignant as the positive class')
plt.show()
### END SOLUTION

# %% lrc="tests ex5_curves_tests_roc 1" reads="fpr tpr" scaffold="dist_to_polyline"
# Checks fpr and tpr: a ROC curve (hidden: the test split's, with malignant as positive).
_fpr = np.asarray(fpr, dtype=float).reshape(-1)
_tpr = np.asarray(tpr, dtype=float).reshape(-1)
assert _fpr.shape == _tpr.shape and _fpr.size >= 2, "fpr and tpr should be 1-D arrays of the same length"
assert np.all((_fpr >= 0) & (_fpr <= 1) & (_tpr >= 0) & (_tpr <= 1)), "rates lie between 0 and 1"
### BEGIN HIDDEN TESTS
_REF_FPR = [0.0, 0.0, 0.0, 0.19444444444444445, 0.19444444444444445, 1.0]  # ref: fpr.tolist()
_REF_TPR = [0.0, 0.023809523809523808, 0.9761904761904762, 0.9761904761904762, 1.0, 1.0]  # ref: tpr.tolist()
_REF_AUC = 0.9953703703703705  # ref: auc
assert np.max(_dist_to_polyline(_fpr, _tpr, np.asarray(_REF_FPR), np.asarray(_REF_TPR))) <= 1e-9, (
    "(fpr, tpr) leaves the test split's ROC curve for malignant as the positive class: score it with "
    "P(malignant) and pos_label=0 (or labels y_test == 0)")
_order = np.lexsort((_tpr, _fpr))
assert abs(np.trapezoid(_tpr[_order], _fpr[_order]) - _REF_AUC) <= 1e-6, (
    "(fpr, tpr) does not trace the whole ROC curve: compute it from the predicted probabilities, "
    "not from predicted labels or a few thresholds")
### END HIDDEN TESTS

# %% lrc="tests ex5_curves_tests_pr 1" reads="precision_curve recall_curve" scaffold="points_in step_area"
# Checks precision_curve and recall_curve: a precision-recall curve (hidden: malignant as positive).
_prec = np.asarray(precision_curve, dtype=float).reshape(-1)
_rcl = np.asarray(recall_curve, dtype=float).reshape(-1)
assert _prec.shape == _rcl.shape and _prec.size >= 2, (
    "precision_curve and recall_curve should be 1-D arrays of the same length")
assert np.all((_prec >= 0) & (_prec <= 1) & (_rcl >= 0) & (_rcl <= 1)), "precision and recall lie between 0 and 1"
### BEGIN HIDDEN TESTS
_REF_PRECISION = [0.3684210526315789, 0.37168141592920356, 0.375, 0.3783783783783784, 0.38181818181818183, 0.3853211009174312, 0.3888888888888889, 0.3925233644859813, 0.39622641509433965, 0.4, 0.40384615384615385, 0.4077669902912621, 0.4117647058823529, 0.4158415841584158, 0.42, 0.42424242424242425, 0.42857142857142855, 0.4329896907216495, 0.4375, 0.4421052631578947, 0.44680851063829785, 0.45161290322580644, 0.45652173913043476, 0.46153846153846156, 0.4666666666666667, 0.47191011235955055, 0.4772727272727273, 0.4827586206896552, 0.4883720930232558, 0.49411764705882355, 0.5, 0.5060240963855421, 0.5121951219512195, 0.5185185185185185, 0.525, 0.5316455696202531, 0.5384615384615384, 0.5454545454545454, 0.5526315789473685, 0.56, 0.5675675675675675, 0.5753424657534246, 0.5833333333333334, 0.5915492957746479, 0.6, 0.6086956521739131, 0.6176470588235294, 0.6268656716417911, 0.6363636363636364, 0.6461538461538462, 0.65625, 0.6666666666666666, 0.6774193548387096, 0.6885245901639344, 0.7, 0.711864406779661, 0.7241379310344828, 0.7368421052631579, 0.75, 0.7454545454545455, 0.7592592592592593, 0.7735849056603774, 0.7884615384615384, 0.803921568627451, 0.82, 0.8367346938775511, 0.8541666666666666, 0.8723404255319149, 0.8913043478260869, 0.9111111111111111, 0.9318181818181818, 0.9534883720930233, 0.9761904761904762, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # ref: precision_curve.tolist()
_REF_RECALL = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9761904761904762, 0.9523809523809523, 0.9285714285714286, 0.9047619047619048, 0.8809523809523809, 0.8571428571428571, 0.8333333333333334, 0.8095238095238095, 0.7857142857142857, 0.7619047619047619, 0.7380952380952381, 0.7142857142857143, 0.6904761904761905, 0.6666666666666666, 0.6428571428571429, 0.6190476190476191, 0.5952380952380952, 0.5714285714285714, 0.5476190476190477, 0.5238095238095238, 0.5, 0.47619047619047616, 0.4523809523809524, 0.42857142857142855, 0.40476190476190477, 0.38095238095238093, 0.35714285714285715, 0.3333333333333333, 0.30952380952380953, 0.2857142857142857, 0.2619047619047619, 0.23809523809523808, 0.21428571428571427, 0.19047619047619047, 0.16666666666666666, 0.14285714285714285, 0.11904761904761904, 0.09523809523809523, 0.07142857142857142, 0.047619047619047616, 0.023809523809523808, 0.0]  # ref: recall_curve.tolist()
_ref_r, _ref_p = np.asarray(_REF_RECALL), np.asarray(_REF_PRECISION)
assert _points_in(_rcl, _prec, _ref_r, _ref_p), (
    "(recall_curve, precision_curve) leaves the test split's precision-recall curve for malignant "
    "as the positive class: score it with P(malignant) and pos_label=0 (or labels y_test == 0)")
assert abs(_step_area(_rcl, _prec) - _step_area(_ref_r, _ref_p)) <= 1e-6, (
    "(recall_curve, precision_curve) does not trace the whole precision-recall curve: compute it "
    "from the predicted probabilities, not from predicted labels or a few thresholds")
### END HIDDEN TESTS

# %% lrc="tests ex5_curves_tests_fig_roc 0.5" reads="fig_roc fpr tpr" scaffold="dist_to_polyline"
# Checks fig_roc: a Figure with labelled axes that draws tpr against fpr.
import matplotlib.axes
import matplotlib.figure

_fig = getattr(fig_roc, 'figure_', fig_roc)
_fig = _fig.figure if isinstance(_fig, matplotlib.axes.Axes) else _fig
assert isinstance(_fig, matplotlib.figure.Figure), (
    "fig_roc should be a matplotlib Figure (for a RocCurveDisplay, its .figure_)")
_axes = [a for a in _fig.axes if a.lines]
assert _axes, "fig_roc draws no lines: plot tpr against fpr"
assert any(a.get_xlabel().strip() and a.get_ylabel().strip() for a in _axes), (
    "label both axes of the ROC plot (ax.set_xlabel, ax.set_ylabel)")
### BEGIN HIDDEN TESTS
def _draws(line, x, y):
    """Whether a line traces the same polyline as (x, y), whatever points either one uses."""
    lx = np.asarray(line.get_xdata(), dtype=float).reshape(-1)
    ly = np.asarray(line.get_ydata(), dtype=float).reshape(-1)
    if lx.shape != ly.shape or lx.size < 2 or not np.all(np.isfinite(lx) & np.isfinite(ly)):
        return False
    return bool(np.max(_dist_to_polyline(lx, ly, x, y)) <= 1e-9
                and np.max(_dist_to_polyline(x, y, lx, ly)) <= 1e-9)


_x = np.asarray(fpr, dtype=float).reshape(-1)
_y = np.asarray(tpr, dtype=float).reshape(-1)
_labelled = [a for a in _axes if a.get_xlabel().strip() and a.get_ylabel().strip()]
assert _x.shape == _y.shape and any(_draws(ln, _x, _y) for a in _labelled for ln in a.lines), (
    "the labelled axes of fig_roc should draw your ROC curve: x = fpr, y = tpr")
### END HIDDEN TESTS

# %% lrc="tests ex5_curves_tests_fig_pr 0.5" reads="fig_pr precision_curve recall_curve" scaffold="points_in step_area"
# Checks fig_pr: a Figure with labelled axes that draws precision_curve against recall_curve.
import matplotlib.axes
import matplotlib.figure

_fig = getattr(fig_pr, 'figure_', fig_pr)
_fig = _fig.figure if isinstance(_fig, matplotlib.axes.Axes) else _fig
assert isinstance(_fig, matplotlib.figure.Figure), (
    "fig_pr should be a matplotlib Figure (for a PrecisionRecallDisplay, its .figure_)")
_axes = [a for a in _fig.axes if a.lines]
assert _axes, "fig_pr draws no lines: plot precision_curve against recall_curve"
assert any(a.get_xlabel().strip() and a.get_ylabel().strip() for a in _axes), (
    "label both axes of the precision-recall plot (ax.set_xlabel, ax.set_ylabel)")
### BEGIN HIDDEN TESTS
def _draws(line, r, p):
    """Whether a line draws the points (r, p): the same points, or one set within the other
    with the same step area (a curve with or without its intermediate points)."""
    lr = np.asarray(line.get_xdata(), dtype=float).reshape(-1)
    lp = np.asarray(line.get_ydata(), dtype=float).reshape(-1)
    if lr.shape != lp.shape or lr.size < 2 or not np.all(np.isfinite(lr) & np.isfinite(lp)):
        return False
    inside, covers = _points_in(lr, lp, r, p), _points_in(r, p, lr, lp)
    return (inside and covers) or ((inside or covers) and abs(_step_area(lr, lp) - _step_area(r, p)) <= 1e-9)


_r = np.asarray(recall_curve, dtype=float).reshape(-1)
_p = np.asarray(precision_curve, dtype=float).reshape(-1)
_labelled = [a for a in _axes if a.get_xlabel().strip() and a.get_ylabel().strip()]
assert _r.shape == _p.shape and any(_draws(ln, _r, _p) for a in _labelled for ln in a.lines), (
    "the labelled axes of fig_pr should draw your precision-recall curve: x = recall_curve, "
    "y = precision_curve")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex5_clinician_task"
# ## 4. What matters to a clinician? (2 points)
#
# Suppose this model were used to decide which tumours get a closer look. Which **one**
# of these metrics would matter most to a clinician: accuracy, precision, recall, F1 or
# AUC? (Each is meant for malignant as the positive class.)
#
# Store your choice in **`clinician_metric`** (0.5 points, autograded) as one of the
# strings `"accuracy"`, `"precision"`, `"recall"`, `"f1"`, `"auc"` (upper or lower case),
# then explain it in words below the test cell (1.5 points, graded by hand).

# %% lrc="answer ex5_clinician"
### BEGIN SOLUTION
clinician_metric = "recall"
### END SOLUTION

# %% lrc="tests ex5_clinician_tests 0.5" reads="clinician_metric"
# Checks clinician_metric: one of the five metric names.
assert isinstance(clinician_metric, str), 'clinician_metric should be a string, e.g. "precision"'
assert clinician_metric.strip().lower() in {"accuracy", "precision", "recall", "f1", "auc"}, (
    'clinician_metric should be one of "accuracy", "precision", "recall", "f1", "auc"')
### BEGIN HIDDEN TESTS
assert clinician_metric.strip().lower() == "recall", "that is not the metric that matters most here"
### END HIDDEN TESTS

# %% [markdown] lrc="given ex5_clinician_answer_task"
# **Why?** (1.5 points, graded by hand.) In a few sentences: what does each kind of error
# (a false negative, a false positive) cost a patient, what do your confusion matrix and
# metrics show for this model, and what would you change if the model missed more
# malignant tumours?

# %% [markdown] lrc="written ex5_clinician_answer 1.5"
# ### BEGIN SOLUTION
# **Model answer.** **Recall for the malignant class** (sensitivity) matters most. A false
# negative, a malignant tumour called benign, means a cancer goes untreated while it
# grows; a false positive, a benign tumour flagged malignant, means further tests (another
# scan, a biopsy) and anxiety, which is costly but recoverable. A screening or triage
# model should therefore miss as few malignant tumours as possible. On this test split the
# model catches 41 of the 42 malignant tumours (recall ≈ 0.976) and raises one false alarm
# among 72 benign ones (precision ≈ 0.976 as well). Accuracy (≈ 0.98) hides which error
# was made, and AUC (≈ 0.995) describes the ranking over all thresholds, not the threshold
# actually used. If the model missed more, I would lower the decision threshold on
# P(malignant) below 0.5 to raise recall, and accept lower precision, i.e. more false
# alarms, within what the clinic can follow up; precision cannot be ignored entirely.
#
# **Rubric (1.5 points; half points).**
# - 0.5: chooses recall (sensitivity) *of the malignant class* (the class a test must find).
#   A student who chose another metric in the autograded cell can still earn the other
#   points for a correct discussion of the costs.
# - 0.5: justifies it with the asymmetric costs: a false negative (missed cancer) is far
#   worse than a false positive (unnecessary follow-up).
# - 0.5: uses this model's own numbers correctly (e.g. 1 of 42 malignant missed, recall
#   ≈ 0.98, one false alarm) *or* explains the trade-off: lowering the threshold raises
#   recall at the cost of precision / more false alarms, so precision still matters.
# - No credit for "accuracy is highest so it is best" reasoning.
# ### END SOLUTION
