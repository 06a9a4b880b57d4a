# %% [markdown] lrc="given ex4_intro"
# # Exercise 4 — Logistic vs linear regression
#
# *Chapter: "Logistic regression and classification", sections "The sigmoid function",
# "Maximum likelihood: a new way to fit", "A worked example" and "Evaluating
# classification: beyond accuracy". Exercise 4 at the end of the chapter.*
#
# A colleague argues that logistic regression is "just linear regression with a different
# output function" and therefore has all the same limitations. This exercise asks where
# that is true and where it breaks down, along four themes: **the loss function**, **the
# assumptions**, **what "residuals" mean**, and **how you diagnose problems**.
#
# 1. decide whether each of eight short statements is true or false (`statements`);
# 2. answer the colleague in a short essay.
#
# **How this notebook is graded (10 points).** Part 1 is autograded (5 points): write
# your answer in the cell that says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and keep the variable name `statements` exactly.
# The visible test after it checks only the *form* of your answer (1 point); hidden tests,
# one per theme (1 point each), check the answers themselves when you submit, so a wrong
# answer costs only its theme's point. Part 2 (5 points) is graded by hand against a
# rubric. Before you submit, restart the kernel and run all cells (*Kernel → Restart &
# Run All*).
#
# Do not edit, delete or move the read-only cells or the test cells; the grader
# restores them from its own copy.

# %% lrc="given ex4_setup"
# Given: run this cell first (NumPy, in case you want it for your answer).
import numpy as np

# %% [markdown] lrc="given ex4_statements_task"
# ## 1. True or false? (5 points)
#
# Decide whether each statement is **true** or **false**, using the chapter (and the
# simple-regression chapter it builds on).
#
# **The loss function**
#
# * **(a)** Logistic regression chooses its coefficients by maximising the log-likelihood
#   of the observed 0/1 outcomes, which is the same as minimising the log loss (binary
#   cross-entropy), not the sum of squared residuals.
# * **(b)** Like ordinary least squares, logistic regression has a closed-form formula for
#   its coefficients; iterative solvers such as L-BFGS are only a shortcut for large data
#   sets.
#
# **The assumptions**
#
# * **(c)** Logistic regression assumes a linear relationship between the predictors and
#   the *log-odds* of the outcome: one more unit of a predictor changes the log-odds by the
#   same amount at every starting value, but in general changes the probability by different
#   amounts.
# * **(d)** Like linear regression, logistic regression assumes that the observations are
#   independent of one another: its likelihood is the product of the probabilities of the
#   individual observations.
#
# **What "residuals" mean**
#
# * **(e)** With a 0/1 outcome, the raw residual $y - \hat{p}$ of an observation can take
#   only two values: $-\hat{p}$ when $y = 0$ and $1 - \hat{p}$ when $y = 1$.
# * **(f)** If a logistic regression is correctly specified, its raw residuals
#   $y - \hat{p}$ are approximately normally distributed with constant variance, so a normal
#   Q-Q plot of them is the natural check, as it is for linear regression.
#
# **How you diagnose problems**
#
# * **(g)** A McFadden pseudo-$R^2$ of 0.25 signals a weak model, because pseudo-$R^2$ is on
#   the same scale as linear regression's $R^2$, where 0.25 would leave most of the
#   variation unexplained.
# * **(h)** A logistic regression that classifies 95% of the test set correctly is working
#   well, whatever the share of each class in the data.
#
# Store your answers in a dict called **`statements`** that maps each letter to `True` or
# `False`, for example `statements = {'a': True, 'b': False, ...}` with all eight letters.
# Keys may be lower or upper case. The values must be booleans, `True` or `False` (NumPy
# booleans work too): the strings `'True'`/`'False'` or the numbers 1/0 fail the form test
# and cost its point.

# %% lrc="answer ex4_statements"
### BEGIN SOLUTION
statements = {
    'a': True,   # MLE maximises the log-likelihood = minimises binary cross-entropy.
    'b': False,  # No closed form: the chapter's "luxury we lose"; the optimiser iterates.
    'c': True,   # Linear in the log-odds; the effect on p is p(1 - p)·β, not constant.
    'd': True,   # The likelihood is a product over observations, "assuming independence".
    'e': True,   # y is 0 or 1, so y - p̂ is -p̂ or 1 - p̂.
    'f': False,  # Residuals are two-valued, with variance p̂(1 - p̂): never normal.
    'g': False,  # 0.2-0.4 is considered good; the scales are not equivalent.
    'h': False,  # Accuracy is misleading when one class is rare (always-"no" scores high).
}
### END SOLUTION

