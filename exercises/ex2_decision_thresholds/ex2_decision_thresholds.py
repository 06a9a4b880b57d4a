# %% [markdown] lrc="given ex2_intro"
# # Exercise 2 — Choosing a decision threshold
#
# *Chapter: "Logistic regression and classification", sections "Prediction and the
# decision threshold", "Evaluating classification: beyond accuracy" and "The
# precision-recall trade-off". Exercise 2 at the end of the chapter.*
#
# A logistic regression gives a probability; a decision needs a **threshold**. In this
# notebook you will choose thresholds for the chapter's deployment-failure model
# (`clf`, fitted on the training split) from its predicted probabilities on the test set:
#
# 1. the threshold that maximises the F1 score on the test set (`best_threshold`, `best_f1`);
# 2. the threshold that reaches at least 90% recall while keeping precision as high as
#    possible (`recall90_threshold`, `recall90_precision`, `recall90_recall`);
# 3. how much precision the recall target costs (`precision_drop`);
# 4. in words: is that recall target worth its price?
#
# **The decision rule.** Throughout this notebook (as in the chapter's code), a
# deployment is classified as a failure when its predicted probability is **at least**
# the threshold: `p >= threshold`. Every threshold you report is judged under this rule.
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
# restores them from its own copy. Do not reassign the given names (`deploy_data`,
# `X_train`, `X_test`, `y_train`, `y_test`, `clf`, `y_prob`): use new names for your own
# variables.

# %% lrc="given ex2_setup"
# Given: the chapter's deployment data, its train/test split, its scikit-learn model and
# the model's predicted P(failure) on the test set. Run this cell first.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve, precision_score, recall_score
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

X_features = deploy_data[feature_names]
y_target = deploy_data['failed']
X_train, X_test, y_train, y_test = train_test_split(
    X_features, y_target, test_size=0.2, random_state=42
)
clf = LogisticRegression(max_iter=200, random_state=42)
clf.fit(X_train, y_train)

# Predicted probabilities for the test set
y_prob = clf.predict_proba(X_test)[:, 1]  # column 1 = P(failed = 1)

print(f"Test set: {len(y_test)} deployments, {int(y_test.sum())} of them failed")
print(f"First 10 predicted probabilities: {np.round(y_prob[:10], 3)}")

# Private copies for the visible tests, so that your own variables cannot confuse them.
_TEST_LABELS = np.asarray(y_test, dtype=float).copy()
_TEST_PROB = np.asarray(y_prob, dtype=float).copy()

# %% [markdown] lrc="given ex2_table_note"
# The chapter compared five thresholds in a table. The next read-only cell turns its
# code into a function you may use: `threshold_table(y_true, probabilities, thresholds)`
# returns one row per threshold with the precision, recall and F1 of the rule
# `p >= threshold`. It counts the true and false positives itself, which gives the same
# numbers as the chapter's `precision_score`, `recall_score` and `f1_score` and stays fast
# for hundreds of thresholds. It then prints the chapter's table.

# %% lrc="given ex2_threshold_table"
# Given: the chapter's threshold comparison, as a function of the thresholds to compare.
def threshold_table(y_true, probabilities, thresholds):
    """Precision, recall and F1 of the rule `probability >= threshold`, one row per threshold."""
    actual = np.asarray(y_true) == 1
    probabilities = np.asarray(probabilities)
    rows = []
    for t in thresholds:
        flagged = probabilities >= t
        tp, n_flagged, n_actual = int(np.sum(flagged & actual)), int(np.sum(flagged)), int(np.sum(actual))
        rows.append({
            'Threshold': t,
            'Precision': tp / n_flagged if n_flagged else 0.0,  # precision_score(..., zero_division=0)
            'Recall': tp / n_actual if n_actual else 0.0,
            'F1': 2 * tp / (n_flagged + n_actual) if n_flagged + n_actual else 0.0,
        })
    return pd.DataFrame(rows)


