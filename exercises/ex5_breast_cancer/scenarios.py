"""Exercise 5 scenarios: a full evaluation of the breast-cancer model.

scikit-learn codes malignant as 0; every metric and curve must treat malignant as the
positive class. A read-only checkpoint re-creates the split, model and predictions after
part 1, so a slip in `ex5_fit` costs only the fit tests.
"""

from lrcourse.scenarios import correct, mistake

PRESCRIBED_FIT = """
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
"""
HAND_DRAWN = """
    fig_roc, ax = plt.subplots()
    ax.plot(fpr, tpr)
    ax.set_xlabel('false positive rate')
    ax.set_ylabel('true positive rate')
    fig_pr, ax = plt.subplots()
    ax.plot(recall_curve, precision_curve)
    ax.set_xlabel('recall')
    ax.set_ylabel('precision')
    plt.show()
"""
CORRECT_METRICS = """
    cm = confusion_matrix(y_test, y_pred)
    report = classification_report(y_test, y_pred, target_names=['malignant', 'benign'])
    auc = roc_auc_score(y_test == 0, p_malignant)
    malignant_recall = recall_score(y_test, y_pred, pos_label=0)
"""
CORRECT_CURVES = """
    fpr, tpr, _ = roc_curve(y_test, p_malignant, pos_label=0)
    precision_curve, recall_curve, _ = precision_recall_curve(y_test, p_malignant, pos_label=0)
"""


def metrics(**changes: str) -> str:
    """The correct metrics cell with some assignments replaced (`name="new line"`)."""
    lines = [line.strip() for line in CORRECT_METRICS.strip().splitlines()]
    for name, new in changes.items():
        lines = [new if line.startswith(f"{name} =") else line for line in lines]
    return "\n".join(lines)


