# %% [markdown] lrc="given ex3_intro"
# # Exercise 3 — When failures are rare
#
# *Chapter: "Logistic regression and classification", sections "Evaluating
# classification: beyond accuracy" and "Class imbalance: when failures are rare".
# Exercise 3 at the end of the chapter.*
#
# About 28% of the chapter's deployments fail. Real deployment gates usually see far
# fewer failures. In this notebook you will make failures rare on purpose and see what
# that does to a logistic regression, with and without `class_weight='balanced'`:
#
# 1. downsample the failures so that they make up 5% of the data (`imbalanced_data`);
# 2. split that data, fit a standard and a class-weighted logistic regression, and
#    compute their confusion matrices on the test split (`X_train`, `X_test`, `y_train`,
#    `y_test`, `clf_standard`, `clf_balanced`, `cm_standard`, `cm_balanced`);
# 3. in words: which model would you use to gate deployments, and why?
#
# Every step is prescribed exactly (seeds, sizes, settings), so that every correct
# answer gives the same numbers; each part says what is prescribed.
#
# **How this notebook is graded (10 points).** Write your code in the cells that say
# `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). Keep the variable
# names exactly as asked: the grader looks for them. The cells after each answer run
# *visible tests* that catch common slips early; when you submit, *hidden tests* also
# compare your results with the reference solution. A visible test that passes is a good
# sign, not a guarantee. Before you submit, restart the kernel and run all cells
# (*Kernel → Restart & Run All*): the grader runs your notebook from top to bottom in a
# fresh kernel, and each cell has a time limit.
#
# Do not edit, delete or move the read-only cells or the test cells; the grader
# restores them from its own copy.

# %% lrc="given ex3_setup"
# Given: the libraries this exercise uses and the chapter's deployment data. Run this cell first.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (ConfusionMatrixDisplay, confusion_matrix, precision_score,
                             recall_score)
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(42)
n = 500
deploy_data = pd.DataFrame({
    'files_changed': rng.integers(1, 80, n),
    'hours_since_last_deploy': rng.exponential(24, n).round(1),
    'is_friday': rng.binomial(1, 1/5, n),
    'test_coverage_pct': np.clip(rng.normal(75, 15, n), 20, 100).round(1),
})
log_odds = (
    -1.0
    + 0.05 * deploy_data['files_changed']
    + 0.02 * deploy_data['hours_since_last_deploy']
    + 0.8 * deploy_data['is_friday']
    - 0.04 * deploy_data['test_coverage_pct']
)
deploy_data['failed'] = rng.binomial(1, expit(log_odds))

feature_names = ['files_changed', 'hours_since_last_deploy',
                 'is_friday', 'test_coverage_pct']

print(f"Dataset: {n} deployments")
print(f"Failure rate: {deploy_data['failed'].mean():.1%} "
      f"({int(deploy_data['failed'].sum())} failures)")

# A private copy for the tests and the checkpoint below (do not change it).
_CHAPTER_DATA = deploy_data.copy()

# %% [markdown] lrc="given ex3_downsample_task"
# ## 1. A 5% failure rate (2.5 points)
#
# Keep **every success** (`failed == 0`) and only enough failures for them to make up
# **5% of the rows**. With `n_successes` successes, that is
#
# $$k = \text{round}\left(\frac{0.05 \cdot n_\text{successes}}{0.95}\right)$$
#
# failures (then k / (n_successes + k) = 5%). Do it exactly like this, so that everyone
# draws the same failures:
#
# 1. `successes` = the rows of `deploy_data` with `failed == 0`, and `failures` = the rows
#    with `failed == 1` (both in their original order, e.g. `deploy_data[deploy_data['failed'] == 1]`);
# 2. `k = round(0.05 * len(successes) / 0.95)`;
# 3. draw the failures with **`failures.sample(n=k, random_state=42)`** (without
#    replacement, the default);
# 4. combine them with all the successes and put the rows back in their **original
#    order** with **`.sort_index()`**. Keep the original index labels: do not call
#    `reset_index`.
#
# Store the result, a DataFrame with the same columns as `deploy_data`, in
# **`imbalanced_data`**.