print(threshold_table(y_test, y_prob, [0.2, 0.3, 0.4, 0.5, 0.6])
      .set_index('Threshold').round(3).to_string())

# %% [markdown] lrc="given ex2_best_f1_task"
# ## 1. The F1-optimal threshold (3 points)
#
# Find a threshold that **maximises the F1 score on the test set** (`y_test`, `y_prob`)
# under the rule `p >= threshold`, and store it in **`best_threshold`** and that maximal
# F1 in **`best_f1`** (plain numbers).
#
# The chapter's five thresholds are far too coarse. Under `p >= threshold` the
# predictions change only when the threshold passes one of the predicted probabilities,
# so checking every distinct value in `y_prob` (`np.unique(y_prob)`) as a threshold
# covers every possible outcome. Two routes:
#
# * `threshold_table(y_test, y_prob, np.unique(y_prob))` and pick the row with the
#   largest F1;
# * `precision, recall, thresholds = precision_recall_curve(y_test, y_prob)` and compute
#   F1 from `precision` and `recall`. Careful: `precision` and `recall` have **one more
#   element** than `thresholds` (their last pair, precision 1 and recall 0, has no
#   threshold); `precision[i]` and `recall[i]` belong to `thresholds[i]`.
#
# Several thresholds may reach the same best F1 (every threshold between two
# neighbouring probabilities gives the same predictions); any of them is right. The
# visible test checks that your `best_f1` is the F1 of your `best_threshold` under
# `p >= threshold`.

# %% lrc="answer ex2_best_f1"
### BEGIN SOLUTION
candidates = np.unique(y_prob)  # every distinct predicted probability
f1_table = threshold_table(y_test, y_prob, candidates)
best_row = f1_table.loc[f1_table['F1'].idxmax()]
best_threshold = float(best_row['Threshold'])
best_f1 = float(best_row['F1'])
print(f"Best F1 = {best_f1:.3f} at threshold {best_threshold:.3f} "
      f"(precision {best_row['Precision']:.3f}, recall {best_row['Recall']:.3f})")
print(f1_table.sort_values('F1', ascending=False).head(5).round(3).to_string(index=False))
### END SOLUTION

# %% lrc="tests ex2_best_f1_tests 1" reads="best_f1 best_threshold"
# Checks best_threshold and best_f1: numbers, and best_f1 is the F1 of best_threshold under p >= threshold.
_t = np.asarray(best_threshold, dtype=float).reshape(-1)
_f1 = np.asarray(best_f1, dtype=float).reshape(-1)
assert _t.size == 1 and np.isfinite(_t[0]), "best_threshold should be a single finite number"
assert _f1.size == 1 and np.isfinite(_f1[0]), "best_f1 should be a single finite number"
assert 0 <= _t[0] <= 1, "best_threshold should be a probability threshold between 0 and 1"
assert 0 <= _f1[0] <= 1, "best_f1 should be an F1 score between 0 and 1 (not a percentage)"
_pred = _TEST_PROB >= _t[0] - 1e-9  # p >= threshold; the 1e-9 absorbs last-digit differences
_tp = float(np.sum(_pred & (_TEST_LABELS == 1)))
_fp = float(np.sum(_pred & (_TEST_LABELS == 0)))
_fn = float(np.sum(~_pred & (_TEST_LABELS == 1)))
_own_f1 = 2 * _tp / (2 * _tp + _fp + _fn)
assert abs(_f1[0] - _own_f1) <= 0.001, (
    f"best_f1 is not the test-set F1 of best_threshold under p >= threshold (that is {_own_f1:.4f}): "
    "classify as failure when y_prob >= threshold, and compute F1 on y_test")

