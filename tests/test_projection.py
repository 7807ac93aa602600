"""RelativeProjection and ProductProjection against independent formulas."""

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from skinvariance import ProductProjection, RelativeProjection, select_anchors
from skinvariance.projection import normalize_rows

CDIST = {"euclidean": "euclidean", "l1": "cityblock", "linf": "chebyshev"}


def _reference(X, A, kernel):
    if kernel == "cosine":
        return 1 - cdist(X, A, "cosine")
    return cdist(X, A, CDIST[kernel])


def _layer(R):
    R = R - R.mean(axis=1, keepdims=True)
    return R / R.std(axis=1, keepdims=True)


@pytest.fixture
def data(rng):
    return rng.normal(size=(200, 6)) + 2.0, rng.normal(size=(25, 6)) + 2.0


# -- RelativeProjection ---------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["cosine", "euclidean", "l1", "linf"])
def test_relative_projection_is_the_kernel_against_every_fitted_row(kernel, data):
    X, A = data
    proj = RelativeProjection(kernel).fit(A)
    np.testing.assert_allclose(proj.anchors_, A)
    np.testing.assert_allclose(proj.transform(X), _reference(X, A, kernel), rtol=1e-10)


@pytest.mark.parametrize(
    "params, prepare",
    [
        ({"center": True}, lambda X, A: (X - A.mean(0), A - A.mean(0))),
        ({"scale": True}, lambda X, A: (X / A.std(0), A / A.std(0))),
        ({"center": True, "scale": True},
         lambda X, A: tuple(StandardScaler().fit(A).transform(Z) for Z in (X, A))),
        ({"l2_normalize": True}, lambda X, A: tuple(Normalizer().transform(Z) for Z in (X, A))),
    ],
)
def test_preprocessing_uses_anchor_statistics(params, prepare, data):
    X, A = data
    Xp, Ap = prepare(X, A)
    got = RelativeProjection("euclidean", **params).fit(A).transform(X)
    np.testing.assert_allclose(got, cdist(Xp, Ap), rtol=1e-9)


def test_centering_makes_cosine_translation_invariant(data):
    X, A = data
    shift = np.arange(1.0, 7.0) * 10
    plain = RelativeProjection("cosine", center=True).fit(A).transform(X)
    moved = RelativeProjection("cosine", center=True).fit(A + shift).transform(X + shift)
    np.testing.assert_allclose(moved, plain, atol=1e-10)
    raw = RelativeProjection("cosine").fit(A + shift).transform(X + shift)
    assert not np.allclose(raw, RelativeProjection("cosine").fit(A).transform(X), atol=1e-3)


