"""StitchingEvaluator.stitch: a fitted space's decoder deployed on a model that came later."""

import pickle

import numpy as np
import pytest
from _helpers import N_TEST, N_TRAIN, decoder
from numpy.testing import assert_array_equal
from scipy.stats import ortho_group
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductProjection,
    RelativeProjection,
    StitchingEvaluator,
)
from skinvariance._validation import DataError
from skinvariance.datasets import make_model_zoo


def split(spaces, y):
    train = {name: X[:N_TRAIN] for name, X in spaces.items()}
    test = {name: X[N_TRAIN:] for name, X in spaces.items()}
    return train, y[:N_TRAIN], test, y[N_TRAIN:]


def related_spaces(X):
    """Three row-aligned spaces of one width: the base, a rotated and rescaled copy, and a
    general linear map of it (which only an affine alignment undoes)."""
    general = np.random.default_rng(6).normal(size=(16, 16))
    return {
        "base": X,
        "rotated": 2.5 * X @ ortho_group.rvs(16, random_state=1),
        "linear": X @ general - 2.0,
    }


PROJECTIONS = {
    "relative": RelativeProjection("cosine"),
    "product": ProductProjection(["cosine", "l1"]),
    # selects 30 of the 60 anchors by class: needs the fixed seed and the anchors' target
    "subset": RelativeProjection("euclidean", n_anchors=30, anchor_selection="stratified"),
    "pipeline": make_pipeline(StandardScaler(), RelativeProjection("l1")),
    "affine": AffineAlignment(),
    "orthogonal": OrthogonalAlignment(),
    "absolute": None,
}


@pytest.mark.parametrize("projection", PROJECTIONS.values(), ids=PROJECTIONS.keys())
def test_stitching_a_fitted_space_reproduces_the_stitching_matrix(stitching_data, projection):
    X, y = stitching_data
    train, y_train, test, y_test = split(related_spaces(X), y)
    ev = StitchingEvaluator(projection, decoder(), anchors=60, random_state=0)
    matrix = ev.fit(train, y_train).stitching_matrix(test, y_test)
    for encoder in ev.space_names_:
        for space in ev.space_names_:
            if ev.kind_ == "alignment" and encoder == space:
                continue  # the matrix's diagonal reads the space itself, with no map
            model = ev.stitch(space, train[encoder][ev.anchor_indices_])
            assert isinstance(model, Pipeline)
            assert ev.scorer_(model, test[encoder], y_test) == pytest.approx(
                matrix.loc[encoder, space]
            )
            # oracle of the predictions: the evaluator's own fitted pieces, put together
            if ev.kind_ == "projection":
                Z = ev.projections_[encoder].transform(test[encoder])
            elif ev.kind_ == "alignment":
                Z = ev.alignments_[encoder, space].transform(test[encoder])
            else:
                Z = test[encoder]
            assert_array_equal(model.predict(test[encoder]), ev.decoders_[space].predict(Z))


@pytest.mark.parametrize(
    ("projection", "steps"),
    [
        (RelativeProjection("cosine", n_anchors=20), ["projection", "decoder"]),
        (AffineAlignment(), ["alignment", "decoder"]),
        (None, ["decoder"]),
    ],
)
def test_the_pipeline_holds_copies_fitted_on_the_new_anchors(stitching_data, projection, steps):
    X, y = stitching_data
    train, y_train, _, _ = split(related_spaces(X), y)
    ev = StitchingEvaluator(projection, decoder(), anchors=60, random_state=0).fit(train, y_train)
    new_anchors = 3.0 * train["rotated"][ev.anchor_indices_]
    model = ev.stitch("base", new_anchors)
    assert [name for name, _ in model.steps] == steps
    # what the base decoder reads of the base space
    Z = ev.projections_["base"].transform(train["base"]) if ev.projections_ else train["base"]
    copied = model.named_steps["decoder"]
    assert copied is not ev.decoders_["base"]
    assert_array_equal(copied.predict(Z), ev.decoders_["base"].predict(Z))
    for name, _ in model.steps[:-1]:
        assert model.named_steps[name].n_features_in_ == 16
    if ev.kind_ == "projection":
        fitted = model.named_steps["projection"]
        # the same fixed seed as the evaluator's projections (not None), new anchors
        assert fitted.random_state == ev.projections_["base"].random_state is not None
        assert_array_equal(fitted.anchors_, new_anchors[fitted.anchor_indices_])
    assert_array_equal(ev.anchors_["rotated"], train["rotated"][ev.anchor_indices_])
    assert_array_equal(ev.anchor_target_, y_train[ev.anchor_indices_])
    # refitting the pipeline's decoder (on shuffled labels) leaves the evaluator's as it was
    before = ev.decoders_["base"].predict(Z)
    copied.fit(Z[:50], y_train[::-1][:50])
    assert not np.array_equal(copied.predict(Z), before)
    assert_array_equal(ev.decoders_["base"].predict(Z), before)