# %% lrc="tests ex2_best_f1_tests_optimum 2" reads="best_f1 best_threshold"
# Checks that best_threshold reaches the largest F1 on the test set (p >= threshold).
_t = float(np.asarray(best_threshold, dtype=float).reshape(-1)[0])
_pred = _TEST_PROB >= _t - 1e-9  # p >= threshold; the 1e-9 absorbs last-digit differences
_tp = float(np.sum(_pred & (_TEST_LABELS == 1)))
_own_f1 = 2 * _tp / (_tp + float(np.sum(_pred)) + float(np.sum(_TEST_LABELS == 1)))
_table_f1 = []
for _c in [0.2, 0.3, 0.4, 0.5, 0.6]:
    _p = _TEST_PROB >= _c
    _tp_c = float(np.sum(_p & (_TEST_LABELS == 1)))
    _table_f1.append(2 * _tp_c / (_tp_c + float(np.sum(_p)) + float(np.sum(_TEST_LABELS == 1))))
_strict = _TEST_PROB > _t + 1e-9  # the rule p > threshold, to tell that slip apart
_tp_s = float(np.sum(_strict & (_TEST_LABELS == 1)))
_strict_f1 = 2 * _tp_s / (_tp_s + float(np.sum(_strict)) + float(np.sum(_TEST_LABELS == 1)))
assert _own_f1 > max(_table_f1), (
    "best_threshold does well only under p > threshold, but the rule here is p >= threshold: "
    "check the rule, and that the threshold is the one your numbers belong to (precision[i] and "
    "recall[i] of precision_recall_curve belong to thresholds[i])"
    if _strict_f1 > max(_table_f1) else
    "best_threshold does no better than the best of the chapter's five thresholds: "
    "search every distinct predicted probability on the test set")
### BEGIN HIDDEN TESTS
_REF_P_FAILED = [0.1268015482027628, 0.20083516496532525, 0.23723230048886054, 0.2571918175050891, 0.2680201119633335, 0.2846894917139825, 0.38324863000673276, 0.4130603436200508, 0.5365823583815482, 0.5477278159728083, 0.5560421595611846, 0.567699567378077, 0.5839563659874581, 0.5842483413559793, 0.6172464624459569, 0.6600731045947847, 0.6609346362036971, 0.6695213558935054, 0.6856060885712765, 0.7123110857671899, 0.7298850721299975, 0.7749089568236397, 0.7867635108076914, 0.8209258173991106, 0.9092526464127296, 0.9256418766911462]  # ref: sorted(float(p) for p in y_prob[np.asarray(y_test) == 1])
_REF_P_OK = [0.0078124350426579245, 0.016733739080219228, 0.02247873852003628, 0.024314787353188223, 0.024810347412301287, 0.026249684720660253, 0.026662027853254416, 0.02707526112580429, 0.03288233186580889, 0.033504136669036226, 0.036667882681409414, 0.04249664113301911, 0.04612853641031115, 0.048803080057893244, 0.051029502178465906, 0.05343021305942839, 0.05584513033282956, 0.05611671980255112, 0.058153184830348016, 0.06740129459945417, 0.067842808030498, 0.08649295571567364, 0.09408995487188006, 0.09884751179822648, 0.10000737964916794, 0.10197241079213469, 0.1075359037581489, 0.1178301710194058, 0.11883126349812777, 0.1257633059713739, 0.12718441745181805, 0.13415303772957288, 0.13687543490648357, 0.13865803119652384, 0.1416373444099358, 0.14466933100571663, 0.1487641334806821, 0.14915829494812655, 0.15092050467872847, 0.15346489457084145, 0.16049794318458416, 0.16241422406903158, 0.1721438059598849, 0.17376073628170643, 0.19915105858511492, 0.20114912244875593, 0.21939784964245804, 0.2579709881255171, 0.290735591008988, 0.29599498836819427, 0.30399131973036186, 0.315690595582701, 0.32160544352274933, 0.32355643952785434, 0.3254399750454316, 0.32971148500464537, 0.3983873801272467, 0.40680063337734446, 0.42945837210948795, 0.4405900686287478, 0.44845593332830547, 0.4504574982233484, 0.4509482993030641, 0.4579468248695863, 0.4883288904137931, 0.49336071262627756, 0.5059060434484498, 0.5372351303870136, 0.5839787251463088, 0.5917663164000769, 0.6115229566071294, 0.6553763576925479, 0.713936872424374, 0.8335977893249364]  # ref: sorted(float(p) for p in y_prob[np.asarray(y_test) == 0])
# The student's threshold is one of the student's own probabilities, computed on the grading
# machine; the stored ones may differ in their last digits (another CPU or BLAS). Count
# p >= threshold with a band far below the smallest gap between probabilities (2e-5).
_BAND = 1e-9
_REF_BEST_F1 = 0.7058823529411765  # ref: best_f1
_tp = float(np.sum(np.asarray(_REF_P_FAILED) >= _t - _BAND))
_fp = float(np.sum(np.asarray(_REF_P_OK) >= _t - _BAND))
_ref_f1 = 2 * _tp / (2 * _tp + _fp + (len(_REF_P_FAILED) - _tp))
assert _ref_f1 >= _REF_BEST_F1 - 1e-9, (
    "best_threshold does not reach the largest test-set F1 under p >= threshold")
