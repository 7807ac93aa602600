"""StitchingEvaluator: zero-shot stitching against hand-built pipelines and invariances."""

import pickle

import numpy as np
import pandas as pd
import pytest
from _helpers import N_TEST, N_TRAIN, decoder
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import ortho_group
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
    mean_squared_error,
)
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductProjection,
    RelativeProjection,
    StitchingEvaluator,
    select_anchors,
    stack_spaces,
)
from skinvariance.anchors import ANCHOR_STRATEGIES


def split(spaces, y):
    train = {name: X[:N_TRAIN] for name, X in spaces.items()}
    test = {name: X[N_TRAIN:] for name, X in spaces.items()}
    return train, y[:N_TRAIN], test, y[N_TRAIN:]


def off_diagonal(matrix):
    values = np.asarray(matrix, dtype=float)
    return values[~np.eye(values.shape[0], dtype=bool)]


def signed_permutation(X, rng):
    d = X.shape[1]
    return X[:, rng.permutation(d)] * rng.choice([-1.0, 1.0], size=d)


# -- invariances: relative projections stitch where absolute spaces do not --------------------


def test_cosine_stitches_across_orthogonal_maps_and_rescaling(stitching_data):
    X, y = stitching_data
    spaces = {
        "base": X,
        "rotated": 2.5 * X @ ortho_group.rvs(16, random_state=1),
        "reflected": 0.4 * X @ ortho_group.rvs(16, random_state=2),
    }
    train, y_train, test, y_test = split(spaces, y)

    ev = StitchingEvaluator(RelativeProjection("cosine"), decoder(), anchors=60, random_state=0)
    matrix = ev.fit(train, y_train).stitching_matrix(test, y_test)
    # oracle for the non-stitched score: the same pipeline put together by hand
    anchors = train["base"][select_anchors(train["base"], 60, random_state=0)]
    rel = RelativeProjection("cosine").fit(anchors)
    by_hand = decoder().fit(rel.transform(train["base"]), y_train)
    expected = accuracy_score(y_test, by_hand.predict(rel.transform(test["base"])))
    assert matrix.loc["base", "base"] == pytest.approx(expected)
    assert expected > 0.85
    # every zero-shot score equals the non-stitched score (at most one test sample apart)
    assert np.abs(matrix.to_numpy() - expected).max() <= 1 / N_TEST
    assert ev.score(test, y_test) == pytest.approx(np.mean(off_diagonal(matrix)))

    absolute = StitchingEvaluator(None, decoder(), random_state=0).fit(train, y_train)
    matrix = absolute.stitching_matrix(test, y_test)
    assert np.diag(matrix).min() > 0.85
    # about chance (three balanced classes) once the decoder reads another space
    assert abs(absolute.score(test, y_test) - 1 / 3) < 0.2


@pytest.mark.parametrize("kernel", ["l1", "linf"])
def test_l1_linf_stitch_across_signed_permutations_and_translations(stitching_data, kernel):
    X, y = stitching_data
    rng = np.random.default_rng(3)
    spaces = {
        "base": X,
        "permuted": signed_permutation(X, rng) + rng.normal(scale=5.0, size=16),
        "permuted_2": signed_permutation(X, rng) - 7.0,
    }
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(RelativeProjection(kernel), decoder(), anchors=60, random_state=0)
    matrix = ev.fit(train, y_train).stitching_matrix(test, y_test).to_numpy()
    assert matrix[0, 0] > 0.8
    assert np.abs(matrix - matrix[0, 0]).max() <= 1 / N_TEST

    # cosine is not invariant to the translation: the same spaces do not stitch
    cosine = StitchingEvaluator(RelativeProjection("cosine"), decoder(), anchors=60,
                                random_state=0)
    cosine.fit(train, y_train)
    assert cosine.score(test, y_test) < matrix[0, 0] - 0.15


