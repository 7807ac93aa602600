"""ProductProjection against independent formulas: aggregations, fused paths, parameters."""

import joblib
import numpy as np
import pandas as pd
import pytest
from _helpers import kernel_reference, layer_norm
from sklearn import config_context
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skinvariance import ProductProjection, RelativeProjection, select_anchors

FOUR = ["cosine", "euclidean", "l1", "linf"]


def test_concat_is_the_normalised_subspaces_side_by_side(projection_data):
    X, A = projection_data
    prod = ProductProjection(FOUR).fit(A)
    signs = [1, -1, -1, -1]  # distances negated: every subspace reads "larger = closer"
    expected = np.hstack([s * layer_norm(kernel_reference(X, A, k)) for s, k in zip(signs, FOUR)])
    np.testing.assert_allclose(prod.transform(X), expected, rtol=1e-8, atol=1e-10)
    assert [name for name, _ in prod.projections_] == FOUR
    assert prod.projections == FOUR  # the parameter is left as given


@pytest.mark.parametrize("aggregate", ["concat", "sum", "mean", "weighted_sum"])
@pytest.mark.parametrize("normalize", ["layer", None])
def test_orient_false_keeps_raw_orientations(aggregate, normalize, projection_data):
    X, A = projection_data
    weights = [0.5, 2.0, 1.0, 3.0] if aggregate == "weighted_sum" else None
    raw = ProductProjection(FOUR, aggregate=aggregate.removeprefix("weighted_"),
                            normalize=normalize, orient=False,
                            weights=weights).fit(A).transform(X)
    norm = layer_norm if normalize == "layer" else (lambda R: R)
    parts = [norm(kernel_reference(X, A, k)) for k in FOUR]
    coef = {"concat": None, "sum": [1] * 4, "mean": [0.25] * 4,
            "weighted_sum": weights}[aggregate]
    if coef is None:
        expected = np.hstack(parts)
    else:
        expected = sum(c * part for c, part in zip(coef, parts))
    np.testing.assert_allclose(raw, expected, rtol=1e-8, atol=1e-10)
    if aggregate == "concat":
        # orienting flips exactly the distance blocks' signs, bit for bit
        oriented = ProductProjection(FOUR, normalize=normalize).fit(A).transform(X)
        width = len(A)
        np.testing.assert_array_equal(oriented[:, :width], raw[:, :width])
        np.testing.assert_array_equal(oriented[:, width:], -raw[:, width:])


@pytest.mark.parametrize("aggregate", ["sum", "mean", "weighted_sum"])
@pytest.mark.parametrize("normalize", ["layer", "l2", None])
def test_fixed_aggregations_orient_distances_as_similarities(aggregate, normalize,
                                                            projection_data):
    X, A = projection_data
    weights = [0.5, 2.0, 1.0, 3.0] if aggregate == "weighted_sum" else None
    prod = ProductProjection(FOUR, aggregate=aggregate.removeprefix("weighted_"),
                             normalize=normalize, weights=weights)
    got = prod.fit(A).transform(X)
    norm = {"layer": layer_norm, "l2": lambda R: R / np.linalg.norm(R, axis=1)[:, None],
            None: lambda R: R}[normalize]
    signs = {"cosine": 1, "euclidean": -1, "l1": -1, "linf": -1}
    coef = {"sum": [1] * 4, "mean": [0.25] * 4, "weighted_sum": weights}[aggregate]
    expected = sum(c * signs[k] * norm(kernel_reference(X, A, k)) for c, k in zip(coef, FOUR))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(prod.orientations_, [1, -1, -1, -1])


def test_fused_and_generic_paths_agree(projection_data):
    """A Pipeline subspace takes the generic path; a plain one is fused with its peers."""
    X, A = projection_data
    generic = ProductProjection(
        [("c", make_pipeline(FunctionTransformer(), RelativeProjection("cosine"))),
         ("a", make_pipeline(FunctionTransformer(), RelativeProjection("l1", center=True))),
         ("b", make_pipeline(FunctionTransformer(), RelativeProjection("linf", center=True)))]
    ).fit(A)
    fused = ProductProjection(
        [("c", "cosine"), ("a", RelativeProjection("l1", center=True)),
         ("b", RelativeProjection("linf", center=True))]
    ).fit(A)
    fused_groups, fused_others = fused._subspace_plan(np.float64)
    generic_groups, generic_others = generic._subspace_plan(np.float64)
    assert [positions for _, positions in fused_groups] == [[0], [1, 2]] and fused_others == []
    assert generic_groups == [] and generic_others == [0, 1, 2]
    with config_context(working_memory=0.02):  # about 15 rows per block
        np.testing.assert_allclose(fused.transform(X), generic.transform(X), rtol=1e-10)


