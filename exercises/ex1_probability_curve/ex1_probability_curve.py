# %% [markdown] lrc="given ex1_intro"
# # Exercise 1 — The probability curve
#
# *Chapter: "Logistic regression and classification", sections "A worked example:
# predicting deployment failures" and "The sigmoid function". Exercise 1 at the end
# of the chapter.*
#
# A fitted logistic regression turns a straight line in the **log-odds** into an
# S-shaped curve in the **probability**. In this notebook you will see that curve for
# the chapter's deployment-failure model:
#
# 1. regenerate the chapter's deployment data (`deploy_data`);
# 2. fit a logistic regression of `failed` on the four features (`model`, `coef_files`);
# 3. compute the predicted probability of failure along a grid of `files_changed` values,
#    with the other three predictors held at their means (`files_grid`, `p_fail`);
# 4. plot the curve next to a straight line (`fig`);
# 5. find where the curve crosses P(failure) = 0.5 (`files_at_half`);
# 6. explain, in words, how the curve's shape differs from a straight line.
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

# %% lrc="given ex1_setup"
# Given: the libraries this exercise uses. Run this cell first.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

feature_names = ['files_changed', 'hours_since_last_deploy',
                 'is_friday', 'test_coverage_pct']

# %% [markdown] lrc="given ex1_data_task"
# ## 1. The deployment data (1 point)
#
# Regenerate the chapter's 500-deployment data set **exactly** as the chapter's
# `deployment-data` cell does it: `rng = np.random.default_rng(42)`, `n = 500`, the four
# features drawn in the chapter's order (`files_changed`, `hours_since_last_deploy`,
# `is_friday`, `test_coverage_pct`) and then the outcome `failed` drawn from the true
# failure probability `expit(log_odds)`. Every draw from `rng` must happen in the same
# order as in the chapter, or the numbers will differ.
#
# The chapter's recipe, in its order (`n = 500` of each):
#
# | column | drawn as |
# |---|---|
# | `files_changed` | whole numbers from 1 to 79: `rng.integers(1, 80, n)` |
# | `hours_since_last_deploy` | exponential with mean 24 hours, rounded to one decimal |
# | `is_friday` | 0/1, a Friday with probability 1/5 (`rng.binomial`) |
# | `test_coverage_pct` | normal with mean 75 and standard deviation 15, clipped to [20, 100], rounded to one decimal |
# | `failed` | 0/1 with probability `expit(log_odds)`, drawn last |
#
# where the true log-odds of failure are
# `-1.0 + 0.05·files_changed + 0.02·hours_since_last_deploy + 0.8·is_friday - 0.04·test_coverage_pct`.
#
# Store the result in a DataFrame called **`deploy_data`** with the columns
# `files_changed, hours_since_last_deploy, is_friday, test_coverage_pct, failed`.

# %% lrc="answer ex1_data"
### BEGIN SOLUTION
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
### END SOLUTION

# %% lrc="tests ex1_data_tests 1" reads="deploy_data"
# Checks deploy_data: a 500-row DataFrame with the chapter's columns and values.
assert isinstance(deploy_data, pd.DataFrame), "deploy_data should be a pandas DataFrame"
assert len(deploy_data) == 500, f"deploy_data should have 500 rows (n = 500), not {len(deploy_data)}"
_expected_cols = {'files_changed', 'hours_since_last_deploy', 'is_friday',
                  'test_coverage_pct', 'failed'}
assert set(deploy_data.columns) == _expected_cols, (
    f"deploy_data should have exactly the columns {sorted(_expected_cols)}")
assert set(np.unique(np.asarray(deploy_data['failed'], dtype=float))) <= {0.0, 1.0}, (
    "failed should hold 0/1 outcomes drawn with rng.binomial")
### BEGIN HIDDEN TESTS
_sums = np.asarray(deploy_data[['files_changed', 'hours_since_last_deploy', 'is_friday',
                                'test_coverage_pct', 'failed']].sum(), dtype=float)
_REF_SUMS = [19974.0, 12255.1, 106.0, 36878.6, 139.0]  # ref: deploy_data[['files_changed', 'hours_since_last_deploy', 'is_friday', 'test_coverage_pct', 'failed']].sum().tolist()
assert np.allclose(_sums, _REF_SUMS, rtol=0, atol=1e-6), (
    "deploy_data does not match the chapter's data: check the seed (42) and the order "
    "of the random draws")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex1_data_checkpoint_note"