@pytest.mark.parametrize("kernel", ["euclidean", "l1", "linf"])
def test_layer_normalisation_makes_distances_scale_invariant(kernel, data):
    X, A = data
    plain = RelativeProjection(kernel, normalize="layer").fit(A).transform(X)
    scaled = RelativeProjection(kernel, normalize="layer").fit(5.5 * A).transform(5.5 * X)
    np.testing.assert_allclose(scaled, plain, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(plain, _layer(_reference(X, A, kernel)), rtol=1e-9)
    # Without it the distances are only equivariant: they scale by 5.5.
    raw = RelativeProjection(kernel).fit(5.5 * A).transform(5.5 * X)
    np.testing.assert_allclose(raw, 5.5 * _reference(X, A, kernel), rtol=1e-9)


def test_normalize_rows_formulas(rng):
    R = rng.normal(size=(10, 7))
    np.testing.assert_allclose(normalize_rows(R, "layer"), _layer(R))
    np.testing.assert_allclose(normalize_rows(R, "l2"), R / np.linalg.norm(R, axis=1)[:, None])
    np.testing.assert_array_equal(normalize_rows(R, None), R)
    constant = np.ones((2, 4))
    np.testing.assert_array_equal(normalize_rows(constant, "layer"), np.zeros((2, 4)))
    np.testing.assert_array_equal(normalize_rows(np.zeros((2, 4)), "l2"), np.zeros((2, 4)))


def test_n_anchors_selects_rows_of_the_fitted_data(data):
    X, _ = data
    proj = RelativeProjection("l1", n_anchors=12, random_state=4).fit(X)
    expected = select_anchors(X, 12, random_state=4)
    np.testing.assert_array_equal(proj.anchor_indices_, expected)
    np.testing.assert_allclose(proj.anchors_, X[expected])
    assert proj.transform(X).shape == (200, 12)
    # Refitting without n_anchors forgets the selection.
    assert not hasattr(proj.set_params(n_anchors=None).fit(X), "anchor_indices_")


def test_stratified_selection_uses_y(data):
    X, _ = data
    y = np.repeat([0, 1], 100)
    proj = RelativeProjection(n_anchors=10, anchor_selection="stratified", random_state=0)
    proj.fit(X, y)
    assert np.bincount(y[proj.anchor_indices_]).tolist() == [5, 5]


def test_blocks_give_the_same_result(data):
    X, A = data
    proj = RelativeProjection("linf", normalize="layer", center=True).fit(A)
    whole = proj.transform(X)
    with config_context(working_memory=0.001):
        blocked = proj.transform(X)
    np.testing.assert_array_equal(blocked, whole)


def test_feature_names_and_pandas_output(data):
    X, A = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    proj = RelativeProjection("manhattan").set_output(transform="pandas").fit(frame.iloc[:5])
    out = proj.transform(frame)
    assert list(out.columns) == [f"l1_anchor{j}" for j in range(5)]
    assert list(out.columns) == list(proj.get_feature_names_out())
    np.testing.assert_allclose(out.to_numpy(), cdist(X, X[:5], "cityblock"))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        proj.get_feature_names_out(["a"] * 6)


def test_clone_and_pickle_give_identical_transforms(tmp_path, data):
    X, _ = data
    proj = RelativeProjection("euclidean", n_anchors=20, random_state=0, scale=True).fit(X)
    path = tmp_path / "proj.joblib"
    joblib.dump(proj, path)
    np.testing.assert_array_equal(joblib.load(path).transform(X), proj.transform(X))
    np.testing.assert_array_equal(clone(proj).fit(X).transform(X), proj.transform(X))


def test_inside_a_pipeline_and_a_grid_search(rng):
    X = rng.normal(size=(150, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    pipe = make_pipeline(RelativeProjection(n_anchors=20, random_state=0),
                         RidgeClassifier())
    grid = GridSearchCV(pipe, {"relativeprojection__kernel": ["cosine", "l1"],
                               "relativeprojection__normalize": [None, "layer"]}, cv=2)
    grid.fit(X, y)
    assert grid.best_score_ > 0.8
    assert set(grid.cv_results_["param_relativeprojection__kernel"]) == {"cosine", "l1"}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kernel": "cosinus"}, "The 'kernel' parameter of RelativeProjection must be a str"),
        ({"normalize": "batch"}, "The 'normalize' parameter of RelativeProjection"),
        ({"n_anchors": 500}, "n_anchors=500 is larger than the number of rows available"),
        ({"anchor_selection": "stratified", "n_anchors": 4}, "needs the class labels y"),
    ],
)
def test_relative_projection_bad_parameters(params, match, data):
    X, _ = data
    with pytest.raises(ValueError, match=match):
        RelativeProjection(**params).fit(X)


def test_relative_projection_bad_input(data):
    X, A = data
    proj = RelativeProjection().fit(A)
    expected = "X has 3 features, but RelativeProjection is expecting 6"
    with pytest.raises(ValueError, match=expected):
        proj.transform(X[:, :3])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        proj.transform(np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match="normalize='layer' needs at least 2 anchors"):
        RelativeProjection(normalize="layer").fit(A[:1])


# -- ProductProjection ----------------------------------------------------------------------

FOUR = ["cosine", "euclidean", "l1", "linf"]


def test_concat_is_the_normalised_subspaces_side_by_side(data):
    X, A = data
    prod = ProductProjection(FOUR).fit(A)
    expected = np.hstack([_layer(_reference(X, A, k)) for k in FOUR])
    np.testing.assert_allclose(prod.transform(X), expected, rtol=1e-8, atol=1e-10)
    assert [name for name, _ in prod.projections_] == FOUR
    assert prod.projections == FOUR  # the parameter is left as given


@pytest.mark.parametrize("aggregate", ["sum", "mean", "weighted"])
@pytest.mark.parametrize("normalize", ["layer", "l2", None])
def test_fixed_aggregations_orient_distances_as_similarities(aggregate, normalize, data):
    X, A = data
    weights = [0.5, 2.0, 1.0, 3.0]
    prod = ProductProjection(FOUR, aggregate=aggregate, normalize=normalize, weights=weights)
    got = prod.fit(A).transform(X)
    norm = {"layer": _layer, "l2": lambda R: R / np.linalg.norm(R, axis=1)[:, None],
            None: lambda R: R}[normalize]
    signs = {"cosine": 1, "euclidean": -1, "l1": -1, "linf": -1}
    coef = {"sum": [1] * 4, "mean": [0.25] * 4, "weighted": weights}[aggregate]
    expected = sum(c * signs[k] * norm(_reference(X, A, k)) for c, k in zip(coef, FOUR))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(prod.orientations_, [1, -1, -1, -1])


def test_fused_and_generic_paths_agree(data):
    """A Pipeline subspace takes the generic path; a plain one is fused with its peers."""
    X, A = data
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


def test_anchors_are_selected_once_for_every_subspace(data):
    X, _ = data
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


def test_duplicate_unnamed_entries_are_suffixed(data):
    _, A = data
    prod = ProductProjection(["cosine", RelativeProjection("cosine", center=True)]).fit(A)
    assert [name for name, _ in prod.projections_] == ["cosine-1", "cosine-2"]
    assert prod.get_feature_names_out()[[0, 25]].tolist() == ["cosine-1_anchor0",
                                                              "cosine-2_anchor0"]


def test_pickle_and_pandas_output(tmp_path, data):
    X, A = data
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
        ({"projections": [LogisticRegression()]}, TypeError, "must be a kernel name among"),
        ({"projections": [("a", "cosine"), ("a", "l1")]}, ValueError, "are repeated"),
        ({"projections": ["cosine", "l1"], "aggregate": "weighted"}, ValueError,
         "needs 'weights'"),
        ({"projections": ["cosine", "l1"], "aggregate": "weighted", "weights": [1.0]},
         ValueError, "'weights' parameter of ProductProjection must be 2 finite numbers"),
        ({"projections": ["cosine", RelativeProjection("l1", n_anchors=3)], "aggregate": "sum"},
         ValueError, r"needs subspaces of equal widths; got \{'cosine': 25, 'l1': 3\}"),
    ],
)
def test_product_bad_parameters(params, error, match, data):
    _, A = data
    with pytest.raises(error, match=match):
        ProductProjection(**params).fit(A)


def test_product_bad_input(data):
    X, A = data
    prod = ProductProjection(FOUR).fit(A)
    with pytest.raises(ValueError, match="X has 2 features, but ProductProjection is expecting"):
        prod.transform(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains infinity"):
        prod.transform(np.full((1, 6), np.inf))


@pytest.mark.parametrize(
    "estimator",
    [ProductProjection(FOUR), RelativeProjection("l1", center=True, normalize="layer")],
    ids=["product", "relative"],
)
def test_transform_memory_is_the_output_plus_a_bounded_working_set(estimator, rng):
    import tracemalloc

    X, A = rng.normal(size=(10_000, 32)), rng.normal(size=(64, 32))
    estimator.fit(A).transform(X[:10])  # compile outside the measurement
    with config_context(working_memory=1):  # the output is 5 to 20 MiB
        tracemalloc.start()
        try:
            Z = estimator.transform(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak - Z.nbytes < 3 * 2**20, f"{(peak - Z.nbytes) / 2**20:.1f} MiB"