def test_anchors_are_selected_once_for_every_subspace(projection_data):
    X, _ = projection_data
    prod = ProductProjection(FOUR, n_anchors=15, random_state=2).fit(X)
    expected = select_anchors(X, 15, random_state=2)
    np.testing.assert_array_equal(prod.anchor_indices_, expected)
    for _, sub in prod.projections_:
        np.testing.assert_allclose(sub.anchors_, X[expected])


def test_nested_parameters_for_grid_search(rng):
    prod = ProductProjection(["cosine", ("dist", RelativeProjection("l1"))])
    params = prod.get_params()
    assert params["cosine__kernel"] == "cosine" and params["dist__kernel"] == "l1"
    prod.set_params(cosine__center=True, dist__normalize="l2")
    assert prod.projections[0][0] == "cosine"
    assert prod.projections[0][1].center is True
    assert prod.projections[1][1].normalize == "l2"
    with pytest.raises(ValueError, match="Invalid parameter 'nope' for estimator"):
        prod.set_params(nope__center=True)

    X = rng.normal(size=(60, 4))
    y = (np.abs(X[:, 0]) > 0.7).astype(int)
    pipe = make_pipeline(ProductProjection(["cosine"], n_anchors=8, random_state=0),
                         RidgeClassifier())
    grid = GridSearchCV(
        pipe,
        {"productprojection__projections": [["cosine"], ["cosine", "euclidean"], FOUR],
         "productprojection__aggregate": ["concat", "sum"]},
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 6
    assert grid.best_estimator_[0].projections in (["cosine"], ["cosine", "euclidean"], FOUR)


def test_duplicate_unnamed_entries_are_suffixed(projection_data):
    _, A = projection_data
    prod = ProductProjection(["cosine", RelativeProjection("cosine", center=True)]).fit(A)
    assert [name for name, _ in prod.projections_] == ["cosine-1", "cosine-2"]
    assert prod.get_feature_names_out()[[0, 25]].tolist() == ["cosine-1_anchor0",
                                                              "cosine-2_anchor0"]


def test_pickle_and_pandas_output(tmp_path, projection_data):
    X, A = projection_data
    prod = ProductProjection(FOUR, aggregate="mean").set_output(transform="pandas").fit(A)
    out = prod.transform(X)
    assert list(out.columns) == [f"mean_anchor{j}" for j in range(25)]
    joblib.dump(prod, tmp_path / "p.joblib")
    pd.testing.assert_frame_equal(joblib.load(tmp_path / "p.joblib").transform(X), out)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"projections": FOUR, "aggregate": "max"}, ValueError, "The 'aggregate' parameter"),
        ({"projections": []}, ValueError, "must contain at least one projection"),
        ({"projections": ["cosinus"]}, ValueError, "Got 'cosinus' instead"),
        ({"projections": [LogisticRegression()]}, TypeError, "must hold kernel names among"),
        ({"projections": [("a", "cosine"), ("a", "l1")]}, ValueError, "are repeated"),
        ({"projections": ["cosine", "l1"], "aggregate": "sum", "weights": [1.0]},
         ValueError, "'weights' parameter of ProductProjection must be 2 finite numbers"),
        ({"projections": ["cosine", RelativeProjection("l1", n_anchors=3)], "aggregate": "sum"},
         ValueError, r"needs subspaces of equal widths; got \{'cosine': 25, 'l1': 3\}"),
    ],
)
def test_product_bad_parameters(params, error, match, projection_data):
    _, A = projection_data
    with pytest.raises(error, match=match):
        ProductProjection(**params).fit(A)


def test_product_bad_input(projection_data):
    X, A = projection_data
    prod = ProductProjection(FOUR).fit(A)
    with pytest.raises(ValueError, match="X has 2 features, but ProductProjection is expecting"):
        prod.transform(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains infinity"):
        prod.transform(np.full((1, 6), np.inf))


def test_the_fixed_weighted_aggregation_is_a_deprecated_name_of_sum(projection_data):
    """'weighted' names the decoders' learned aggregation; the fixed one is 'sum' + weights."""
    X, A = projection_data
    weights = [0.5, 2.0, 1.0, 3.0]
    expected = ProductProjection(FOUR, aggregate="sum", weights=weights).fit(A).transform(X)
    with pytest.warns(FutureWarning, match="aggregate='weighted' is deprecated: use "
                                           "aggregate='sum' with 'weights'"):
        old = ProductProjection(FOUR, aggregate="weighted", weights=weights).fit(A)
    np.testing.assert_array_equal(old.transform(X), expected)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="needs 'weights'"):
        ProductProjection(FOUR, aggregate="weighted").fit(A)