# %% lrc="answer ex3_downsample"
### BEGIN SOLUTION
successes = deploy_data[deploy_data['failed'] == 0]
failures = deploy_data[deploy_data['failed'] == 1]
k = round(0.05 * len(successes) / 0.95)
imbalanced_data = pd.concat([successes, failures.sample(n=k, random_state=42)]).sort_index()
print(f"{len(successes)} successes + {k} failures = {len(imbalanced_data)} rows, "
      f"failure rate {imbalanced_data['failed'].mean():.1%}")
### END SOLUTION

# %% lrc="tests ex3_downsample_tests 1.5" reads="imbalanced_data"
# Checks imbalanced_data: every success, k failures, rows unchanged from deploy_data, no repeats, original order.
assert isinstance(imbalanced_data, pd.DataFrame), "imbalanced_data should be a pandas DataFrame"
_missing = [c for c in _CHAPTER_DATA.columns if c not in imbalanced_data.columns]
assert not _missing, f"imbalanced_data should keep the columns of deploy_data; it lacks {_missing}"
_failed = np.asarray(imbalanced_data['failed'], dtype=float).reshape(-1)
_n_ok = int(np.sum(_CHAPTER_DATA['failed'] == 0))
_k = round(0.05 * _n_ok / 0.95)
assert int(np.sum(_failed == 0)) == _n_ok, (
    f"imbalanced_data has {int(np.sum(_failed == 0))} successes: keep every success of deploy_data")
assert int(np.sum(_failed == 1)) == _k, (
    f"imbalanced_data has {int(np.sum(_failed == 1))} failures: it should have "
    "k = round(0.05 * n_successes / 0.95), so that failures are 5% of all its rows")
assert imbalanced_data.index.is_unique, (
    "imbalanced_data repeats some rows: draw the failures without replacement (sample's default)")
_labels_known = bool(np.all(imbalanced_data.index.isin(_CHAPTER_DATA.index)))
_cols = list(_CHAPTER_DATA.columns)
assert _labels_known and np.array_equal(
    np.asarray(imbalanced_data[_cols], dtype=float),
    np.asarray(_CHAPTER_DATA.loc[imbalanced_data.index, _cols], dtype=float)), (
    "the rows of imbalanced_data should be rows of deploy_data, unchanged, under their original "
    "index labels (do not reset_index)")
assert imbalanced_data.index.is_monotonic_increasing, (
    "keep the rows in their original order: call .sort_index() after combining them")

# %% lrc="tests ex3_downsample_tests_rows 1" reads="imbalanced_data"
# Checks that imbalanced_data holds the failures drawn by failures.sample(n=k, random_state=42).
_is_failure = np.asarray(imbalanced_data['failed'], dtype=float).reshape(-1) == 1
_files = sorted(np.asarray(imbalanced_data['files_changed'], dtype=float)[_is_failure].tolist())
_hours = sorted(np.asarray(imbalanced_data['hours_since_last_deploy'], dtype=float)[_is_failure].tolist())
### BEGIN HIDDEN TESTS
_REF_FAILED_FILES = [14.0, 22.0, 25.0, 27.0, 28.0, 37.0, 39.0, 40.0, 46.0, 48.0, 49.0, 61.0, 61.0, 64.0, 66.0, 66.0, 71.0, 74.0, 75.0]  # ref: sorted(imbalanced_data.loc[imbalanced_data['failed'] == 1, 'files_changed'].astype(float).tolist())
_REF_FAILED_HOURS = [0.7, 2.6, 3.6, 4.6, 14.7, 16.0, 16.1, 16.6, 18.6, 19.9, 23.0, 23.7, 28.6, 34.4, 37.2, 46.7, 54.5, 97.3, 102.6]  # ref: sorted(imbalanced_data.loc[imbalanced_data['failed'] == 1, 'hours_since_last_deploy'].astype(float).tolist())
assert len(_files) == len(_REF_FAILED_FILES) and np.allclose(_files, _REF_FAILED_FILES) and np.allclose(
    _hours, _REF_FAILED_HOURS), (
    "imbalanced_data does not hold the failures drawn by failures.sample(n=k, random_state=42) "
    "from the failures in their original order")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex3_checkpoint_note"
# The next read-only cell re-creates `imbalanced_data` exactly as prescribed, so that a
# slip in part 1 does not cost you part 2. If your `imbalanced_data` passed the tests
# above, it changes nothing.

