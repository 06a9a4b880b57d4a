"""Exercise 2 scenarios: the F1-optimal and the 90%-recall thresholds.

On this test set the F1 optimum (0.706) is reached by every threshold in
(0.5059, 0.5366] and the best precision with recall >= 0.90 (0.471) by every threshold
in (0.2194, 0.2372]; the tests accept any of them under `p >= threshold`.
"""

from lrcourse.scenarios import correct, mistake

PR_CURVE = "precision, recall, thresholds = precision_recall_curve(y_test, y_prob)"
TRAIN_PROB = "train_prob = clf.predict_proba(X_train)[:, 1]"

SCENARIOS = [
    correct("solution"),
    # scikit-learn's curve arrays, correctly aligned (drop the last precision/recall pair).
    correct(
        "precision-recall-curve-arrays",
        ex2_best_f1=(PR_CURVE, """
            f1 = 2 * precision[:-1] * recall[:-1] / (precision[:-1] + recall[:-1])
            i = np.nanargmax(f1)
            best_threshold = thresholds[i]
            best_f1 = f1[i]
        """),
        ex2_recall90=(PR_CURVE, """
            ok = np.flatnonzero(recall[:-1] >= 0.9)
            i = ok[np.argmax(precision[:-1][ok])]
            recall90_threshold = thresholds[i]
            recall90_precision = precision[i]
            recall90_recall = recall[i]
        """),
        ex2_sacrifice="""
            precision_drop = (precision_score(y_test, y_prob >= best_threshold)
                              - precision_score(y_test, y_prob >= recall90_threshold))
        """,
    ),
    # A fine grid (step 0.001) with NumPy counting; answers as one-element arrays.
    correct(
        "fine-grid-numpy-counting",
        ex2_best_f1="""
            grid = np.linspace(0, 1, 1001)
            y = np.asarray(y_test)
            pred = y_prob[None, :] >= grid[:, None]
            tp = (pred & (y == 1)).sum(axis=1)
            fp = (pred & (y == 0)).sum(axis=1)
            fn = (~pred & (y == 1)).sum(axis=1)
            f1 = 2 * tp / (2 * tp + fp + fn)
            best_threshold = grid[[np.argmax(f1)]]
            best_f1 = f1[[np.argmax(f1)]]
        """,
        ex2_recall90="""
            grid = np.linspace(0, 1, 1001)
            y = np.asarray(y_test)
            pred = y_prob[None, :] >= grid[:, None]
            tp = (pred & (y == 1)).sum(axis=1)
            n_flagged = pred.sum(axis=1)
            rec = tp / (y == 1).sum()
            prec = np.where(n_flagged > 0, tp / np.maximum(n_flagged, 1), 0.0)
            j = np.argmax(np.where(rec >= 0.9, prec, -1.0))
            recall90_threshold, recall90_precision, recall90_recall = grid[j], prec[j], rec[j]
        """,
        ex2_sacrifice="""
            y = np.asarray(y_test)
            def prec_at(t):
                flagged = y_prob >= t
                return (flagged & (y == 1)).sum() / flagged.sum()
            precision_drop = prec_at(best_threshold[0]) - prec_at(recall90_threshold)
        """,
    ),
    # Midpoints between neighbouring probabilities, a pandas table, answers as Series;
    # the student also (harmlessly) turns y_prob into a Series.
    correct(
        "midpoint-thresholds-pandas",
        ex2_best_f1="""
            y_prob = pd.Series(y_prob, index=y_test.index)
            u = np.sort(y_prob.unique())
            mids = (u[:-1] + u[1:]) / 2
            tab = pd.DataFrame({'t': mids})
            tab['f1'] = [f1_score(y_test, (y_prob >= t).astype(int)) for t in mids]
            top = tab[tab['f1'] == tab['f1'].max()].head(1)
            best_threshold = top['t']
            best_f1 = top['f1']
        """,
        ex2_recall90="""
            u = np.sort(np.unique(y_prob))
            mids = (u[:-1] + u[1:]) / 2
            rows = [(t, precision_score(y_test, y_prob >= t), recall_score(y_test, y_prob >= t)) for t in mids]
            tab = pd.DataFrame(rows, columns=['t', 'p', 'r']).query('r >= 0.9')
            best = tab.sort_values(['p', 't'], ascending=False).iloc[0]
            recall90_threshold, recall90_precision, recall90_recall = best['t'], best['p'], best['r']
        """,
        ex2_sacrifice="""
            pp = 100 * (precision_score(y_test, y_prob >= float(best_threshold.iloc[0]))
                        - precision_score(y_test, y_prob >= recall90_threshold))
            precision_drop = pp / 100
        """,
    ),
    # Reported metrics rounded to three decimals (the thresholds themselves unrounded).
    correct(
        "metrics-rounded-to-three-decimals",
        ex2_best_f1="""
            table = threshold_table(y_test, y_prob, np.unique(y_prob))
            row = table.loc[table['F1'].idxmax()]
            best_threshold, best_f1 = row['Threshold'], round(row['F1'], 3)
        """,
        ex2_recall90="""
            table = threshold_table(y_test, y_prob, np.unique(y_prob))
            row = table[table['Recall'] >= 0.9].sort_values('Precision').iloc[-1]
            recall90_threshold = row['Threshold']
            recall90_precision, recall90_recall = round(row['Precision'], 3), round(row['Recall'], 3)
        """,
        ex2_sacrifice="""
            t = threshold_table(y_test, y_prob, [best_threshold, recall90_threshold])
            precision_drop = round(t['Precision'][0] - t['Precision'][1], 3)
        """,
    ),
    mistake(
        "coarse-grid-0.05",
        ["ex2_best_f1_tests_optimum", "ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1="""
            table = threshold_table(y_test, y_prob, np.arange(0.05, 1.0, 0.05))
            row = table.loc[table['F1'].idxmax()]
            best_threshold, best_f1 = row['Threshold'], row['F1']
        """,
        ex2_recall90="""
            table = threshold_table(y_test, y_prob, np.arange(0.05, 1.0, 0.05))
            ok = table[table['Recall'] >= 0.9]
            row = ok.loc[ok['Precision'].idxmax()]
            recall90_threshold, recall90_precision, recall90_recall = row['Threshold'], row['Precision'], row['Recall']
        """,
    ),
    mistake(
        "chapter-table-best-row",
        ["ex2_best_f1_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1="""
            table = threshold_table(y_test, y_prob, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
            row = table.loc[table['F1'].idxmax()]
            best_threshold, best_f1 = row['Threshold'], row['F1']
        """,
    ),
    # Everything tuned and reported on the training split.
    mistake(
        "tuned-on-training-split",
        ["ex2_best_f1_tests", "ex2_best_f1_tests_optimum", "ex2_recall90_tests",
         "ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1=(TRAIN_PROB, """
            table = threshold_table(y_train, train_prob, np.unique(train_prob))
            row = table.loc[table['F1'].idxmax()]
            best_threshold, best_f1 = row['Threshold'], row['F1']
        """),
        ex2_recall90=(TRAIN_PROB, """
            table = threshold_table(y_train, train_prob, np.unique(train_prob))
            ok = table[table['Recall'] >= 0.9]
            row = ok.loc[ok['Precision'].idxmax()]
            recall90_threshold, recall90_precision, recall90_recall = row['Threshold'], row['Precision'], row['Recall']
        """),
        ex2_sacrifice=(TRAIN_PROB, """
            t = threshold_table(y_train, train_prob, [best_threshold, recall90_threshold])
            precision_drop = t['Precision'][0] - t['Precision'][1]
        """),
    ),
    # Thresholds tuned on the training split, but their metrics honestly reported on the test set.
    mistake(
        "tuned-on-training-reported-on-test",
        ["ex2_best_f1_tests_optimum", "ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1=(TRAIN_PROB, """
            table = threshold_table(y_train, train_prob, np.unique(train_prob))
            best_threshold = table.loc[table['F1'].idxmax(), 'Threshold']
            best_f1 = f1_score(y_test, y_prob >= best_threshold)
        """),
        ex2_recall90=(TRAIN_PROB, """
            table = threshold_table(y_train, train_prob, np.unique(train_prob))
            ok = table[table['Recall'] >= 0.9]
            recall90_threshold = ok.loc[ok['Precision'].idxmax(), 'Threshold']
            recall90_precision = precision_score(y_test, y_prob >= recall90_threshold)
            recall90_recall = recall_score(y_test, y_prob >= recall90_threshold)
        """),
    ),
    # The first (lowest) threshold whose recall is >= 0.90: recall 1, precision 0.26.
    mistake(
        "lowest-threshold-with-recall-90",
        ["ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_recall90=(PR_CURVE, """
            i = np.flatnonzero(recall[:-1] >= 0.9)[0]
            recall90_threshold, recall90_precision, recall90_recall = thresholds[i], precision[i], recall[i]
        """),
    ),
    # Among thresholds with recall >= 0.90, the best F1 instead of the best precision.
    mistake(
        "recall-90-with-best-f1-not-precision",
        ["ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_recall90="""
            table = threshold_table(y_test, y_prob, np.unique(y_prob))
            ok = table[table['Recall'] >= 0.9]
            row = ok.loc[ok['F1'].idxmax()]
            recall90_threshold, recall90_precision, recall90_recall = row['Threshold'], row['Precision'], row['Recall']
        """,
    ),
    # precision/recall shifted by one against thresholds (dropping the first element, not the last).
    mistake(
        "misaligned-curve-arrays-f1",
        ["ex2_best_f1_tests", "ex2_best_f1_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1=(PR_CURVE, """
            f1 = 2 * precision[1:] * recall[1:] / (precision[1:] + recall[1:])
            i = np.nanargmax(f1)
            best_threshold, best_f1 = thresholds[i], f1[i]
        """),
    ),
    mistake(
        "misaligned-curve-arrays-recall90",
        ["ex2_recall90_tests", "ex2_recall90_tests_optimum", "ex2_sacrifice_tests"],
        ex2_recall90=(PR_CURVE, """
            ok = np.flatnonzero(recall[1:] >= 0.9)
            i = ok[np.argmax(precision[1:][ok])]
            recall90_threshold, recall90_precision, recall90_recall = thresholds[i], precision[1:][i], recall[1:][i]
        """),
    ),
    # Classify as failure when p > threshold: the reported thresholds are optimal only under `>`.
    # The precision drop computed under the same rule happens to be right.
    mistake(
        "strict-inequality-rule",
        ["ex2_best_f1_tests", "ex2_best_f1_tests_optimum", "ex2_recall90_tests", "ex2_recall90_tests_optimum"],
        ex2_best_f1="""
            scores = [(t, f1_score(y_test, y_prob > t)) for t in np.unique(y_prob)]
            best_threshold, best_f1 = max(scores, key=lambda s: s[1])
        """,
        ex2_recall90="""
            rows = [(t, precision_score(y_test, y_prob > t, zero_division=0), recall_score(y_test, y_prob > t))
                    for t in np.unique(y_prob)]
            ok = [r for r in rows if r[2] >= 0.9]
            recall90_threshold, recall90_precision, recall90_recall = max(ok, key=lambda r: r[1])
        """,
        ex2_sacrifice="""
            precision_drop = precision_score(y_test, y_prob > best_threshold) - recall90_precision
        """,
    ),
    # The best threshold rounded for the report: 0.537 lies above the optimal interval.
    mistake(
        "best-threshold-rounded-up",
        ["ex2_best_f1_tests", "ex2_best_f1_tests_optimum", "ex2_sacrifice_tests"],
        ex2_best_f1="""
            table = threshold_table(y_test, y_prob, np.unique(y_prob))
            row = table.loc[table['F1'].idxmax()]
            best_threshold, best_f1 = round(row['Threshold'], 3), row['F1']
        """,
    ),
    mistake("relative-precision-drop", ["ex2_sacrifice_tests"], ex2_sacrifice="""
        p_best = precision_score(y_test, y_prob >= best_threshold)
        precision_drop = (p_best - recall90_precision) / p_best
    """),
    mistake("precision-drop-in-percentage-points", ["ex2_sacrifice_tests"], ex2_sacrifice="""
        precision_drop = 100 * (precision_score(y_test, y_prob >= best_threshold) - recall90_precision)
    """),
    mistake("precision-drop-reversed", ["ex2_sacrifice_tests"], ex2_sacrifice="""
        precision_drop = recall90_precision - precision_score(y_test, y_prob >= best_threshold)
    """),
    mistake("f1-drop-instead-of-precision", ["ex2_sacrifice_tests"], ex2_sacrifice="""
        precision_drop = best_f1 - f1_score(y_test, y_prob >= recall90_threshold)
    """),
]