assert abs(float(np.asarray(best_f1, dtype=float).reshape(-1)[0]) - _REF_BEST_F1) <= 0.001, (
    "best_f1 is not the largest test-set F1")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex2_recall90_task"
# ## 2. A threshold for 90% recall (3 points)
#
# The team wants the gate to catch **at least 90% of the failing deployments** (recall
# ≥ 0.90 on the test set). Many thresholds reach that; among them, choose the one that
# keeps **precision highest**, so the gate raises as few false alarms as it can.
#
# Store that threshold in **`recall90_threshold`**, and its test-set precision and recall
# (under `p >= threshold`) in **`recall90_precision`** and **`recall90_recall`**, as plain
# numbers between 0 and 1.
#
# *Hint:* the lowest threshold always reaches recall 1, and it also flags almost every
# deployment: look at precision too. As in part 1, every distinct value of `y_prob` is a
# candidate, and any threshold that reaches the best precision (with recall ≥ 0.90) is
# right.

# %% lrc="answer ex2_recall90"
### BEGIN SOLUTION
recall_table = threshold_table(y_test, y_prob, np.unique(y_prob))
meets_target = recall_table[recall_table['Recall'] >= 0.90]
recall90_row = meets_target.loc[meets_target['Precision'].idxmax()]
recall90_threshold = float(recall90_row['Threshold'])
recall90_precision = float(recall90_row['Precision'])
recall90_recall = float(recall90_row['Recall'])
print(f"Recall >= 0.90 with the best precision: threshold {recall90_threshold:.3f}, "
      f"precision {recall90_precision:.3f}, recall {recall90_recall:.3f}")
### END SOLUTION

# %% lrc="tests ex2_recall90_tests 1" reads="recall90_precision recall90_recall recall90_threshold"
# Checks recall90_threshold/precision/recall: numbers, recall >= 0.90, and the reported values are the threshold's own.
_vals = {}
for _name in ['recall90_threshold', 'recall90_precision', 'recall90_recall']:
    _v = np.asarray(globals()[_name], dtype=float).reshape(-1)
    assert _v.size == 1 and np.isfinite(_v[0]), f"{_name} should be a single finite number"
    assert 0 <= _v[0] <= 1, f"{_name} should lie between 0 and 1 (a fraction, not a percentage)"
    _vals[_name] = float(_v[0])
_pred = _TEST_PROB >= _vals['recall90_threshold'] - 1e-9  # p >= threshold, 1e-9 for last digits
_tp = float(np.sum(_pred & (_TEST_LABELS == 1)))
_own_recall = _tp / float(np.sum(_TEST_LABELS == 1))
_own_precision = _tp / float(np.sum(_pred)) if np.sum(_pred) else 0.0
assert _own_recall >= 0.9, (
    f"under p >= threshold, recall90_threshold reaches a test-set recall of only {_own_recall:.3f}: "
    "it should be at least 0.90")
