"""Exercise 1 scenarios: the probability curve."""

from lrcourse.scenarios import correct, mistake

SKLEARN_MODEL = """
    clf = LogisticRegression(C=np.inf, max_iter=1000)
    clf.fit(deploy_data[feature_names], deploy_data['failed'])
    model = clf
    coef_files = clf.coef_[0][0]
"""
MEANS_GRID = """
    files_grid = np.linspace(1, 79, 100)
    grid = pd.DataFrame({name: [deploy_data[name].mean()] * len(files_grid) for name in feature_names})
    grid['files_changed'] = files_grid
"""

SCENARIOS = [
    correct("solution"),
    correct(
        "sklearn-no-penalty-integer-grid",
        ex1_model=SKLEARN_MODEL,
        ex1_curve="""
            files_grid = np.arange(1, 80)
            grid = pd.DataFrame({name: np.repeat(deploy_data[name].mean(), len(files_grid))
                                 for name in feature_names})
            grid['files_changed'] = files_grid
            p_fail = model.predict_proba(grid)[:, 1]
        """,
        ex1_plot="""
            plt.figure()
            plt.plot(files_grid, p_fail, label='logistic')
            plt.plot([files_grid[0], files_grid[-1]], [p_fail[0], p_fail[-1]], label='chord')
            plt.xlabel('files changed')
            plt.ylabel('P(fail)')
            plt.legend()
            fig = plt.gcf()
            plt.show()
        """,
        ex1_crossing="""
            fine = np.linspace(1, 79, 100001)
            Xf = pd.DataFrame({name: np.repeat(deploy_data[name].mean(), len(fine)) for name in feature_names})
            Xf['files_changed'] = fine
            files_at_half = np.interp(0.5, model.predict_proba(Xf)[:, 1], fine)
        """,
    ),
    correct(
        "formula-api-series-grid",
        ex1_model="""
            import statsmodels.formula.api as smf
            model = smf.logit('failed ~ files_changed + hours_since_last_deploy + is_friday + test_coverage_pct',
                              data=deploy_data).fit(disp=0)
            coef_files = model.params['files_changed']
        """,
        ex1_curve="""
            files_grid = pd.Series(np.linspace(5, 75, 30), name='files_changed')
            means = deploy_data[feature_names].mean()
            new = pd.DataFrame({c: means[c] for c in feature_names}, index=files_grid.index)
            new['files_changed'] = files_grid
            p_fail = model.predict(new)
        """,
        ex1_plot="""
            fig = plt.figure(figsize=(6, 4))
            ax = fig.add_subplot()
            ax.plot(files_grid, p_fail)
            b1, b0 = np.polyfit(files_grid, p_fail, 1)
            ax.plot(files_grid, b0 + b1 * files_grid, 'k:')
            ax.set(xlabel='files_changed', ylabel='probability of failure')
        """,
        ex1_crossing="""
            from scipy.optimize import brentq
            m = deploy_data[feature_names].mean()
            def _logodds(f):
                return (model.params['Intercept'] + model.params['files_changed'] * f
                        + sum(model.params[c] * m[c] for c in feature_names[1:]))
            files_at_half = brentq(_logodds, 1, 79)
        """,
    ),
    # The contract accepts scikit-learn's default (L2, C=1) fit on all 500 rows: its curve
    # is 0.0004 from the unregularised one.
    correct(
        "sklearn-default-l2-all-rows",
        ex1_model="""
            model = LogisticRegression(max_iter=1000).fit(deploy_data[feature_names], deploy_data['failed'])
            coef_files = float(model.coef_[0, 0])
        """,
        ex1_curve=(MEANS_GRID, "p_fail = model.predict_proba(grid)[:, 1]"),
        ex1_crossing="""
            m = deploy_data[feature_names].mean().to_numpy()
            b = model.coef_[0]
            files_at_half = -(model.intercept_[0] + b[1:] @ m[1:]) / b[0]
        """,
    ),
    mistake("wrong-seed", ["ex1_data_tests"], ex1_data="""
        rng = np.random.default_rng(0)
        n = 500
        deploy_data = pd.DataFrame({
            'files_changed': rng.integers(1, 80, n),
            'hours_since_last_deploy': rng.exponential(24, n).round(1),
            'is_friday': rng.binomial(1, 1/5, n),
            'test_coverage_pct': np.clip(rng.normal(75, 15, n), 20, 100).round(1),
        })
        deploy_data['failed'] = rng.binomial(1, expit(-1 + 0.05 * deploy_data['files_changed']))
    """),
    mistake("draws-out-of-order", ["ex1_data_tests"], ex1_data="""
        rng = np.random.default_rng(42)
        n = 500
        friday = rng.binomial(1, 1/5, n)
        deploy_data = pd.DataFrame({
            'files_changed': rng.integers(1, 80, n),
            'hours_since_last_deploy': rng.exponential(24, n).round(1),
            'is_friday': friday,
            'test_coverage_pct': np.clip(rng.normal(75, 15, n), 20, 100).round(1),
        })
        log_odds = (-1.0 + 0.05 * deploy_data['files_changed'] + 0.02 * deploy_data['hours_since_last_deploy']
                    + 0.8 * deploy_data['is_friday'] - 0.04 * deploy_data['test_coverage_pct'])
        deploy_data['failed'] = rng.binomial(1, expit(log_odds))
    """),
    mistake("odds-ratio-instead-of-coefficient", ["ex1_model_tests"], ex1_model="""
        model = sm.Logit(deploy_data['failed'], sm.add_constant(deploy_data[feature_names])).fit(disp=False)
        coef_files = float(np.exp(model.params['files_changed']))
    """),
    mistake("always-equal-object", ["ex1_model_tests"], ex1_model="""
        model = sm.Logit(deploy_data['failed'], sm.add_constant(deploy_data[feature_names])).fit(disp=False)
        class _Anything(float):
            def __eq__(self, other):
                return True
        coef_files = _Anything(0.9)
    """),
    # The chapter's scikit-learn model: L2 penalty, fitted on the 80% training split.
    mistake(
        "chapter-l2-fit-on-training-split",
        ["ex1_model_tests", "ex1_curve_tests_shape", "ex1_crossing_tests"],
        ex1_model="""
            from sklearn.model_selection import train_test_split
            X_train, X_test, y_train, y_test = train_test_split(
                deploy_data[feature_names], deploy_data['failed'], test_size=0.2, random_state=42)
            model = LogisticRegression(max_iter=200, random_state=42).fit(X_train, y_train)
            coef_files = model.coef_[0][0]
        """,
        ex1_curve=(MEANS_GRID, "p_fail = model.predict_proba(grid)[:, 1]"),
        ex1_crossing="""
            m = deploy_data[feature_names].mean().to_numpy()
            b = model.coef_[0]
            files_at_half = -(model.intercept_[0] + b[1:] @ m[1:]) / b[0]
        """,
    ),
    # OLS "probabilities" leave (0, 1) and are straight, so the comparison line coincides.
    mistake("linear-regression-curve", ["ex1_curve_tests", "ex1_curve_tests_shape", "ex1_plot_tests"], ex1_curve=("""
        from sklearn.linear_model import LinearRegression
        ols = LinearRegression().fit(deploy_data[feature_names], deploy_data['failed'])
    """, MEANS_GRID, "p_fail = ols.predict(grid)")),
    mistake("others-held-at-zero", ["ex1_curve_tests_shape"], ex1_curve="""
        files_grid = np.linspace(1, 79, 100)
        grid = pd.DataFrame({name: np.zeros(len(files_grid)) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = np.asarray(model.predict(sm.add_constant(grid, has_constant='add')))
    """),
    mistake("others-held-at-medians", ["ex1_curve_tests_shape"], ex1_curve="""
        files_grid = np.linspace(1, 79, 100)
        grid = pd.DataFrame({name: [deploy_data[name].median()] * len(files_grid) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = np.asarray(model.predict(sm.add_constant(grid, has_constant='add')))
    """),
    mistake("class-labels-not-probabilities", ["ex1_curve_tests", "ex1_curve_tests_shape"],
            ex1_curve=(MEANS_GRID, """
        clf = LogisticRegression(C=np.inf, max_iter=1000).fit(deploy_data[feature_names], deploy_data['failed'])
        p_fail = clf.predict(grid)
    """)),
    mistake("probability-of-success", ["ex1_curve_tests_shape"], ex1_curve="""
        files_grid = np.linspace(1, 79, 100)
        grid = pd.DataFrame({name: [deploy_data[name].mean()] * len(files_grid) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = 1 - np.asarray(model.predict(sm.add_constant(grid, has_constant='add')))
    """),
    mistake("log-odds-not-probabilities", ["ex1_curve_tests", "ex1_curve_tests_shape", "ex1_plot_tests"], ex1_curve="""
        files_grid = np.linspace(1, 79, 100)
        grid = pd.DataFrame({name: [deploy_data[name].mean()] * len(files_grid) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = sm.add_constant(grid, has_constant='add').to_numpy() @ model.params.to_numpy()
    """),
    mistake("grid-outside-data-range", ["ex1_curve_tests"], ex1_curve="""
        files_grid = np.linspace(0, 100, 101)
        grid = pd.DataFrame({name: [deploy_data[name].mean()] * len(files_grid) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = np.asarray(model.predict(sm.add_constant(grid, has_constant='add')))
    """),
    mistake("grid-too-short", ["ex1_curve_tests"], ex1_curve="""
        files_grid = np.linspace(1, 79, 10)
        grid = pd.DataFrame({name: [deploy_data[name].mean()] * len(files_grid) for name in feature_names})
        grid['files_changed'] = files_grid
        p_fail = np.asarray(model.predict(sm.add_constant(grid, has_constant='add')))
    """),
    mistake("figure-without-axis-labels", ["ex1_plot_tests"], ex1_plot="""
        fig, ax = plt.subplots()
        ax.plot(files_grid, p_fail)
        ax.plot(files_grid, np.polyval(np.polyfit(files_grid, p_fail, 1), files_grid))
        plt.show()
    """),
    mistake("figure-without-curve", ["ex1_plot_tests"], ex1_plot="""
        fig, ax = plt.subplots()
        ax.plot(files_grid, np.polyval(np.polyfit(files_grid, p_fail, 1), files_grid))
        ax.set_xlabel('files changed')
        ax.set_ylabel('P(failure)')
        plt.show()
    """),
    mistake("figure-without-straight-line", ["ex1_plot_tests"], ex1_plot="""
        fig, ax = plt.subplots()
        ax.plot(files_grid, p_fail)
        ax.axhline(0.5, color='grey', linestyle=':')
        ax.set_xlabel('files changed')
        ax.set_ylabel('P(failure)')
        plt.show()
    """),
    mistake("crossing-from-the-straight-line", ["ex1_crossing_tests"], ex1_crossing="""
        slope, intercept = np.polyfit(files_grid, p_fail, 1)
        files_at_half = (0.5 - intercept) / slope
    """),
    mistake("crossing-at-logit-half", ["ex1_crossing_tests"], ex1_crossing="""
        m = deploy_data[feature_names].mean()
        rest = model.params['const'] + sum(model.params[c] * m[c] for c in feature_names[1:])
        files_at_half = (0.5 - rest) / model.params['files_changed']
    """),
]