def test_centering_rescues_cosine_under_translation(stitching_data):
    X, y = stitching_data
    rng = np.random.default_rng(4)
    spaces = {
        "base": X,
        "moved": X @ ortho_group.rvs(16, random_state=5) + rng.normal(scale=8.0, size=16),
    }
    train, y_train, test, y_test = split(spaces, y)
    plain = StitchingEvaluator(RelativeProjection("cosine"), decoder(), anchors=60)
    centred = StitchingEvaluator(RelativeProjection("cosine", center=True), decoder(), anchors=60)
    plain_matrix = plain.fit(train, y_train).stitching_matrix(test, y_test).to_numpy()
    centred_matrix = centred.fit(train, y_train).stitching_matrix(test, y_test).to_numpy()
    assert np.abs(centred_matrix - centred_matrix[0, 0]).max() <= 1 / N_TEST
    assert centred_matrix[0, 0] > 0.85
    assert off_diagonal(plain_matrix).mean() < np.diag(plain_matrix).min() - 0.15


def test_alignments_stitch_by_mapping_the_encoder_into_the_decoder_space(stitching_data):
    X, y = stitching_data
    rng = np.random.default_rng(6)
    general = rng.normal(size=(16, 16))  # invertible with probability one, not orthogonal
    spaces = {
        "base": X,
        "rigid": X @ ortho_group.rvs(16, random_state=7) + 3.0,
        "affine": X @ general - 2.0,
    }
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(AffineAlignment(), decoder(), anchors=60, random_state=0)
    matrix = ev.fit(train, y_train).stitching_matrix(test, y_test)
    assert ev.kind_ == "alignment"
    assert set(ev.alignments_) == {(i, j) for i in spaces for j in spaces if i != j}
    # oracle: each entry is the decoder of j on space i mapped into j
    for i in spaces:
        for j in spaces:
            Z = test[i] if i == j else ev.alignments_[i, j].transform(test[i])
            expected = accuracy_score(y_test, ev.decoders_[j].predict(Z))
            assert matrix.loc[i, j] == pytest.approx(expected)
    assert np.abs(off_diagonal(matrix) - matrix.loc["base", "base"]).max() <= 2 / N_TEST

    # orthogonal Procrustes undoes the rigid map, not the general one
    orthogonal = StitchingEvaluator(OrthogonalAlignment(), decoder(), anchors=60, random_state=0)
    matrix = orthogonal.fit(train, y_train).stitching_matrix(test, y_test)
    assert abs(matrix.loc["rigid", "base"] - matrix.loc["base", "base"]) <= 1 / N_TEST
    assert abs(matrix.loc["base", "rigid"] - matrix.loc["rigid", "rigid"]) <= 1 / N_TEST


def test_alignment_stitches_spaces_of_different_widths(stitching_data):
    X, y = stitching_data
    # 16 -> 24 columns with orthonormal rows: an isometric embedding into a wider space
    W = ortho_group.rvs(24, random_state=8)[:16]
    spaces = {"narrow": X, "wide": X @ W}
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(OrthogonalAlignment(), decoder(), anchors=60, random_state=0)
    matrix = ev.fit(train, y_train).stitching_matrix(test, y_test).to_numpy()
    # each decoder scores the other space as well as its own
    assert np.abs(matrix - np.diag(matrix)[None, :]).max() <= 1 / N_TEST