@pytest.mark.parametrize(
    "projection",
    [RelativeProjection("cosine"), OrthogonalAlignment(), None],
    ids=["relative", "alignment", "absolute"],
)
def test_pickling_round_trips(stitching_data, projection):
    X, y = stitching_data
    train, y_train, test, _ = split(related_spaces(X), y)
    probe = make_pipeline(StandardScaler(), LogisticRegression())
    ev = StitchingEvaluator(projection, probe, anchors=60, random_state=0)
    model = ev.fit(train, y_train).stitch("rotated", train["base"][ev.anchor_indices_])
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(test["base"]), model.predict(test["base"]))
    assert_array_equal(restored.predict_proba(test["base"]), model.predict_proba(test["base"]))


def test_a_new_model_is_served_by_a_decoder_trained_on_another_space(stitching_data):
    X, y = stitching_data
    train, y_train, test, y_test = split({"base": X, "rotated": related_spaces(X)["rotated"]}, y)
    # a model that arrives later: rotated, rescaled and wider (an isometric embedding of
    # 16 dimensions into 24, times 3), which the cosine kernel does not see
    W = ortho_group.rvs(24, random_state=8)[:16]
    new_train, new_test = 3.0 * X[:N_TRAIN] @ W, 3.0 * X[N_TRAIN:] @ W

    ev = StitchingEvaluator(RelativeProjection("cosine"), decoder(), anchors=60, random_state=0)
    own = ev.fit(train, y_train).stitching_matrix(test, y_test).loc["base", "base"]
    model = ev.stitch("base", new_train[ev.anchor_indices_])
    accuracy = accuracy_score(y_test, model.predict(new_test))
    assert own > 0.85
    assert abs(accuracy - own) <= 1 / N_TEST

    # an affine alignment serves a general linear map of the base space as well
    general = np.random.default_rng(9).normal(size=(16, 16))
    new_train, new_test = X[:N_TRAIN] @ general + 4.0, X[N_TRAIN:] @ general + 4.0
    aligned = StitchingEvaluator(AffineAlignment(), decoder(), anchors=60, random_state=0)
    aligned.fit(train, y_train)
    model = aligned.stitch("rotated", new_train[aligned.anchor_indices_])
    own = accuracy_score(y_test, aligned.decoders_["rotated"].predict(test["rotated"]))
    assert abs(accuracy_score(y_test, model.predict(new_test)) - own) <= 2 / N_TEST

    # the absolute decoder, fed the same new model, is near chance (three balanced classes)
    absolute = StitchingEvaluator(None, decoder(), random_state=0).fit(train, y_train)
    model = absolute.stitch("base", new_train[absolute.anchor_indices_])
    assert abs(accuracy_score(y_test, model.predict(new_test)) - 1 / 3) < 0.2


def test_a_network_not_in_the_fit_matches_the_evaluator_fitted_with_it():
    # three networks of different architectures; the third arrives after the fit
    zoo = make_model_zoo(factors="architecture", n_models=3, max_iter=30, random_state=0)
    names = list(zoo.spaces)
    rows_train, rows_test = train_test_split(
        np.arange(zoo.target.size), test_size=0.5, stratify=zoo.target, random_state=0
    )
    train = {name: Z[rows_train] for name, Z in zoo.spaces.items()}
    test = {name: Z[rows_test] for name, Z in zoo.spaces.items()}
    y_train, y_test = zoo.target[rows_train], zoo.target[rows_test]
    projection = ProductProjection(["cosine", "euclidean"])
    known = {name: train[name] for name in names[:2]}
    ev = StitchingEvaluator(projection, decoder(), anchors=100, random_state=0)
    ev.fit(known, y_train)
    new = names[2]
    model = ev.stitch(names[0], train[new][ev.anchor_indices_])
    stitched = accuracy_score(y_test, model.predict(test[new]))

    # oracle: the same evaluator fitted with the new network from the start
    everyone = StitchingEvaluator(projection, decoder(), anchors=100, random_state=0)
    matrix = everyone.fit(train, y_train).stitching_matrix(test, y_test)
    assert stitched == pytest.approx(matrix.loc[new, names[0]])
    assert stitched > 0.8  # ten digits: chance is 0.1 (0.92 when written)