# %% lrc="tests ex4_statements_tests 1" reads="statements"
# Checks the form of statements: a dict with a True/False answer for each letter a to h.
import numpy as np

assert isinstance(statements, dict), "statements should be a dict, e.g. {'a': True, 'b': False, ...}"
_letters = sorted(str(k).strip().lower() for k in statements)
assert _letters == list('abcdefgh'), (
    "statements should have exactly one entry for each letter a to h (upper or lower case)")
for _key, _value in statements.items():
    assert isinstance(_value, (bool, np.bool_)), (
        f"the answer for {_key!r} should be True or False (a boolean, not a string or a number)")

# %% lrc="tests ex4_statements_tests_loss 1" reads="statements" scaffold="read_statements"
# Checks statements (a) and (b): the loss function.
### BEGIN HIDDEN TESTS
_KEY_LOSS = [True, False]  # ref: [statements['a'], statements['b']]
_wrong = [letter for letter, key in zip('ab', _KEY_LOSS, strict=True) if _read(letter) is not key]
assert not _wrong, f"statement(s) {', '.join(_wrong)} about the loss function are not answered correctly"
### END HIDDEN TESTS

# %% lrc="tests ex4_statements_tests_assumptions 1" reads="statements" scaffold="read_statements"
# Checks statements (c) and (d): the assumptions.
### BEGIN HIDDEN TESTS
_KEY_ASSUMPTIONS = [True, True]  # ref: [statements['c'], statements['d']]
_wrong = [letter for letter, key in zip('cd', _KEY_ASSUMPTIONS, strict=True) if _read(letter) is not key]
assert not _wrong, f"statement(s) {', '.join(_wrong)} about the assumptions are not answered correctly"
### END HIDDEN TESTS

# %% lrc="tests ex4_statements_tests_residuals 1" reads="statements" scaffold="read_statements"
# Checks statements (e) and (f): what residuals mean.
### BEGIN HIDDEN TESTS
_KEY_RESIDUALS = [True, False]  # ref: [statements['e'], statements['f']]
_wrong = [letter for letter, key in zip('ef', _KEY_RESIDUALS, strict=True) if _read(letter) is not key]
assert not _wrong, f"statement(s) {', '.join(_wrong)} about residuals are not answered correctly"
### END HIDDEN TESTS

# %% lrc="tests ex4_statements_tests_diagnostics 1" reads="statements" scaffold="read_statements"
# Checks statements (g) and (h): how you diagnose problems.
### BEGIN HIDDEN TESTS
_KEY_DIAGNOSTICS = [False, False]  # ref: [statements['g'], statements['h']]
_wrong = [letter for letter, key in zip('gh', _KEY_DIAGNOSTICS, strict=True) if _read(letter) is not key]
assert not _wrong, f"statement(s) {', '.join(_wrong)} about diagnostics are not answered correctly"
### END HIDDEN TESTS

# %% [markdown] lrc="given ex4_essay_task"
# ## 2. Answer the colleague (5 points, graded by hand)
#
# *"Logistic regression is just linear regression with a different output function, so it
# has all the same limitations."* In what sense is this true, and where does the analogy
# break down? Write a short essay (about 250–400 words) that covers each of the four
# themes in turn:
#
# * **the loss function**: what each model minimises, and what follows from that;
# * **the assumptions**: which of linear regression's assumptions carry over, which do
#   not, and what replaces them;
# * **what "residuals" mean** for a 0/1 outcome;
# * **how you diagnose problems**: what replaces $R^2$ and residual plots.
#
# Start by saying what *is* shared, and end with your verdict on the colleague's claim.
# You may refer to your answers in part 1, but explain in your own words.

