"""RelativeProjection and relative_projection against independent formulas."""

import joblib
import numpy as np
import pandas as pd
import pytest
from _helpers import kernel_reference, layer_norm
from scipy.spatial.distance import cdist
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from skinvariance import RelativeProjection, select_anchors
from skinvariance.projection import relative_projection


@pytest.mark.parametrize("kernel", ["cosine", "euclidean", "l1", "linf"])
def test_relative_projection_is_the_kernel_against_every_fitted_row(kernel, projection_data):
    X, A = projection_data
    proj = RelativeProjection(kernel).fit(A)
    np.testing.assert_allclose(proj.anchors_, A)
    np.testing.assert_allclose(proj.transform(X), kernel_reference(X, A, kernel), rtol=1e-10)


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
def test_preprocessing_uses_anchor_statistics(params, prepare, projection_data):
    X, A = projection_data
    Xp, Ap = prepare(X, A)
    got = RelativeProjection("euclidean", **params).fit(A).transform(X)
    np.testing.assert_allclose(got, cdist(Xp, Ap), rtol=1e-9)


def test_centering_makes_cosine_translation_invariant(projection_data):
    X, A = projection_data
    shift = np.arange(1.0, 7.0) * 10
    plain = RelativeProjection("cosine", center=True).fit(A).transform(X)
    moved = RelativeProjection("cosine", center=True).fit(A + shift).transform(X + shift)
    np.testing.assert_allclose(moved, plain, atol=1e-10)
    raw = RelativeProjection("cosine").fit(A + shift).transform(X + shift)
    assert not np.allclose(raw, RelativeProjection("cosine").fit(A).transform(X), atol=1e-3)


@pytest.mark.parametrize("kernel", ["euclidean", "l1", "linf"])
def test_layer_normalisation_makes_distances_scale_invariant(kernel, projection_data):
    X, A = projection_data
    plain = RelativeProjection(kernel, normalize="layer").fit(A).transform(X)
    scaled = RelativeProjection(kernel, normalize="layer").fit(5.5 * A).transform(5.5 * X)
    np.testing.assert_allclose(scaled, plain, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(plain, layer_norm(kernel_reference(X, A, kernel)), rtol=1e-9)
    # Without it the distances are only equivariant: they scale by 5.5.
    raw = RelativeProjection(kernel).fit(5.5 * A).transform(5.5 * X)
    np.testing.assert_allclose(raw, 5.5 * kernel_reference(X, A, kernel), rtol=1e-9)


def test_n_anchors_selects_rows_of_the_fitted_data(projection_data):
    X, _ = projection_data
    proj = RelativeProjection("l1", n_anchors=12, random_state=4).fit(X)
    expected = select_anchors(X, 12, random_state=4)
    np.testing.assert_array_equal(proj.anchor_indices_, expected)
    np.testing.assert_allclose(proj.anchors_, X[expected])
    assert proj.transform(X).shape == (200, 12)
    # Refitting without n_anchors forgets the selection.
    assert not hasattr(proj.set_params(n_anchors=None).fit(X), "anchor_indices_")


def test_stratified_selection_uses_y(projection_data):
    X, _ = projection_data
    y = np.repeat([0, 1], 100)
    proj = RelativeProjection(n_anchors=10, anchor_selection="stratified", random_state=0)
    proj.fit(X, y)
    assert np.bincount(y[proj.anchor_indices_]).tolist() == [5, 5]


def test_blocks_give_the_same_result(projection_data):
    X, A = projection_data
    proj = RelativeProjection("linf", normalize="layer", center=True).fit(A)
    whole = proj.transform(X)
    with config_context(working_memory=0.001):
        blocked = proj.transform(X)
    np.testing.assert_array_equal(blocked, whole)


def test_feature_names_and_pandas_output(projection_data):
    X, A = projection_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    proj = RelativeProjection("manhattan").set_output(transform="pandas").fit(frame.iloc[:5])
    out = proj.transform(frame)
    assert list(out.columns) == [f"l1_anchor{j}" for j in range(5)]
    assert list(out.columns) == list(proj.get_feature_names_out())
    np.testing.assert_allclose(out.to_numpy(), cdist(X, X[:5], "cityblock"))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        proj.get_feature_names_out(["a"] * 6)


def test_clone_and_pickle_give_identical_transforms(tmp_path, projection_data):
    X, _ = projection_data
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
def test_relative_projection_bad_parameters(params, match, projection_data):
    X, _ = projection_data
    with pytest.raises(ValueError, match=match):
        RelativeProjection(**params).fit(X)


def test_relative_projection_bad_input(projection_data):
    X, A = projection_data
    proj = RelativeProjection().fit(A)
    expected = "X has 3 features, but RelativeProjection is expecting 6"
    with pytest.raises(ValueError, match=expected):
        proj.transform(X[:, :3])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        proj.transform(np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match="normalize='layer' needs at least 2 anchors"):
        RelativeProjection(normalize="layer").fit(A[:1])


@pytest.mark.parametrize("kernel", ["cosine", "euclidean", "l1", "linf", "minkowski"])
@pytest.mark.parametrize(
    "params",
    [{}, {"center": True, "scale": True}, {"l2_normalize": True, "normalize": "layer"},
     {"normalize": "l2", "p": 3.0}],
)
def test_the_function_is_what_the_estimator_computes(kernel, params, projection_data):
    """Function plus class: ``relative_projection`` and ``RelativeProjection`` agree, and
    both agree with the kernel of the pre-processed rows."""
    X, A = projection_data
    got = relative_projection(X, A, kernel, **params)
    estimator = RelativeProjection(kernel, **params).fit(A).transform(X)
    np.testing.assert_array_equal(got, estimator)
    mean = A.mean(0) if params.get("center") else 0.0
    std = A.std(0) if params.get("scale") else 1.0
    Xp, Ap = (X - mean) / std, (A - mean) / std
    if params.get("l2_normalize"):
        Xp, Ap = Normalizer().transform(Xp), Normalizer().transform(Ap)
    if kernel == "minkowski":
        expected = cdist(Xp, Ap, "minkowski", p=params.get("p", 2.0))
    else:
        expected = kernel_reference(Xp, Ap, kernel)
    norm = {None: lambda R: R, "layer": layer_norm,
            "l2": lambda R: R / np.linalg.norm(R, axis=1, keepdims=True)}
    np.testing.assert_allclose(got, norm[params.get("normalize")](expected),
                               rtol=1e-9, atol=1e-12)