# %% lrc="given ex3_checkpoint"
# Given: the downsampled data (5% failures), used by the rest of this notebook.
_successes = _CHAPTER_DATA[_CHAPTER_DATA['failed'] == 0]
_failures = _CHAPTER_DATA[_CHAPTER_DATA['failed'] == 1]
imbalanced_data = pd.concat([
    _successes,
    _failures.sample(n=round(0.05 * len(_successes) / 0.95), random_state=42),
]).sort_index()
_IMBALANCED = imbalanced_data.copy()  # a private copy for the tests (do not change it)
print(f"imbalanced_data: {len(imbalanced_data)} rows, "
      f"{int(imbalanced_data['failed'].sum())} failures ({imbalanced_data['failed'].mean():.1%})")

# %% [markdown] lrc="given ex3_fit_task"
# ## 2. Two models and their confusion matrices (4.5 points)
#
# Split `imbalanced_data` into a training and a test set, **stratified** on the outcome so
# that both keep the 5% failure rate:
#
# ```python
# X_train, X_test, y_train, y_test = train_test_split(
#     imbalanced_data[feature_names], imbalanced_data['failed'],
#     test_size=0.3, stratify=imbalanced_data['failed'], random_state=42)
# ```
#
# Fit two logistic regressions on the **training** split, both with
# `LogisticRegression(max_iter=1000, random_state=42)`:
#
# * **`clf_standard`**: without class weights (the default);
# * **`clf_balanced`**: with `class_weight='balanced'`, which weights each class
#   inversely to its frequency, so that the few failures count as much as the many
#   successes.
#
# Then compute each model's confusion matrix **on the test split**, from its class
# predictions (`.predict`, the default threshold 0.5), in scikit-learn's orientation:
# **rows are the actual classes** (0 = success, 1 = failure) and **columns the predicted
# classes**, e.g. `confusion_matrix(y_test, clf_standard.predict(X_test))`. Store them in
# **`cm_standard`** and **`cm_balanced`** (2×2 arrays or DataFrames of counts). If you
# build a matrix yourself (e.g. with `pd.crosstab`), make sure it has both columns even
# when a model never predicts one of the classes.
#
# Print or plot the two matrices side by side (`ConfusionMatrixDisplay`) and compare
# them; part 3 asks you to interpret them.

# %% lrc="answer ex3_fit"
### BEGIN SOLUTION
X_train, X_test, y_train, y_test = train_test_split(
    imbalanced_data[feature_names], imbalanced_data['failed'],
    test_size=0.3, stratify=imbalanced_data['failed'], random_state=42)

clf_standard = LogisticRegression(max_iter=1000, random_state=42)
clf_standard.fit(X_train, y_train)
clf_balanced = LogisticRegression(class_weight='balanced', max_iter=1000, random_state=42)
clf_balanced.fit(X_train, y_train)

pred_standard = clf_standard.predict(X_test)
pred_balanced = clf_balanced.predict(X_test)
cm_standard = confusion_matrix(y_test, pred_standard)
cm_balanced = confusion_matrix(y_test, pred_balanced)

summary = pd.DataFrame({
    'Flagged': [int(pred_standard.sum()), int(pred_balanced.sum())],
    'Failures caught': [int(cm_standard[1, 1]), int(cm_balanced[1, 1])],
    'False alarms': [int(cm_standard[0, 1]), int(cm_balanced[0, 1])],
    'Precision': [precision_score(y_test, pred_standard, zero_division=0),
                  precision_score(y_test, pred_balanced, zero_division=0)],
    'Recall': [recall_score(y_test, pred_standard), recall_score(y_test, pred_balanced)],
    'Accuracy': [clf_standard.score(X_test, y_test), clf_balanced.score(X_test, y_test)],
}, index=['Standard', 'Balanced'])
print(f"Test split: {len(y_test)} deployments, {int(y_test.sum())} failures")
print(summary.round(3).to_string())

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, cm, title in zip(axes, [cm_standard, cm_balanced], ['Standard', "class_weight='balanced'"], strict=True):
    ConfusionMatrixDisplay(cm, display_labels=['Success', 'Failure']).plot(
        ax=ax, cmap='Blues', colorbar=False)
    ax.set_xlabel('Predicted')
    ax.set_ylabel('Actual')
    ax.set_title(title)
plt.tight_layout()
plt.show()
### END SOLUTION