assert abs(_vals['recall90_recall'] - _own_recall) <= 0.001, (
    f"recall90_recall is not the test-set recall of recall90_threshold under p >= threshold "
    f"(that is {_own_recall:.4f})")
assert abs(_vals['recall90_precision'] - _own_precision) <= 0.001, (
    f"recall90_precision is not the test-set precision of recall90_threshold under p >= threshold "
    f"(that is {_own_precision:.4f})")

# %% lrc="tests ex2_recall90_tests_optimum 2" reads="recall90_precision recall90_recall recall90_threshold"
# Checks that recall90_threshold keeps precision highest among thresholds with test-set recall >= 0.90.
_t = float(np.asarray(recall90_threshold, dtype=float).reshape(-1)[0])
_pred = _TEST_PROB >= _t - 1e-9  # p >= threshold; the 1e-9 absorbs last-digit differences
_tp = float(np.sum(_pred & (_TEST_LABELS == 1)))
_own_precision = _tp / float(np.sum(_pred)) if np.sum(_pred) else 0.0
_table_precision = []
for _c in [0.2, 0.3, 0.4, 0.5, 0.6]:
    _p = _TEST_PROB >= _c
    _tp_c = float(np.sum(_p & (_TEST_LABELS == 1)))
    if _tp_c / float(np.sum(_TEST_LABELS == 1)) >= 0.9:
        _table_precision.append(_tp_c / float(np.sum(_p)))
assert _tp / float(np.sum(_TEST_LABELS == 1)) >= 0.9, "recall90_threshold should reach recall >= 0.90"
_strict = _TEST_PROB > _t + 1e-9  # the rule p > threshold, to tell that slip apart
_tp_s = float(np.sum(_strict & (_TEST_LABELS == 1)))
_strict_ok = _tp_s / float(np.sum(_TEST_LABELS == 1)) >= 0.9 and np.sum(_strict) > 0
assert _own_precision > max(_table_precision), (
    "recall90_threshold does well only under p > threshold, but the rule here is p >= threshold: "
    "check the rule, and that the threshold is the one your numbers belong to (precision[i] and "
    "recall[i] of precision_recall_curve belong to thresholds[i])"
    if _strict_ok and _tp_s / float(np.sum(_strict)) > max(_table_precision) else
    "recall90_threshold keeps no more precision than the chapter's thresholds that reach 90% recall: "
    "search every distinct predicted probability on the test set")