# The next read-only cell re-creates the chapter's data, so that a slip in part 1 does
# not cost you the rest of the exercise. If your `deploy_data` passed the tests above,
# it changes nothing.

# %% lrc="given ex1_data_checkpoint"
# Given: the chapter's deployment data, used by the rest of this notebook.
def _chapter_deploy_data():
    rng = np.random.default_rng(42)
    n = 500
    data = pd.DataFrame({
        'files_changed': rng.integers(1, 80, n),
        'hours_since_last_deploy': rng.exponential(24, n).round(1),
        'is_friday': rng.binomial(1, 1/5, n),
        'test_coverage_pct': np.clip(rng.normal(75, 15, n), 20, 100).round(1),
    })
    log_odds = (-1.0 + 0.05 * data['files_changed']
                + 0.02 * data['hours_since_last_deploy']
                + 0.8 * data['is_friday'] - 0.04 * data['test_coverage_pct'])
    data['failed'] = rng.binomial(1, expit(log_odds))
    return data


deploy_data = _chapter_deploy_data()

# %% [markdown] lrc="given ex1_model_task"
# ## 2. The model (1.5 points)
#
# Fit a logistic regression of `failed` on the four features in `feature_names`, using
# **all 500 rows** and **no regularisation**. Either of these works:
#
# * statsmodels, as in the chapter: `sm.Logit(y, sm.add_constant(X)).fit(disp=False)`
#   (or the formula API, `smf.logit(...)`);
# * scikit-learn with regularisation switched off: `LogisticRegression(C=np.inf, max_iter=1000)`.
#   (scikit-learn's default `C=1.0` adds an L2 penalty that shrinks the coefficients.)
#
# Call the fitted model **`model`**, and store its `files_changed` coefficient (in
# log-odds per file) as a plain number in **`coef_files`**.

# %% lrc="answer ex1_model"
### BEGIN SOLUTION
X = sm.add_constant(deploy_data[feature_names])
y = deploy_data['failed']
model = sm.Logit(y, X).fit(disp=False)
coef_files = float(model.params['files_changed'])
### END SOLUTION

# %% lrc="tests ex1_model_tests 1.5" reads="coef_files model"
# Checks model and coef_files: a fitted model and its files_changed coefficient.
assert 'model' in dir(), "define the fitted model as `model`"
_coef = np.asarray(coef_files, dtype=float).reshape(-1)
assert _coef.size == 1, "coef_files should be a single number, not an array of several"
assert np.isfinite(_coef[0]), "coef_files should be a finite number"
assert _coef[0] > 0, "more files changed should raise the log-odds of failure: check the sign"
### BEGIN HIDDEN TESTS
_REF_COEF = 0.05254221572507427  # ref: float(model.params['files_changed'])
assert abs(_coef[0] - _REF_COEF) <= 0.0005, (
    "coef_files is not the coefficient of an unregularised fit on all 500 rows")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex1_curve_task"
# ## 3. The probability curve (3 points)
#
# Build a grid of `files_changed` values and the predicted probability of **failure** at
# each of them, with the other three predictors (`hours_since_last_deploy`, `is_friday`,
# `test_coverage_pct`) held at their **means** over the 500 deployments.
#
# * **`files_grid`**: an increasing 1-D array of `files_changed` values inside the data's
#   range [1, 79], with at least 20 points, starting at 5 or below and ending at 75 or above
#   (for example `np.linspace(1, 79, 200)`).
# * **`p_fail`**: the predicted P(failure) at each grid value, same length as `files_grid`.
#
# Use predicted *probabilities* (`predict` in statsmodels, `predict_proba` in
# scikit-learn), not class labels. Build the prediction input with the same columns
# your model was fitted on (statsmodels needs the constant column too).

# %% lrc="answer ex1_curve"
### BEGIN SOLUTION
files_grid = np.linspace(1, 79, 200)
grid_X = pd.DataFrame({name: np.full(files_grid.size, deploy_data[name].mean())
                       for name in feature_names})
grid_X['files_changed'] = files_grid
p_fail = np.asarray(model.predict(sm.add_constant(grid_X, has_constant='add')))
### END SOLUTION