# %% lrc="tests ex3_fit_tests_split 1" reads="X_test X_train y_test y_train"
# Checks the split: 30% of imbalanced_data's rows in the test set, four features, stratified on failed.
_Xtr = np.asarray(X_train, dtype=float)
_Xte = np.asarray(X_test, dtype=float)
_ytr = np.asarray(y_train, dtype=float).reshape(-1)
_yte = np.asarray(y_test, dtype=float).reshape(-1)
assert _Xtr.ndim == 2 and _Xte.ndim == 2 and _Xtr.shape[1] == 4 and _Xte.shape[1] == 4, (
    "X_train and X_test should hold the four feature columns, imbalanced_data[feature_names]")
assert len(_Xtr) == len(_ytr) and len(_Xte) == len(_yte), "each X should have one row per label in its y"
_n_test = int(np.ceil(0.3 * len(_IMBALANCED)))
assert len(_Xte) == _n_test and len(_Xtr) == len(_IMBALANCED) - _n_test, (
    f"the test split should hold 30% of the {len(_IMBALANCED)} rows of imbalanced_data (test_size=0.3)")
assert abs(_yte.sum() - 0.3 * float(_IMBALANCED['failed'].sum())) < 1, (
    "y_test does not keep the data's 5% failure rate: stratify the split on imbalanced_data['failed']")
### BEGIN HIDDEN TESTS
_REF_TEST_SUMS = [21.0, 2526.8, 3950.0, 8427.1]  # ref: sorted(X_test.sum().astype(float).tolist())
_REF_TEST_FAILURES = 6  # ref: int(y_test.sum())
assert np.allclose(sorted(_Xte.sum(axis=0).tolist()), _REF_TEST_SUMS, rtol=0, atol=1e-6) and (
    int(_yte.sum()) == _REF_TEST_FAILURES), (
    "the split is not train_test_split(..., test_size=0.3, stratify=imbalanced_data['failed'], "
    "random_state=42) of imbalanced_data")
### END HIDDEN TESTS

# %% lrc="tests ex3_fit_tests_models 1" reads="clf_balanced clf_standard"
# Checks clf_standard and clf_balanced: fitted logistic regressions on four features, class weights as asked.
from sklearn.linear_model import LogisticRegression as _LogisticRegression

for _name in ['clf_standard', 'clf_balanced']:
    _m = globals()[_name]
    assert isinstance(_m, _LogisticRegression), f"{_name} should be a scikit-learn LogisticRegression"
    assert hasattr(_m, 'coef_'), f"{_name} is not fitted yet: call .fit(X_train, y_train)"
    assert np.asarray(_m.coef_).shape == (1, 4), f"{_name} should be fitted on the four features"
_cw_standard = clf_standard.get_params().get('class_weight')
_cw_balanced = clf_balanced.get_params().get('class_weight')
assert _cw_standard is None, "clf_standard should be the standard model, without class weights"
assert isinstance(_cw_balanced, str) and _cw_balanced == 'balanced', (
    "clf_balanced should be fitted with class_weight='balanced'")

# %% lrc="tests ex3_fit_tests_matrices 1.5" reads="y_test cm_balanced cm_standard"
# Checks cm_standard and cm_balanced: 2x2 counts over the test split, rows = actual class, columns = predicted.
_yte = np.asarray(y_test, dtype=float).reshape(-1)
_actual = np.array([np.sum(_yte == 0), np.sum(_yte == 1)], dtype=float)
_cms = {}
for _name in ['cm_standard', 'cm_balanced']:
    _cm = np.asarray(globals()[_name], dtype=float)
    assert _cm.shape == (2, 2), (
        f"{_name} should be a 2x2 matrix (rows: actual 0/1, columns: predicted 0/1), not {_cm.shape}; "
        "keep both columns even if a model never predicts a failure")
    assert np.all(_cm >= 0) and np.allclose(_cm, np.round(_cm)), (
        f"{_name} should hold counts of deployments (not normalised rates)")
    assert np.isclose(_cm.sum(), _yte.size), (
        f"{_name} counts {_cm.sum():.0f} deployments: it should count the {_yte.size} of the test split")
    assert np.allclose(_cm.sum(axis=1), _actual), (
        f"{_name}'s rows do not add up to the actual successes and failures in y_test: rows should be "
        "the actual classes and columns the predicted ones (confusion_matrix(y_test, predictions))")
    _cms[_name] = _cm