### BEGIN HIDDEN TESTS
_REF_P_FAILED = [0.1268015482027628, 0.20083516496532525, 0.23723230048886054, 0.2571918175050891, 0.2680201119633335, 0.2846894917139825, 0.38324863000673276, 0.4130603436200508, 0.5365823583815482, 0.5477278159728083, 0.5560421595611846, 0.567699567378077, 0.5839563659874581, 0.5842483413559793, 0.6172464624459569, 0.6600731045947847, 0.6609346362036971, 0.6695213558935054, 0.6856060885712765, 0.7123110857671899, 0.7298850721299975, 0.7749089568236397, 0.7867635108076914, 0.8209258173991106, 0.9092526464127296, 0.9256418766911462]  # ref: sorted(float(p) for p in y_prob[np.asarray(y_test) == 1])
_REF_P_OK = [0.0078124350426579245, 0.016733739080219228, 0.02247873852003628, 0.024314787353188223, 0.024810347412301287, 0.026249684720660253, 0.026662027853254416, 0.02707526112580429, 0.03288233186580889, 0.033504136669036226, 0.036667882681409414, 0.04249664113301911, 0.04612853641031115, 0.048803080057893244, 0.051029502178465906, 0.05343021305942839, 0.05584513033282956, 0.05611671980255112, 0.058153184830348016, 0.06740129459945417, 0.067842808030498, 0.08649295571567364, 0.09408995487188006, 0.09884751179822648, 0.10000737964916794, 0.10197241079213469, 0.1075359037581489, 0.1178301710194058, 0.11883126349812777, 0.1257633059713739, 0.12718441745181805, 0.13415303772957288, 0.13687543490648357, 0.13865803119652384, 0.1416373444099358, 0.14466933100571663, 0.1487641334806821, 0.14915829494812655, 0.15092050467872847, 0.15346489457084145, 0.16049794318458416, 0.16241422406903158, 0.1721438059598849, 0.17376073628170643, 0.19915105858511492, 0.20114912244875593, 0.21939784964245804, 0.2579709881255171, 0.290735591008988, 0.29599498836819427, 0.30399131973036186, 0.315690595582701, 0.32160544352274933, 0.32355643952785434, 0.3254399750454316, 0.32971148500464537, 0.3983873801272467, 0.40680063337734446, 0.42945837210948795, 0.4405900686287478, 0.44845593332830547, 0.4504574982233484, 0.4509482993030641, 0.4579468248695863, 0.4883288904137931, 0.49336071262627756, 0.5059060434484498, 0.5372351303870136, 0.5839787251463088, 0.5917663164000769, 0.6115229566071294, 0.6553763576925479, 0.713936872424374, 0.8335977893249364]  # ref: sorted(float(p) for p in y_prob[np.asarray(y_test) == 0])
# The student's threshold is one of the student's own probabilities, computed on the grading
# machine; the stored ones may differ in their last digits (another CPU or BLAS). Count
# p >= threshold with a band far below the smallest gap between probabilities (2e-5).
_BAND = 1e-9
_REF_R90_PRECISION = 0.47058823529411764  # ref: recall90_precision
_REF_R90_RECALL = 0.9230769230769231  # ref: recall90_recall
_tp = float(np.sum(np.asarray(_REF_P_FAILED) >= _t - _BAND))
_fp = float(np.sum(np.asarray(_REF_P_OK) >= _t - _BAND))
assert _tp / len(_REF_P_FAILED) >= 0.9, "recall90_threshold does not reach recall >= 0.90 on the test set"
assert _tp / (_tp + _fp) >= _REF_R90_PRECISION - 1e-9, (
    "recall90_threshold is not the threshold with recall >= 0.90 that keeps precision highest")
assert abs(float(np.asarray(recall90_precision, dtype=float).reshape(-1)[0]) - _REF_R90_PRECISION) <= 0.001, (
    "recall90_precision is not the best precision among thresholds with recall >= 0.90")
assert abs(float(np.asarray(recall90_recall, dtype=float).reshape(-1)[0]) - _REF_R90_RECALL) <= 0.001, (
    "recall90_recall is not the recall of the best threshold with recall >= 0.90")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex2_sacrifice_task"
# ## 3. The price of the recall target (1 point)
#
# How much precision does the recall target cost? Store in **`precision_drop`** the
# precision at `best_threshold` **minus** the precision at `recall90_threshold`, both on
# the test set under `p >= threshold`, as an **absolute** difference and a fraction
# (0.05 means five percentage points; do not divide by either precision).

# %% lrc="answer ex2_sacrifice"
### BEGIN SOLUTION
comparison = threshold_table(y_test, y_prob, [best_threshold, recall90_threshold])
comparison.index = ['F1-optimal', 'Recall >= 0.90']
precision_drop = float(comparison['Precision'].iloc[0] - comparison['Precision'].iloc[1])
print(comparison.round(3).to_string())
print(f"\nPrecision drop for the recall target: {precision_drop:.3f} "
      f"({100 * precision_drop:.1f} percentage points)")

# The two operating points on the chapter's precision-recall curve.
precision_vals, recall_vals, _ = precision_recall_curve(y_test, y_prob)
fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(recall_vals, precision_vals, linewidth=2)
for name, row in comparison.iterrows():
    ax.plot(row['Recall'], row['Precision'], 'o', markersize=9,
            label=f"{name}: t = {row['Threshold']:.3f}")