# %% [markdown] lrc="written ex4_essay 5"
# ### BEGIN SOLUTION
# **Model answer.** The colleague is right about the *inside* of the model. Both models
# build the same linear score $z = \beta_0 + \beta_1 x_1 + \cdots + \beta_p x_p$; logistic
# regression passes it through the sigmoid, $p = 1/(1 + e^{-z})$, so that the output is a
# probability (equivalently, the log-odds $\ln(p/(1-p))$ are linear in the predictors).
# Some limitations therefore carry over: the score is additive and linear in the
# predictors, so curvature and interactions must be added by hand; coefficients are "all
# else equal" effects, exposed to confounding and collinearity; and the observations must
# be independent.
#
# The analogy breaks down at the **loss function**. Linear regression minimises the sum of
# squared residuals, which has a closed-form solution. Logistic regression maximises the
# log-likelihood of the 0/1 outcomes (minimises the log loss, or binary cross-entropy),
# which has no closed form: an iterative optimiser has to converge to the answer.
#
# The **assumptions** change too. The outcome is Bernoulli, not normal: there is no
# normal, constant-variance error term; the variance $p(1-p)$ is fixed by the mean. What
# is assumed linear is the log-odds, not the probability, so one more unit of a predictor
# shifts the log-odds by $\beta$ everywhere but the probability by about $p(1-p)\beta$,
# which depends on where you start.
#
# **Residuals** lose their meaning. With $y \in \{0, 1\}$, the raw residual $y - \hat p$ is
# either $-\hat p$ or $1 - \hat p$: residual plots show two bands, are never normal and
# cannot be read as in linear regression; there is no residual sum of squares. One uses
# deviance or Pearson residuals, or bins observations by predicted probability and
# compares the observed failure rate with the predicted one (calibration).
#
# **Diagnostics** change accordingly. Instead of $R^2$ there is the log-likelihood and
# McFadden's pseudo-$R^2$, whose scale is not comparable (0.2–0.4 is already good). And
# because the model's output is used to make decisions, it is diagnosed as a classifier on
# held-out data: the confusion matrix at a chosen threshold, precision and recall, ROC/AUC
# and the precision-recall curve, with accuracy alone misleading under class imbalance.
#
# **Verdict:** half true. Logistic regression shares the linear predictor and the
# limitations that come with it, but it has a different loss, different assumptions,
# different residuals and different diagnostics, so linear regression's checks do not
# transfer.
#
# **Rubric (5 points; one point per line, half points allowed).** Award a point only for
# statements that are correct; a wrong claim on a theme (e.g. "logistic regression assumes
# normally distributed residuals") cancels that theme's point. Length and style are not
# graded.
#
# 1. **What is shared (1 point).** 0.5: logistic regression applies the sigmoid (logistic
#    function) to the same linear combination of predictors, i.e. it is linear in the
#    log-odds. 0.5: names at least one limitation that genuinely carries over (linearity of
#    the score in the predictors / interactions and curvature must be added by hand,
#    "all else equal" interpretation and confounding, collinearity, independence of
#    observations) *and* gives a verdict that the claim is only partly true.
# 2. **Loss function (1 point).** 0.5: maximum likelihood / log loss / binary
#    cross-entropy instead of least squares. 0.5: a consequence: no closed-form solution,
#    so an iterative optimiser is needed (or: squared error is not a sensible loss for a
#    0/1 outcome, or RSS is not reported).
# 3. **Assumptions (1 point).** 0.5: no normally distributed, constant-variance errors
#    (outcome is Bernoulli / variance $p(1-p)$ depends on the mean). 0.5: linearity is
#    assumed in the log-odds, not in the probability (effect on $p$ varies).
# 4. **Residuals (1 point).** 0.5: explains why raw residuals are not like linear
#    regression's (they take two values for a given $\hat p$ / two bands / not normal / no
#    residual sum of squares). 0.5: names a replacement: deviance or Pearson residuals,
#    binned residuals, or a calibration check (observed vs predicted rate).
# 5. **Diagnostics (1 point).** 0.5: log-likelihood or pseudo-$R^2$ instead of $R^2$,
#    with the caveat that its scale is not comparable to $R^2$ (or likelihood-ratio tests).
#    0.5: evaluation as a classifier on held-out data: confusion matrix / precision and
#    recall / ROC-AUC / precision-recall curve / threshold choice, or that accuracy is
#    misleading under class imbalance.
# ### END SOLUTION
