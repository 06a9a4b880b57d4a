"""Exercise 3 scenarios: a 5% failure rate, with and without class weights.

The reference: 361 successes plus k = 19 failures (380 rows); a stratified 30% test split
of 114 deployments with 6 failures; cm_standard = [[108, 0], [6, 0]] (the standard model
never predicts a failure) and cm_balanced = [[74, 34], [1, 5]].
"""

from lrcourse.scenarios import correct, mistake

SPLIT = """
    X_train, X_test, y_train, y_test = train_test_split(
        imbalanced_data[feature_names], imbalanced_data['failed'],
        test_size=0.3, stratify=imbalanced_data['failed'], random_state=42)
"""
MODELS = """
    clf_standard = LogisticRegression(max_iter=1000, random_state=42).fit(X_train, y_train)
    clf_balanced = LogisticRegression(max_iter=1000, random_state=42, class_weight='balanced').fit(X_train, y_train)
"""
MATRICES = """
    cm_standard = confusion_matrix(y_test, clf_standard.predict(X_test))
    cm_balanced = confusion_matrix(y_test, clf_balanced.predict(X_test))
"""


def downsample(k: str, sample: str = "failures.sample(n=k, random_state=42)", finish: str = ".sort_index()") -> str:
    return f"""
        successes = deploy_data[deploy_data['failed'] == 0]
        failures = deploy_data[deploy_data['failed'] == 1]
        k = {k}
        imbalanced_data = pd.concat([successes, {sample}]){finish}
    """