ax.set_xlabel('Recall')
ax.set_ylabel('Precision')
ax.set_title('The recall target moves down the precision-recall curve')
ax.legend()
plt.show()
### END SOLUTION

# %% lrc="tests ex2_sacrifice_tests 1" reads="precision_drop"
# Checks precision_drop: one positive fraction (hidden: equal to the reference drop within 0.001).
_drop = np.asarray(precision_drop, dtype=float).reshape(-1)
assert _drop.size == 1 and np.isfinite(_drop[0]), "precision_drop should be a single finite number"
assert -1 <= _drop[0] <= 1, "precision_drop should be a fraction (0.05 for five percentage points)"
assert _drop[0] > 0, (
    "precision_drop should be positive: precision at best_threshold minus precision at recall90_threshold")
### BEGIN HIDDEN TESTS
_REF_DROP = 0.24941176470588233  # ref: precision_drop
assert abs(_drop[0] - _REF_DROP) <= 0.001, (
    "precision_drop is not the absolute drop in test-set precision from the F1-optimal threshold "
    "to the best 90%-recall threshold")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex2_sacrifice_question"
# ## 4. Is the recall target worth it? (3 points, graded by hand)
#
# Compare the two thresholds in a few sentences: how much precision (and how many extra
# false alarms on this test set) does the 90% recall target cost, and what does it buy?
# Would you adopt it for a deployment gate, and what would your answer depend on? Say
# also how far you trust numbers tuned on this test set.

# %% [markdown] lrc="written ex2_sacrifice_answer 3"
# ### BEGIN SOLUTION
# **Model answer.** At the F1-optimal threshold (about 0.54; any value in (0.506, 0.537]
# gives the same predictions) the gate flags 25 of the 100 test deployments: 18 real
# failures and 7 false alarms, so precision 0.72 and recall 0.69 (8 of the 26 failures
# slip through). The best threshold with recall ≥ 0.90 (about 0.24) flags 51: 24 failures
# and 27 false alarms, precision 0.47 and recall 0.92. The recall target therefore costs
# about 0.25 of precision (25 percentage points): fewer than half of the flagged
# deployments really fail. It buys 6 more caught failures for 20 more false alarms,
# about 3.3 extra false alarms per extra failure caught.
#
# Whether that is worth it is a cost question, not a statistical one. If a missed
# failure (an outage, a rollback, the chapter's £50,000) costs more than three or four
# false holds (each perhaps half an hour of an engineer's time), the lower threshold is
# the better gate; if a hold is expensive (a blocked release train, alert fatigue that
# makes people ignore the gate), the F1 threshold or one in between is. F1 itself
# weighs the two errors equally, which is rarely what the business wants.
#
# These numbers come from 100 test deployments with 26 failures: one failure more or less
# moves recall by about 4 points, and thresholds chosen on the test set look better there
# than they will on new deployments. In practice I would choose the threshold on a
# validation split or by cross-validation and confirm it on held-out data.
#
# **Rubric (3 points).**
# - 1 point: quantifies the cost correctly: precision falls from about 0.72 to about 0.47
#   (≈ 0.25, or 25 percentage points), with recall rising from about 0.69 to about 0.92;
#   or in counts, about 20 more false alarms for about 6 more caught failures. Half a
#   point if only one side of the trade (the precision lost or the recall gained) is given,
#   or the drop is stated as a relative change without the absolute one.
# - 1 point: a judgement tied to the relative costs of a missed failure and a false
#   alarm (e.g. worth it when a missed failure costs more than roughly three false holds;
#   the chapter's outage-versus-30-minutes example). Either conclusion earns the point if
#   it follows from stated costs; "recall is more important" with no reason earns half.
# - 1 point: a caveat about the evidence: thresholds tuned on the test set are optimistic
#   (use a validation set or cross-validation), or the test set is small (26 failures, so
#   one failure shifts recall by ~4 points), or the F1 optimum is not a cost optimum.
# - No points for restating the definitions of precision and recall without the numbers.
# ### END SOLUTION