def test_absolute_spaces_of_different_widths_score_nan_with_a_warning(stitching_data):
    X, y = stitching_data
    spaces = {"a": X, "b": X[:, :10], "c": X @ ortho_group.rvs(16, random_state=9)}
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(None, decoder()).fit(train, y_train)
    with pytest.warns(UserWarning, match=r"4 encoder/decoder pair\(s\) cannot be stitched"):
        matrix = ev.stitching_matrix(test, y_test)
    assert np.isnan(matrix.loc["a", "b"]) and np.isnan(matrix.loc["b", "c"])
    for i, j in [("a", "c"), ("c", "a"), ("b", "b")]:
        expected = accuracy_score(y_test, ev.decoders_[j].predict(test[i]))
        assert matrix.loc[i, j] == pytest.approx(expected)
    with pytest.warns(UserWarning, match="cannot be stitched"):
        score = ev.score(test, y_test)
    assert score == pytest.approx((matrix.loc["a", "c"] + matrix.loc["c", "a"]) / 2)

    only_different = {"a": train["a"], "b": train["b"]}
    ev = StitchingEvaluator(None, decoder()).fit(only_different, y_train)
    with pytest.warns(UserWarning, match="cannot be stitched"):
        assert np.isnan(ev.score({"a": test["a"], "b": test["b"]}, y_test))


def test_reconstruction_with_a_two_dimensional_target(stitching_data):
    X, y = stitching_data
    rng = np.random.default_rng(24)
    # what the decoder reconstructs: 6 outputs, linear in the base space plus noise
    target = X @ rng.normal(size=(16, 6)) + rng.normal(scale=0.1, size=(len(X), 6))
    spaces = {
        "base": X,
        "rotated": 3.0 * X @ ortho_group.rvs(16, random_state=10),
        "rotated_2": X @ ortho_group.rvs(16, random_state=11),
    }
    train, t_train, test, t_test = split(spaces, target)
    ev = StitchingEvaluator(RelativeProjection("cosine"), Ridge(), anchors=80, random_state=0)
    matrix = ev.fit(train, t_train).stitching_matrix(test, t_test)
    assert ev.scorer_name_ == "neg_mean_squared_error"
    for i in spaces:
        for j in spaces:
            Z = ev.projections_[i].transform(test[i])
            mse = mean_squared_error(t_test, ev.decoders_[j].predict(Z))
            assert matrix.loc[i, j] == pytest.approx(-mse)
    assert_allclose(matrix.to_numpy(), matrix.loc["base", "base"], rtol=1e-6)

    absolute = StitchingEvaluator(None, Ridge()).fit(train, t_train)
    matrix = absolute.stitching_matrix(test, t_test)
    # minus signs: a stitched MSE at least five times the non-stitched one
    assert off_diagonal(matrix).max() < 5 * np.diag(matrix).min()
    assert (matrix.to_numpy() < 0).all()


# -- model selection -----------------------------------------------------------------------


def test_gridsearch_picks_the_invariant_product(stitching_data):
    """Spaces related by rotation, translation and isotropic scaling: only the euclidean
    subspace (standardised per sample by ProductProjection) is invariant to all three."""
    X, y = stitching_data
    rng = np.random.default_rng(12)
    spaces = {
        "base": X,
        "moved": 2.0 * X @ ortho_group.rvs(16, random_state=13) + rng.normal(scale=3, size=16),
        "moved_2": 0.5 * X @ ortho_group.rvs(16, random_state=14) - 4.0,
    }
    frame = stack_spaces(spaces)
    ev = StitchingEvaluator(ProductProjection(["cosine"]), decoder(), anchors=60, random_state=0)
    grid = {
        "projection__projections": [["cosine"], ["l1"], ["linf"], ["euclidean"], ["cosine", "l1"]],
        "projection__aggregate": ["concat", "sum"],
    }
    search = GridSearchCV(ev, grid, cv=3).fit(frame, y)
    assert len(search.cv_results_["params"]) == 10
    assert search.best_params_["projection__projections"] == ["euclidean"]
    best = search.best_estimator_
    assert best.projection.projections == ["euclidean"]
    assert all(p.aggregate == best.projection.aggregate for p in best.projections_.values())
    # the best zero-shot score is the non-stitched one
    matrix = best.stitching_matrix(frame, y).to_numpy()
    assert np.abs(matrix - matrix[0, 0]).max() <= 1 / len(y)
    # the aggregate reaches the fitted projections: concat and sum differ for two kernels
    results = pd.DataFrame(search.cv_results_)
    two = results[results["param_projection__projections"].map(len) == 2]
    assert two["mean_test_score"].nunique() == 2