# -- errors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(stitching_data):
    X, y = stitching_data
    train, y_train, _, _ = split(related_spaces(X), y)
    return {
        projection: StitchingEvaluator(
            estimator, decoder(), anchors=60, random_state=0
        ).fit(train, y_train)
        for projection, estimator in {
            "relative": RelativeProjection("cosine"),
            "normalizer": Normalizer(),
            "absolute": None,
        }.items()
    }, train


@pytest.mark.parametrize("name", ["nope", 0, None])
def test_an_unknown_decoder_space_is_named(fitted, name):
    evaluators, train = fitted
    ev = evaluators["relative"]
    message = (
        r"The 'decoder' parameter of StitchingEvaluator.stitch must be a str among "
        rf"\['base', 'linear', 'rotated'\] \(the spaces seen in fit\). Got {name!r} instead."
    )
    with pytest.raises(ValueError, match=message):
        ev.stitch(name, train["base"][ev.anchor_indices_])


@pytest.mark.parametrize(
    ("anchors", "error", "message"),
    [
        (lambda A: A[:-1], DataError,
         "anchors has 59 rows, but StitchingEvaluator was fitted with 60 anchors"),
        (lambda A: np.vstack([A, A[:1]]), DataError,
         "anchors has 61 rows, but StitchingEvaluator was fitted with 60 anchors"),
        (lambda A: np.where(np.eye(*A.shape, dtype=bool), np.nan, A), ValueError,
         "Input anchors contains NaN"),
        (lambda A: A[:, 0], ValueError, "Expected 2D array, got 1D array instead"),
        (lambda A: A[:, :0], ValueError, "0 feature"),
    ],
    ids=["fewer rows", "more rows", "nan", "1-d", "no feature"],
)
def test_bad_anchors_are_named(fitted, anchors, error, message):
    evaluators, train = fitted
    ev = evaluators["relative"]
    with pytest.raises(error, match=message):
        ev.stitch("base", anchors(train["base"][ev.anchor_indices_]))


@pytest.mark.parametrize(
    ("projection", "message"),
    [
        ("absolute", "anchors has 20 features, but the decoder of space 'base' reads 16: "
                     "absolute spaces of different widths cannot be stitched"),
        ("normalizer", r"The projection of anchors \(with 20 features\) has 20 features, but "
                       "the decoder of space 'base' reads 16"),
    ],
)
def test_a_representation_of_another_width_is_named(fitted, projection, message):
    evaluators, train = fitted
    ev = evaluators[projection]
    wider = np.hstack([train["base"], train["base"][:, :4]])[ev.anchor_indices_]
    with pytest.raises(DataError, match=message):
        ev.stitch("base", wider)
    # the same width is served
    assert ev.stitch("base", train["rotated"][ev.anchor_indices_]).predict(train["rotated"]).size


def test_new_rows_of_another_width_are_refused_by_the_projection(fitted):
    evaluators, train = fitted
    ev = evaluators["relative"]
    model = ev.stitch("base", train["rotated"][ev.anchor_indices_])
    with pytest.raises(ValueError, match="X has 15 features, but RelativeProjection is "
                                         "expecting 16 features as input"):
        model.predict(train["rotated"][:, :15])


def test_an_unfitted_evaluator_cannot_stitch(stitching_data):
    X, _ = stitching_data
    ev = StitchingEvaluator(RelativeProjection(), decoder(), anchors=10)
    with pytest.raises(NotFittedError, match="This StitchingEvaluator instance is not fitted"):
        ev.stitch("base", X[:10])