### BEGIN HIDDEN TESTS
assert _cms['cm_balanced'][:, 1].sum() > _cms['cm_standard'][:, 1].sum(), (
    "the balanced model should flag more deployments as failures than the standard one")
assert _cms['cm_balanced'][1, 1] >= _cms['cm_standard'][1, 1], (
    "the balanced model should catch at least as many failures as the standard one")
### END HIDDEN TESTS

# %% lrc="tests ex3_fit_tests_reference 1" reads="cm_balanced cm_standard"
# Checks cm_standard and cm_balanced against the reference solution's matrices.
_cm_s = np.asarray(cm_standard, dtype=float)
_cm_b = np.asarray(cm_balanced, dtype=float)
### BEGIN HIDDEN TESTS
_REF_CM_STANDARD = [[108, 0], [6, 0]]  # ref: cm_standard.tolist()
_REF_CM_BALANCED = [[74, 34], [1, 5]]  # ref: cm_balanced.tolist()
assert _cm_s.shape == (2, 2) and np.array_equal(_cm_s, np.asarray(_REF_CM_STANDARD, dtype=float)), (
    "cm_standard is not the reference confusion matrix of the standard model on the test split")
assert _cm_b.shape == (2, 2) and np.array_equal(_cm_b, np.asarray(_REF_CM_BALANCED, dtype=float)), (
    "cm_balanced is not the reference confusion matrix of the balanced model on the test split")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex3_gating_question"
# ## 3. Which model gates the deployments? (3 points, graded by hand)
#
# A deployment gate holds every deployment the model flags as a likely failure for a
# manual check. Using your two confusion matrices, which model would you put in front of
# production, and why? Say what each model gets right and wrong (in counts), what a
# missed failure and a false hold each cost, and how those costs decide the choice. If
# neither model as it stands is what you want, say what you would do instead.

# %% [markdown] lrc="written ex3_gating_answer 3"
# ### BEGIN SOLUTION
# **Model answer.** The test split holds 114 deployments, 6 of them failures. The
# standard model never predicts a failure: its matrix is [[108, 0], [6, 0]], so it
# misses all 6 failures while scoring 94.7% accuracy, exactly the "always predict
# success" trap. As a gate it does nothing. The balanced model, [[74, 34], [1, 5]],
# catches 5 of the 6 failures (recall 0.83) but flags 39 deployments, 34 of them false
# alarms (precision 0.13): about a third of all deployments would be held, roughly 7
# false holds for every failure it stops, and its accuracy falls to 69%.
#
# The choice depends on what each error costs. A missed failure costs an incident
# (downtime, a rollback, on-call time; the chapter's £50,000 outage); a false hold costs
# a reviewer's time and a delayed release, and too many of them teach people to wave
# the gate through. The balanced model is worth it when a missed failure costs more than
# about seven false holds, which is plausible for production outages, so I would choose
# it over the standard model, whose gate never fires. But 34 holds per 114 deployments
# is a heavy load: in practice I would keep one model's probabilities and choose the
# threshold from the costs (threshold adjustment is the chapter's first remedy, and the
# standard model's probabilities can be used with a threshold far below 0.5), checking it
# on a validation set. With only 6 failures in the test set, every count here is very
# uncertain: one failure more or less moves recall by 17 points.
#
# **Rubric (3 points).**
# - 1 point: reads the matrices correctly in counts: the standard model flags no (or
#   almost no) deployments and misses the failures despite high accuracy; the balanced
#   model catches most failures at the price of many false alarms (about 34 false holds
#   for 5 caught failures).
# - 1 point: a cost-based argument: the choice follows from the cost of a missed failure
#   compared with the cost of a false hold (a break-even ratio, or concrete costs). Either
#   model earns the point if the choice follows from the stated costs; a fixed choice
#   with no cost reasoning ("recall matters most", "accuracy is higher") earns no point
#   here.
# - 1 point: a further sound point: tune the threshold (of either model) to the costs
#   instead of using 0.5, or choose it on a validation set; or the evidence is thin (6
#   test failures); or the accuracy of the standard model is misleading under imbalance.
# - Half points where an idea is present but muddled (e.g. rows and columns swapped when
#   reading the matrix).
# ### END SOLUTION