def test_dataframe_and_mapping_give_the_same_results(stitching_data):
    X, y = stitching_data
    spaces = {"a": X, "b": X @ ortho_group.rvs(16, random_state=15)}
    ev = StitchingEvaluator(RelativeProjection("euclidean"), decoder(), anchors=40, random_state=0)
    from_mapping = clone(ev).fit(spaces, y).stitching_matrix(spaces, y)
    from_frame = clone(ev).fit(stack_spaces(spaces), y).stitching_matrix(stack_spaces(spaces), y)
    pd.testing.assert_frame_equal(from_mapping, from_frame)


# -- parallel anchors ------------------------------------------------------------------------


class Recorder(TransformerMixin, BaseEstimator):
    """A transformer that remembers the rows it was fitted on."""

    def fit(self, X, y=None):
        self.seen_ = np.array(X, copy=True)
        return self

    def transform(self, X):
        return np.asarray(X)


class RecordingAlignment(Recorder):
    """An alignment (its fit needs a target) that remembers both sides."""

    def fit(self, X, y):
        self.seen_ = (np.array(X, copy=True), np.array(y, copy=True))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


@pytest.mark.parametrize("strategy", ANCHOR_STRATEGIES)
def test_parallel_anchors_are_the_same_rows_in_every_space(stitching_data, strategy):
    X, y = stitching_data
    spaces = {"first": X, "second": 2.0 * X[:, ::-1] + 1.0, "third": np.tanh(X[:, :5])}
    ev = StitchingEvaluator(
        Recorder(), decoder(), anchors=25, anchor_selection=strategy, random_state=0
    ).fit(spaces, y)
    expected = select_anchors(X, 25, strategy=strategy, y=y, random_state=0)
    assert_array_equal(ev.anchor_indices_, expected)
    assert len(set(ev.anchor_indices_.tolist())) == 25
    for name, space in spaces.items():
        assert_array_equal(ev.projections_[name].seen_, space[expected])

    aligned = StitchingEvaluator(
        RecordingAlignment(), decoder(), anchors=25, anchor_selection=strategy, random_state=0
    ).fit(spaces, y)
    assert_array_equal(aligned.anchor_indices_, expected)
    for (i, j), alignment in aligned.alignments_.items():
        assert_array_equal(alignment.seen_[0], spaces[i][expected])
        assert_array_equal(alignment.seen_[1], spaces[j][expected])


def test_explicit_anchor_indices(stitching_data):
    X, y = stitching_data
    spaces = {"a": X, "b": -X}
    rows = np.array([5, 0, 17, 250])
    ev = StitchingEvaluator(Recorder(), decoder(), anchors=rows).fit(spaces, y)
    assert_array_equal(ev.anchor_indices_, rows)
    assert_array_equal(ev.projections_["b"].seen_, -X[rows])


def test_projection_subsets_anchors_identically_in_every_space(stitching_data):
    """A projection choosing its own anchors among the parallel ones, with no random_state,
    still chooses the same rows in every space."""
    X, y = stitching_data
    spaces = {"a": X, "b": 3.0 * X @ ortho_group.rvs(16, random_state=16)}
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(RelativeProjection("cosine", n_anchors=20), decoder(), anchors=100)
    ev.fit(train, y_train)
    assert ev.projection.random_state is None  # the parameter itself is untouched
    assert_array_equal(ev.projections_["a"].anchor_indices_, ev.projections_["b"].anchor_indices_)
    matrix = ev.stitching_matrix(test, y_test).to_numpy()
    assert np.abs(matrix - matrix[0, 0]).max() <= 1 / N_TEST


# -- scoring, results table, parallelism ---------------------------------------------------