SCENARIOS = [
    correct("solution"),
    correct(
        "dataframes-and-displays",
        ex5_fit="""
            X, y = load_breast_cancer(return_X_y=True, as_frame=True)
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.2, stratify=y, random_state=42)
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
            y_pred = model.predict(X_test)
            proba = pd.DataFrame(model.predict_proba(X_test), columns=model.classes_, index=X_test.index)
            p_malignant = proba[0]
        """,
        ex5_metrics="""
            cm = pd.crosstab(pd.Series(y_test, name='actual'), pd.Series(y_pred, name='predicted'))
            report = classification_report(y_test, y_pred, target_names=['malignant', 'benign'],
                                           output_dict=True)
            auc = roc_auc_score(1 - y_test, p_malignant)
            malignant_recall = recall_score(y_test, y_pred, pos_label=0)
        """,
        ex5_curves="""
            from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay
            roc_display = RocCurveDisplay.from_predictions(
                y_test, p_malignant, pos_label=0, name='logistic regression', plot_chance_level=True)
            fpr, tpr = roc_display.fpr, roc_display.tpr
            fig_roc = roc_display.figure_
            pr_display = PrecisionRecallDisplay.from_predictions(y_test, p_malignant, pos_label=0)
            precision_curve, recall_curve = pr_display.precision, pr_display.recall
            fig_pr = pr_display.figure_
            plt.show()
        """,
        ex5_clinician="clinician_metric = 'Recall'",
    ),
    correct(
        "manual-scaling-one-minus-labels-hand-drawn",
        ex5_fit=(PRESCRIBED_FIT, """
            scaler = StandardScaler().fit(X_train)
            model = LogisticRegression(max_iter=1000).fit(scaler.transform(X_train), y_train)
            y_pred = model.predict(scaler.transform(X_test))
            p_malignant = 1 - model.predict_proba(scaler.transform(X_test))[:, 1]
        """),
        ex5_metrics="""
            from sklearn.metrics import auc as area_under_curve
            cm = confusion_matrix(y_test, y_pred, labels=[0, 1])
            report = classification_report(y_test, y_pred, target_names=['Malignant', 'Benign'], digits=4)
            roc_fpr, roc_tpr, _ = roc_curve(1 - y_test, p_malignant)
            auc = area_under_curve(roc_fpr, roc_tpr)
            malignant_recall = cm[0, 0] / cm[0].sum()
        """,
        ex5_curves="""
            fpr, tpr, _ = roc_curve(1 - y_test, p_malignant, drop_intermediate=False)
            precision_curve, recall_curve, _ = precision_recall_curve(
                y_test == 0, p_malignant, drop_intermediate=True)
            fig_roc = plt.figure()
            plt.plot(fpr, tpr, label=f'AUC = {auc:.3f}')
            plt.plot([0, 1], [0, 1], 'k--', label='chance')
            plt.xlabel('FPR')
            plt.ylabel('TPR')
            plt.legend()
            fig_pr = plt.figure()
            plt.step(recall_curve, precision_curve, where='post')
            plt.xlabel('Recall')
            plt.ylabel('Precision')
            plt.show()
        """,
        ex5_clinician="clinician_metric = ' recall '",
    ),
    # AUC is symmetric: benign labels scored by P(benign) give the same number.
    correct(
        "estimator-displays-on-one-figure",
        ex5_fit="""
            data = load_breast_cancer()
            X, y = data.data, data.target
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, stratify=y, test_size=0.2, random_state=42)
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            model.fit(X_train, y_train)
            y_pred = model.predict(X_test)
            p_malignant = model.predict_proba(X_test)[:, 0]
        """,
        ex5_metrics="""
            cm = confusion_matrix(y_test, y_pred)
            report = pd.DataFrame(classification_report(
                y_test, y_pred, target_names=['malignant', 'benign'], output_dict=True)).transpose()
            auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
            malignant_recall = recall_score(y_test == 0, y_pred == 0)
        """,
        ex5_curves="""
            from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
            roc = RocCurveDisplay.from_estimator(model, X_test, y_test, pos_label=0, ax=ax1)
            pr = PrecisionRecallDisplay.from_estimator(model, X_test, y_test, pos_label=0, ax=ax2)
            fpr, tpr = roc.line_.get_data()
            recall_curve, precision_curve = pr.line_.get_data()
            fig_roc = fig
            fig_pr = pr
            plt.show()
        """,
        ex5_clinician="clinician_metric = 'RECALL'",
    ),
    # --- part 1: split and fit
    mistake("unstratified-split", ["ex5_fit_tests"], ex5_fit="""
        X, y = load_breast_cancer(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 0]
    """),
    mistake("other-random-state", ["ex5_fit_tests"], ex5_fit="""
        X, y = load_breast_cancer(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 0]
    """),
    mistake("test-size-quarter", ["ex5_fit_tests"], ex5_fit="""
        X, y = load_breast_cancer(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=42)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 0]
    """),
    mistake("probability-of-benign", ["ex5_fit_tests_model"], ex5_fit=(PRESCRIBED_FIT, """
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 1]
    """)),
    mistake("labels-instead-of-probabilities", ["ex5_fit_tests_model"], ex5_fit=(PRESCRIBED_FIT, """
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = (y_pred == 0).astype(float)
    """)),
    mistake("unscaled-model", ["ex5_fit_tests_model"], ex5_fit=(PRESCRIBED_FIT, """
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 0]
    """)),
    mistake("no-regularisation", ["ex5_fit_tests_model"], ex5_fit=(PRESCRIBED_FIT, """
        model = make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_test)
        p_malignant = model.predict_proba(X_test)[:, 0]
    """)),
    mistake("predictions-on-the-training-split", ["ex5_fit_tests_model"], ex5_fit=(PRESCRIBED_FIT, """
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
        y_pred = model.predict(X_train)
        p_malignant = model.predict_proba(X_train)[:, 0]
    """)),
    # --- part 2: metrics
    mistake(
        "metrics-on-the-training-split",
        ["ex5_metrics_tests_cm", "ex5_metrics_tests_report", "ex5_metrics_tests_auc", "ex5_metrics_tests_recall"],
        ex5_metrics="""
            train_pred = model.predict(X_train)
            cm = confusion_matrix(y_train, train_pred)
            report = classification_report(y_train, train_pred, target_names=['malignant', 'benign'])
            auc = roc_auc_score(y_train, model.predict_proba(X_train)[:, 1])
            malignant_recall = recall_score(y_train, train_pred, pos_label=0)
        """,
    ),
    mistake("auc-from-hard-labels", ["ex5_metrics_tests_auc"],
            ex5_metrics=metrics(auc="auc = roc_auc_score(y_test, y_pred)")),
    mistake("auc-from-malignant-probability-with-benign-positive", ["ex5_metrics_tests_auc"],
            ex5_metrics=metrics(auc="auc = roc_auc_score(y_test, p_malignant)")),
    mistake("recall-for-benign-default-pos-label", ["ex5_metrics_tests_recall"],
            ex5_metrics=metrics(malignant_recall="malignant_recall = recall_score(y_test, y_pred)")),
    mistake("report-without-target-names", ["ex5_metrics_tests_report"],
            ex5_metrics=metrics(report="report = classification_report(y_test, y_pred)")),
    mistake("report-names-in-wrong-order", ["ex5_metrics_tests_report"], ex5_metrics=metrics(
        report="report = classification_report(y_test, y_pred, target_names=['benign', 'malignant'])")),
    mistake("report-printed-not-stored", ["ex5_metrics_tests_report"], ex5_metrics=metrics(
        report="report = print(classification_report(y_test, y_pred, target_names=['malignant', 'benign']))")),
    mistake("confusion-matrix-benign-first", ["ex5_metrics_tests_cm"],
            ex5_metrics=metrics(cm="cm = confusion_matrix(y_test, y_pred, labels=[1, 0])")),
    mistake("confusion-matrix-from-thresholded-malignant-probability", ["ex5_metrics_tests_cm"],
            ex5_metrics=metrics(cm="cm = confusion_matrix(y_test, (p_malignant >= 0.5).astype(int))")),
    # --- part 3: curves and figures
    mistake("curves-from-malignant-probability-with-benign-positive",
            ["ex5_curves_tests_roc", "ex5_curves_tests_pr"], ex5_curves=("""
        fpr, tpr, _ = roc_curve(y_test, p_malignant)
        precision_curve, recall_curve, _ = precision_recall_curve(y_test, p_malignant)
    """, HAND_DRAWN)),
    mistake("curves-for-the-benign-class", ["ex5_curves_tests_roc", "ex5_curves_tests_pr"], ex5_curves=("""
        p_benign = model.predict_proba(X_test)[:, 1]
        fpr, tpr, _ = roc_curve(y_test, p_benign)
        precision_curve, recall_curve, _ = precision_recall_curve(y_test, p_benign)
    """, HAND_DRAWN)),
    mistake("curves-from-hard-labels", ["ex5_curves_tests_roc", "ex5_curves_tests_pr"], ex5_curves=("""
        fpr, tpr, _ = roc_curve(y_test == 0, y_pred == 0)
        precision_curve, recall_curve, _ = precision_recall_curve(y_test == 0, y_pred == 0)
    """, HAND_DRAWN)),
    mistake("curves-on-the-training-split", ["ex5_curves_tests_roc", "ex5_curves_tests_pr"], ex5_curves=("""
        p_train = model.predict_proba(X_train)[:, 0]
        fpr, tpr, _ = roc_curve(y_train, p_train, pos_label=0)
        precision_curve, recall_curve, _ = precision_recall_curve(y_train, p_train, pos_label=0)
    """, HAND_DRAWN)),
    mistake("roc-at-a-few-thresholds", ["ex5_curves_tests_roc"], ex5_curves=("""
        fpr, tpr = [0.0], [0.0]
        for t in [0.9, 0.7, 0.5, 0.3, 0.1]:
            flagged = p_malignant >= t
            tpr.append(np.mean(flagged[y_test == 0]))
            fpr.append(np.mean(flagged[y_test == 1]))
        fpr.append(1.0)
        tpr.append(1.0)
        precision_curve, recall_curve, _ = precision_recall_curve(y_test, p_malignant, pos_label=0)
    """, HAND_DRAWN)),
    mistake("precision-and-recall-unpacked-in-the-wrong-order", ["ex5_curves_tests_pr"], ex5_curves=("""
        fpr, tpr, _ = roc_curve(y_test, p_malignant, pos_label=0)
        recall_curve, precision_curve, _ = precision_recall_curve(y_test, p_malignant, pos_label=0)
    """, HAND_DRAWN)),
    mistake("figures-draw-the-benign-class", ["ex5_curves_tests_fig_roc", "ex5_curves_tests_fig_pr"],
            ex5_curves=(CORRECT_CURVES, """
        from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay
        fig_roc = RocCurveDisplay.from_predictions(y_test, 1 - p_malignant).figure_
        fig_pr = PrecisionRecallDisplay.from_predictions(y_test, 1 - p_malignant).figure_
        plt.show()
    """)),
    mistake("figures-without-axis-labels", ["ex5_curves_tests_fig_roc", "ex5_curves_tests_fig_pr"],
            ex5_curves=(CORRECT_CURVES, """
        fig_roc, ax = plt.subplots()
        ax.plot(fpr, tpr)
        ax.set_title('ROC')
        fig_pr, ax = plt.subplots()
        ax.plot(recall_curve, precision_curve)
        ax.set_title('Precision-recall')
        plt.show()
    """)),
    mistake("roc-figure-with-axes-swapped", ["ex5_curves_tests_fig_roc"], ex5_curves=(CORRECT_CURVES, """
        fig_roc, ax = plt.subplots()
        ax.plot(tpr, fpr)
        ax.set_xlabel('true positive rate')
        ax.set_ylabel('false positive rate')
        fig_pr, ax = plt.subplots()
        ax.plot(recall_curve, precision_curve)
        ax.set_xlabel('recall')
        ax.set_ylabel('precision')
        plt.show()
    """)),
    mistake("pr-figure-with-axes-swapped", ["ex5_curves_tests_fig_pr"], ex5_curves=(CORRECT_CURVES, """
        fig_roc, ax = plt.subplots()
        ax.plot(fpr, tpr)
        ax.set_xlabel('false positive rate')
        ax.set_ylabel('true positive rate')
        fig_pr, ax = plt.subplots()
        ax.plot(precision_curve, recall_curve)
        ax.set_xlabel('precision')
        ax.set_ylabel('recall')
        plt.show()
    """)),
    # --- part 4: the clinician's metric
    mistake("clinician-accuracy", ["ex5_clinician_tests"], ex5_clinician="clinician_metric = 'accuracy'"),
    mistake("clinician-auc", ["ex5_clinician_tests"], ex5_clinician="clinician_metric = 'AUC'"),
    mistake("clinician-precision", ["ex5_clinician_tests"], ex5_clinician="clinician_metric = 'precision'"),
    mistake("clinician-synonym-not-in-the-list", ["ex5_clinician_tests"],
            ex5_clinician="clinician_metric = 'sensitivity'"),
]