# %% lrc="tests ex1_curve_tests 1" reads="files_grid p_fail"
# Checks the form of files_grid and p_fail (range, length, probabilities).
_grid = np.asarray(files_grid, dtype=float)
_p = np.asarray(p_fail, dtype=float)
assert _grid.ndim == 1, "files_grid should be a 1-D array of files_changed values"
assert _grid.size >= 20, f"files_grid should have at least 20 points, it has {_grid.size}"
assert np.all(np.diff(_grid) > 0), "files_grid should be strictly increasing"
assert _grid.min() >= 1 and _grid.max() <= 79, "files_grid should stay inside [1, 79]"
assert _grid.min() <= 5 and _grid.max() >= 75, "files_grid should run from 5 or below to 75 or above"
assert _p.shape == _grid.shape, "p_fail should have one value per grid point"
assert np.all((_p > 0) & (_p < 1)), (
    "p_fail should hold probabilities strictly between 0 and 1 (not class labels)")
### BEGIN HIDDEN TESTS
### END HIDDEN TESTS


# %% lrc="tests ex1_curve_tests_shape 2" reads="files_grid p_fail"
# Checks the curve's shape: P(failure) from the fitted model, others at their means.
### BEGIN HIDDEN TESTS
_grid = np.asarray(files_grid, dtype=float).reshape(-1)
_p = np.asarray(p_fail, dtype=float).reshape(-1)
assert _p.shape == _grid.shape and _grid.size >= 2, "p_fail and files_grid do not match"
assert np.all((_p > 0) & (_p < 1)), "p_fail should hold probabilities strictly inside (0, 1)"
assert np.all(np.diff(_p) > 0), "P(failure) should rise with files_changed"
_logit = np.log(_p / (1 - _p))
_slope, _intercept = np.polyfit(_grid, _logit, 1)
assert np.max(np.abs(_logit - (_intercept + _slope * _grid))) < 1e-6, (
    "the log-odds of p_fail should be a straight line in files_changed")
_REF_PARAMS = [0.2893217953749067, 0.05254221572507427, 0.025363304409537376, 0.5507624813115447, -0.0616845573390516]  # ref: [float(v) for v in model.params]
_REF_MEANS = [24.510199999999998, 0.212, 73.75720000000001]  # ref: deploy_data[feature_names[1:]].mean().tolist()
assert abs(_slope - _REF_PARAMS[1]) <= 0.0005, (
    "the curve's log-odds slope is not the fitted files_changed coefficient")
_ref_p = 1 / (1 + np.exp(-(_REF_PARAMS[0] + _REF_PARAMS[1] * _grid
                            + np.dot(_REF_PARAMS[2:], _REF_MEANS))))
assert np.max(np.abs(_p - _ref_p)) <= 0.002, (
    "p_fail differs from the fitted model's P(failure) with the other predictors at their means")
_line = np.polyval(np.polyfit(_grid, _p, 1), _grid)
assert np.max(np.abs(_p - _line)) > 0.01, "p_fail should be a curve, not a straight line"
### END HIDDEN TESTS

# %% [markdown] lrc="given ex1_plot_task"
# ## 4. The plot (1.5 points)
#
# Draw `p_fail` against `files_grid` as a line, and on the same axes a **straight line**
# for comparison: for example the least-squares line through the curve
# (`np.polyfit(files_grid, p_fail, 1)`) or the chord from the first to the last point.
# Label both axes (and, ideally, add a legend). Store the matplotlib Figure in **`fig`**
# (for example `fig, ax = plt.subplots()`).

# %% lrc="answer ex1_plot"
### BEGIN SOLUTION
fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(files_grid, p_fail, linewidth=2.5, label='Logistic regression: P(failure)')
line_slope, line_intercept = np.polyfit(files_grid, p_fail, 1)
ax.plot(files_grid, line_intercept + line_slope * files_grid, linestyle='--',
        label='Least-squares straight line')
ax.set_xlabel('Files changed (other predictors at their means)')
ax.set_ylabel('Predicted P(failure)')
ax.set_title('The logistic curve bends; a straight line cannot')
ax.legend()
plt.show()
### END SOLUTION

# %% lrc="tests ex1_plot_tests 1.5" reads="fig files_grid p_fail"
# Checks fig: a Figure with labelled axes that draws the curve and a straight line.
import matplotlib.figure

assert isinstance(fig, matplotlib.figure.Figure), "fig should be a matplotlib Figure"
_axes = [a for a in fig.axes if a.lines]
assert _axes, "fig has no line plots: draw p_fail against files_grid with ax.plot"
assert any(a.get_xlabel().strip() and a.get_ylabel().strip() for a in _axes), (
    "label both axes of the plot (ax.set_xlabel, ax.set_ylabel)")
### BEGIN HIDDEN TESTS
_grid = np.asarray(files_grid, dtype=float).reshape(-1)
_p = np.asarray(p_fail, dtype=float).reshape(-1)