def test_scoring_strings_and_callables(stitching_data):
    X, y = stitching_data
    spaces = {"a": X, "b": X @ ortho_group.rvs(16, random_state=17)}
    train, y_train, test, y_test = split(spaces, y)
    ev = StitchingEvaluator(None, decoder(), scoring="f1_macro").fit(train, y_train)
    matrix = ev.stitching_matrix(test, y_test)
    expected = f1_score(y_test, ev.decoders_["a"].predict(test["b"]), average="macro")
    assert matrix.loc["b", "a"] == pytest.approx(expected)
    assert set(ev.stitching_scores(test, y_test)["scorer"]) == {"f1_macro"}

    scorer = make_scorer(balanced_accuracy_score)
    ev = StitchingEvaluator(None, decoder(), scoring=scorer).fit(train, y_train)
    matrix = ev.stitching_matrix(test, y_test)
    expected = balanced_accuracy_score(y_test, ev.decoders_["b"].predict(test["a"]))
    assert matrix.loc["a", "b"] == pytest.approx(expected)
    assert "balanced_accuracy_score" in ev.scorer_name_


def test_stitching_scores_are_the_matrix_in_long_form(stitching_data):
    X, y = stitching_data
    spaces = {"x": X, "y": X @ ortho_group.rvs(16, random_state=18), "z": -X}
    ev = StitchingEvaluator(RelativeProjection("l1"), decoder(), anchors=30, random_state=0)
    matrix = ev.fit(spaces, y).stitching_matrix(spaces, y)
    results = ev.stitching_scores(spaces, y)
    assert not hasattr(ev, "results_")  # scoring sets no fitted attribute
    assert list(results.columns) == ["encoder", "decoder", "stitched", "score", "scorer"]
    assert len(results) == 9
    assert (results["stitched"] == (results["encoder"] != results["decoder"])).all()
    assert set(results["scorer"]) == {"accuracy"}
    back = results.pivot(index="encoder", columns="decoder", values="score")
    pd.testing.assert_frame_equal(back.loc[matrix.index, matrix.columns], matrix)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_parallel_jobs_give_the_same_matrix(stitching_data, n_jobs):
    """Threads (the default) and joblib's workers give the matrix fitted one after the other."""
    X, y = stitching_data
    spaces = {"a": X, "b": 2 * X, "c": X @ ortho_group.rvs(16, random_state=19)}
    serial = StitchingEvaluator(OrthogonalAlignment(), decoder(), anchors=50, random_state=0,
                                n_jobs=1)
    parallel = clone(serial).set_params(n_jobs=n_jobs)
    pd.testing.assert_frame_equal(
        serial.fit(spaces, y).stitching_matrix(spaces, y),
        parallel.fit(spaces, y).stitching_matrix(spaces, y),
    )


# -- scikit-learn API (the generic checks assume a single array X) ------------------------


def test_clone_get_set_params_and_pickle(stitching_data):
    X, y = stitching_data
    ev = StitchingEvaluator(
        ProductProjection(["cosine", "l1"]), RidgeClassifier(alpha=0.5), anchors=40, random_state=3
    )
    params = ev.get_params(deep=True)
    assert params["projection__aggregate"] == "concat"
    assert params["decoder__alpha"] == 0.5
    assert params["anchors"] == 40
    cloned = clone(ev)
    assert cloned.projection is not ev.projection
    assert cloned.get_params(deep=False).keys() == ev.get_params(deep=False).keys()
    cloned.set_params(projection__aggregate="sum", decoder__alpha=2.0, anchors=30)
    assert cloned.projection.aggregate == "sum"
    assert cloned.decoder.alpha == 2.0
    assert ev.projection.aggregate == "concat"  # the original is untouched

    spaces = {"a": X, "b": X[:, ::-1]}
    fitted = ev.fit(spaces, y)
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(
        restored.stitching_matrix(spaces, y), fitted.stitching_matrix(spaces, y)
    )
    assert fitted.__sklearn_tags__().target_tags.required