SCENARIOS = [
    correct("solution"),
    # A boolean mask keeps the original order by itself; NumPy arrays for the split and
    # models; confusion_matrix with explicit labels.
    correct(
        "mask-downsample-numpy-arrays",
        ex3_downsample="""
            failures = deploy_data.query('failed == 1')
            n_ok = int((deploy_data['failed'] == 0).sum())
            chosen = failures.sample(n=int(round(0.05 * n_ok / 0.95)), random_state=42).index
            imbalanced_data = deploy_data[(deploy_data['failed'] == 0) | deploy_data.index.isin(chosen)]
        """,
        ex3_fit="""
            X = imbalanced_data[feature_names].to_numpy()
            y = imbalanced_data['failed'].to_numpy()
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=42)
            clf_standard = LogisticRegression(max_iter=1000, random_state=42)
            clf_standard.fit(X_train, y_train)
            clf_balanced = LogisticRegression(class_weight='balanced', max_iter=1000, random_state=42)
            clf_balanced.fit(X_train, y_train)
            cm_standard = confusion_matrix(y_test, clf_standard.predict(X_test), labels=[0, 1])
            cm_balanced = confusion_matrix(y_test, clf_balanced.predict(X_test), labels=[0, 1])
        """,
    ),
    # Dropping the failures not drawn; pd.crosstab matrices, reindexed to both classes.
    correct(
        "drop-unsampled-crosstab-reindexed",
        ex3_downsample="""
            failures = deploy_data[deploy_data.failed == 1]
            keep = failures.sample(n=round(0.05 * (len(deploy_data) - len(failures)) / 0.95), random_state=42)
            imbalanced_data = deploy_data.drop(failures.index.difference(keep.index))
        """,
        ex3_fit=(SPLIT, MODELS, """
            def crosstab_cm(model):
                pred = pd.Series(model.predict(X_test), index=y_test.index, name='predicted')
                return (pd.crosstab(y_test.rename('actual'), pred)
                        .reindex(index=[0, 1], columns=[0, 1], fill_value=0))
            cm_standard = crosstab_cm(clf_standard)
            cm_balanced = crosstab_cm(clf_balanced)
        """),
    ),
    # Failures first in the concatenation, then sorted; matrices by counting with NumPy and
    # from ConfusionMatrixDisplay; predictions from probabilities >= 0.5.
    correct(
        "failures-first-numpy-counting",
        ex3_downsample="""
            n_successes = (deploy_data['failed'] == 0).sum()
            k = round(0.05 * n_successes / 0.95)
            drawn = deploy_data.loc[deploy_data['failed'] == 1].sample(n=k, random_state=42)
            imbalanced_data = pd.concat([drawn, deploy_data.loc[deploy_data['failed'] == 0]]).sort_index()
        """,
        ex3_fit=(SPLIT, MODELS, """
            actual = np.asarray(y_test)
            pred = (clf_standard.predict_proba(X_test)[:, 1] >= 0.5).astype(int)
            cm_standard = np.array([[np.sum((actual == a) & (pred == p)) for p in (0, 1)] for a in (0, 1)])
            disp = ConfusionMatrixDisplay.from_estimator(clf_balanced, X_test, y_test)
            cm_balanced = disp.confusion_matrix
            plt.close(disp.figure_)
        """),
    ),
    mistake("five-percent-of-the-failures", ["ex3_downsample_tests", "ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(failures))")),
    mistake("five-percent-of-all-rows", ["ex3_downsample_tests", "ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(deploy_data))")),
    mistake("five-percent-of-the-successes", ["ex3_downsample_tests", "ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(successes))")),
    mistake("sampled-with-replacement", ["ex3_downsample_tests", "ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(successes) / 0.95)",
                                      sample="failures.sample(n=k, replace=True, random_state=42)")),
    mistake("original-order-not-restored", ["ex3_downsample_tests"],
            ex3_downsample=downsample("round(0.05 * len(successes) / 0.95)", finish="")),
    # The right rows under new labels: only the visible check of the labels catches it.
    mistake("index-reset", ["ex3_downsample_tests"],
            ex3_downsample=downsample("round(0.05 * len(successes) / 0.95)",
                                      finish=".sort_index().reset_index(drop=True)")),
    mistake("wrong-sampling-seed", ["ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(successes) / 0.95)",
                                      sample="failures.sample(n=k, random_state=0)")),
    # Shuffled before sampling: the right number of failures, but not the prescribed ones.
    mistake("failures-shuffled-before-sampling", ["ex3_downsample_tests_rows"],
            ex3_downsample=downsample("round(0.05 * len(successes) / 0.95)",
                                      sample="failures.sample(frac=1, random_state=1).sample(n=k, random_state=42)")),
    mistake("unstratified-split", ["ex3_fit_tests_split", "ex3_fit_tests_reference"], ex3_fit=("""
        X_train, X_test, y_train, y_test = train_test_split(
            imbalanced_data[feature_names], imbalanced_data['failed'], test_size=0.3, random_state=42)
    """, MODELS, MATRICES)),
    mistake("test-size-0.2", ["ex3_fit_tests_split", "ex3_fit_tests_reference"], ex3_fit=("""
        X_train, X_test, y_train, y_test = train_test_split(
            imbalanced_data[feature_names], imbalanced_data['failed'], test_size=0.2,
            stratify=imbalanced_data['failed'], random_state=42)
    """, MODELS, MATRICES)),
    mistake("transposed-matrices", ["ex3_fit_tests_matrices", "ex3_fit_tests_reference"], ex3_fit=(SPLIT, MODELS, """
        cm_standard = confusion_matrix(clf_standard.predict(X_test), y_test)
        cm_balanced = confusion_matrix(clf_balanced.predict(X_test), y_test)
    """)),
    mistake("class-weight-on-the-wrong-model",
            ["ex3_fit_tests_models", "ex3_fit_tests_matrices", "ex3_fit_tests_reference"], ex3_fit=(SPLIT, """
        clf_standard = LogisticRegression(max_iter=1000, random_state=42, class_weight='balanced').fit(X_train, y_train)
        clf_balanced = LogisticRegression(max_iter=1000, random_state=42).fit(X_train, y_train)
    """, MATRICES)),
    mistake("class-weight-on-both-models",
            ["ex3_fit_tests_models", "ex3_fit_tests_matrices", "ex3_fit_tests_reference"], ex3_fit=(SPLIT, """
        clf_standard = LogisticRegression(max_iter=1000, random_state=42, class_weight='balanced').fit(X_train, y_train)
        clf_balanced = LogisticRegression(max_iter=1000, random_state=42, class_weight='balanced').fit(X_train, y_train)
    """, MATRICES)),
    mistake("matrices-from-the-training-split", ["ex3_fit_tests_matrices", "ex3_fit_tests_reference"],
            ex3_fit=(SPLIT, MODELS, """
        cm_standard = confusion_matrix(y_train, clf_standard.predict(X_train))
        cm_balanced = confusion_matrix(y_train, clf_balanced.predict(X_train))
    """)),
    # The standard model never predicts a failure, so a plain crosstab has one column.
    mistake("crosstab-missing-a-column", ["ex3_fit_tests_matrices", "ex3_fit_tests_reference"],
            ex3_fit=(SPLIT, MODELS, """
        cm_standard = pd.crosstab(y_test, clf_standard.predict(X_test))
        cm_balanced = pd.crosstab(y_test, clf_balanced.predict(X_test))
    """)),
    mistake("normalised-matrices", ["ex3_fit_tests_matrices", "ex3_fit_tests_reference"], ex3_fit=(SPLIT, MODELS, """
        cm_standard = confusion_matrix(y_test, clf_standard.predict(X_test), normalize='true')
        cm_balanced = confusion_matrix(y_test, clf_balanced.predict(X_test), normalize='true')
    """)),
    # Models fitted on all 380 rows (test rows included), then evaluated on the test split.
    mistake("models-fitted-on-all-rows", ["ex3_fit_tests_reference"], ex3_fit=(SPLIT, """
        X_all, y_all = imbalanced_data[feature_names], imbalanced_data['failed']
        clf_standard = LogisticRegression(max_iter=1000, random_state=42).fit(X_all, y_all)
        clf_balanced = LogisticRegression(max_iter=1000, random_state=42, class_weight='balanced').fit(X_all, y_all)
    """, MATRICES)),
]