def _xy(line):
    return (np.asarray(line.get_xdata(), dtype=float).reshape(-1),
            np.asarray(line.get_ydata(), dtype=float).reshape(-1))


def _is_curve(line):
    x, y = _xy(line)
    return x.shape == _grid.shape and y.shape == _p.shape and np.allclose(x, _grid) and np.allclose(y, _p)


def _is_straight(line):
    x, y = _xy(line)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return False
    slope, intercept = np.polyfit(x, y, 1)
    return np.max(np.abs(y - (intercept + slope * x))) < 1e-6 * max(1.0, np.max(np.abs(y)))


_labelled = [a for a in _axes if a.get_xlabel().strip() and a.get_ylabel().strip()]
assert any(_is_curve(ln) for a in _labelled for ln in a.lines), (
    "the labelled axes should draw p_fail against files_grid (x = files_grid, y = p_fail)")
assert any(_is_straight(ln) and not _is_curve(ln) for a in _labelled for ln in a.lines), (
    "add a sloped straight line for comparison on the same axes as the curve")
### END HIDDEN TESTS

# %% [markdown] lrc="given ex1_crossing_task"
# ## 5. Where the curve crosses 0.5 (1 point)
#
# Find the number of files changed at which the predicted P(failure) reaches **0.5**,
# with the other predictors at their means. Store it as a number in **`files_at_half`**.
#
# *Hint:* P = 0.5 exactly where the log-odds are 0. You can solve that equation with the
# fitted coefficients, or interpolate along a fine grid.

# %% lrc="answer ex1_crossing"
### BEGIN SOLUTION
params = model.params
others = deploy_data[feature_names].mean()
log_odds_without_files = params['const'] + sum(
    params[name] * others[name] for name in feature_names if name != 'files_changed')
files_at_half = float(-log_odds_without_files / params['files_changed'])
print(f"P(failure) reaches 0.5 at about {files_at_half:.1f} files changed")
### END SOLUTION

# %% lrc="tests ex1_crossing_tests 1" reads="files_at_half"
# Checks files_at_half: one number inside the data's range (hidden: where the fitted curve is 0.5).
_half = np.asarray(files_at_half, dtype=float).reshape(-1)
assert _half.size == 1 and np.isfinite(_half[0]), "files_at_half should be a single finite number"
assert 1 <= _half[0] <= 79, "files_at_half should lie inside the data's range [1, 79]"
### BEGIN HIDDEN TESTS
_REF_HALF = 67.03061678717057  # ref: files_at_half
assert abs(_half[0] - _REF_HALF) <= 0.5, "files_at_half is not where the fitted curve reaches 0.5"
### END HIDDEN TESTS

# %% [markdown] lrc="given ex1_shape_task"
# ## 6. In words (2 points, graded by hand)
#
# How does the shape of this curve compare to a straight line? In a few sentences, say
# where the two agree and where they part, what the curve does that a straight line
# cannot, and what that means for how one more changed file affects the probability of
# failure at 10 files versus at 60 files. Refer to your plot.

# %% [markdown] lrc="written ex1_shape_answer 2"
# ### BEGIN SOLUTION
# **Model answer.** Over the observed range the curve is a gentle S: it is convex below
# about 67 files (where it crosses 0.5) and concave above, so it bends upwards and then
# starts to flatten. The straight line fits the middle of the range reasonably well but
# lies above the curve for small changes and below it near the crossing, and, extended
# beyond the data, it would leave [0, 1], which a probability cannot do. The curve's
# slope is not constant: one more file adds p(1 − p)·β to the probability, about
# 0.05 × 0.06 × 0.94 ≈ 0.3 percentage points at 10 files but about
# 0.05 × 0.4 × 0.6 ≈ 1.2 points at 60 files. Only the log-odds rise by the same amount
# (β ≈ 0.053) per file; the effect on the probability depends on where you start.
#
# **Rubric (2 points).**
# - 1 point: says the curve is S-shaped / non-linear and bounded in (0, 1), unlike a
#   straight line (which is unbounded, or would eventually leave [0, 1]).
# - 1 point: says the effect of one more file on the probability is not constant (small
#   at few files, larger near the middle, p(1 − p)β), or equivalently that the model is
#   linear in the log-odds, not in the probability.
# - No points for merely describing "the curve goes up"; half a point each where the idea
#   is present but stated incorrectly (e.g. "the curve is exponential everywhere").
# ### END SOLUTION