def test_projection_kinds(stitching_data):
    X, y = stitching_data
    spaces = {"a": X, "b": X}
    kinds = {
        "none": (None, "absolute"),
        "relative": (RelativeProjection(), "projection"),
        "pipeline": (make_pipeline(StandardScaler(), RelativeProjection()), "projection"),
        "sklearn_transformer": (Normalizer(), "projection"),
        "alignment": (OrthogonalAlignment(), "alignment"),
        "pipeline_alignment": (make_pipeline(StandardScaler(), AffineAlignment()), "alignment"),
    }
    for projection, kind in kinds.values():
        ev = StitchingEvaluator(projection, decoder(), anchors=30, random_state=0).fit(spaces, y)
        assert ev.kind_ == kind


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_spaces, y_rows, params, error, match",
    [
        (
            lambda X: {"a": X, "b": X[:-1]},
            400,
            {},
            ValueError,
            "space 'b' has 399 rows but space 'a' has 400",
        ),
        (lambda X: {"a": X}, 400, {}, ValueError, r"at least 2 spaces; got 1 \('a'\)"),
        (
            lambda X: {"a": X, "b": X},
            399,
            {},
            ValueError,
            "y has 399 rows but the spaces have 400 rows",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"anchors": 500},
            ValueError,
            "asks for 500 anchors, but only 400 training rows",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"anchors": [3, 400]},
            ValueError,
            "row index 400, out of range for 400 training rows",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"anchors": [3, 3]},
            ValueError,
            "'anchors' parameter of StitchingEvaluator repeats a row index",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"anchors": [0.5, 1.5]},
            ValueError,
            "integer row indices. Got an array of shape \\(2,\\) and dtype float64",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"projection": LogisticRegression()},
            ValueError,
            r"'projection' parameter of StitchingEvaluator must be an object implementing "
            r"'fit' and 'transform' or None. Got LogisticRegression\(\) instead",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"decoder": StandardScaler()},
            ValueError,
            r"'decoder' parameter of StitchingEvaluator .* Got StandardScaler\(\) instead",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"scoring": "not_a_scorer"},
            ValueError,
            "'scoring' parameter of StitchingEvaluator must be",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"anchor_selection": "densest"},
            ValueError,
            "'anchor_selection' parameter of StitchingEvaluator must be a str among",
        ),
        (
            lambda X: {"a": X, "b": X},
            400,
            {"decoder": Ridge(), "scoring": "roc_auc"},
            ValueError,
            r"'scoring' parameter of StitchingEvaluator \('roc_auc'\) cannot score the "
            r"decoder Ridge\(\)",
        ),
    ],
)
def test_fit_bad_input(stitching_data, make_spaces, y_rows, params, error, match):
    X, y = stitching_data
    ev = StitchingEvaluator(RelativeProjection(), decoder(), anchors=20).set_params(**params)
    with pytest.raises(error, match=match):
        ev.fit(make_spaces(X), y[:y_rows])


def test_scorer_that_does_not_fit_a_regression_target(stitching_data):
    X, _ = stitching_data
    target = X[:, :3]
    ev = StitchingEvaluator(None, Ridge(), scoring="accuracy")
    with pytest.raises(ValueError, match=r"\('accuracy'\) cannot score the decoder Ridge\(\)"):
        ev.fit({"a": X, "b": X}, target)


def test_scoring_before_fit_and_mismatched_spaces(stitching_data):
    X, y = stitching_data
    ev = StitchingEvaluator(RelativeProjection(), decoder(), anchors=20)
    with pytest.raises(NotFittedError):
        ev.stitching_matrix({"a": X, "b": X}, y)
    ev.fit({"a": X, "b": X}, y)
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        ev.stitching_matrix({"a": X, "c": X}, y)
    with pytest.raises(ValueError, match="Space 'b' of spaces has 15 features, but"):
        ev.score({"a": X, "b": X[:, 1:]}, y)
    with pytest.raises(ValueError, match="y has 10 rows but the spaces have 400 rows"):
        ev.score({"a": X, "b": X}, y[:10])
