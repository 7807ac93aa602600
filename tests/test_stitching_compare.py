"""compare_invariances: the table against the measures and decoders computed by hand."""

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import decoder
from scipy.stats import ortho_group
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    RelativeProjection,
    compare_invariances,
    stack_spaces,
)
from skinvariance.metrics import linear_cka, mean_cosine_similarity, mean_reciprocal_rank
from skinvariance.stitching import default_invariances

# -- compare_invariances -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotated_spaces(stitching_data):
    X, y = stitching_data
    spaces = {
        "base": X,
        "rotated": 2.5 * X @ ortho_group.rvs(16, random_state=20),
        "rotated_2": 0.5 * X @ ortho_group.rvs(16, random_state=21),
    }
    return spaces, y


def test_compare_invariances_default_table(rotated_spaces):
    spaces, y = rotated_spaces
    table = compare_invariances(spaces, y, anchors=60, random_state=0)
    measures = ["cka", "pearson", "cosine", "jaccard", "mrr", "stitching", "non_stitched"]
    expected_columns = ["invariance", "kind", "decoder"]
    for measure in measures:
        expected_columns += [f"{measure}_mean", f"{measure}_std"]
    assert list(table.columns) == expected_columns + ["best"]
    # with a target, the learned aggregation of the product is a row of its own
    assert list(table["invariance"]) == list(default_invariances(y))
    assert "product_mlp_sum" in list(table["invariance"])
    decoders = dict(zip(table["invariance"], table["decoder"], strict=True))
    assert decoders["product_mlp_sum"] == "ProductClassifier(mlp_sum)"
    assert decoders["product"] == decoders["absolute"] == table.attrs["decoder"]
    assert table.attrs["decoder"] == "logistic (PowerOfTwoScaler, StandardScaler)"
    assert table.attrs["stitching"] == "scored" and table.attrs["calibrated"] is False
    kinds = dict(zip(table["invariance"], table["kind"], strict=True))
    assert kinds["absolute"] == "absolute"
    assert kinds["orthogonal_standardized"] == kinds["affine_ridge"] == "alignment"
    assert kinds["relative_cosine"] == kinds["product"] == kinds["scale"] == "projection"
    assert kinds["product_mlp_sum"] == "projection"
    rows = table.set_index("invariance")

    # the best row is the highest mean zero-shot score, and only that row
    assert table["best"].sum() == 1
    assert table.loc[table["best"], "stitching_mean"].item() == table["stitching_mean"].max()
    assert table.attrs["best"] == table.loc[table["best"], "invariance"].item()
    assert table.attrs["selected_by"] == "stitching_mean"
    assert table.attrs["scorer"] == "accuracy"

    # rotations and rescalings: cosine relative spaces coincide, so every measure is perfect
    cosine = rows.loc["relative_cosine"]
    for measure in ["cka", "pearson", "cosine", "jaccard", "mrr"]:
        assert cosine[f"{measure}_mean"] == pytest.approx(1.0, abs=1e-6)
    assert cosine["stitching_mean"] == pytest.approx(cosine["non_stitched_mean"], abs=0.02)
    assert cosine["stitching_mean"] > rows.loc["absolute", "stitching_mean"] + 0.3
    # linear CKA is itself invariant to rotations and isotropic scaling (METHOD.md §6) ...
    assert rows.loc["absolute", "cka_mean"] == pytest.approx(1.0, abs=1e-6)
    # ... the matched-row cosine of the absolute spaces is not
    assert abs(rows.loc["absolute", "cosine_mean"]) < 0.5


def test_compare_invariances_values_match_the_measures(stitching_data):
    X, y = stitching_data
    rng = np.random.default_rng(22)
    rotation = ortho_group.rvs(16, random_state=22)
    spaces = {"a": X, "b": X @ rng.normal(size=(16, 16)), "c": X @ rotation}
    train, test = np.arange(100, 400), np.arange(100)
    table = compare_invariances(
        spaces,
        y,
        {"absolute": None, "orthogonal": OrthogonalAlignment()},
        metrics=["cosine", "mrr", "cka"],
        decoder=decoder(),
        anchors=1000,  # more than the training rows: every training row is an anchor
        cv=[(train, test)],
        random_state=0,
    )
    rows = table.set_index("invariance")
    pairs = [(i, j) for i in spaces for j in spaces if i != j]

    cosines = [mean_cosine_similarity(spaces[i][test], spaces[j][test]) for i, j in pairs]
    ranks = [mean_reciprocal_rank(spaces[i][test], spaces[j][test]) for i, j in pairs]
    assert rows.loc["absolute", "cosine_mean"] == pytest.approx(np.mean(cosines))
    assert rows.loc["absolute", "cosine_std"] == pytest.approx(np.std(cosines))
    assert rows.loc["absolute", "mrr_mean"] == pytest.approx(np.mean(ranks))
    assert rows.loc["absolute", "mrr_std"] == pytest.approx(np.std(ranks))

    decoders = {j: decoder().fit(spaces[j][train], y[train]) for j in spaces}
    stitched = [accuracy_score(y[test], decoders[j].predict(spaces[i][test])) for i, j in pairs]
    own = [accuracy_score(y[test], decoders[j].predict(spaces[j][test])) for j in spaces]
    assert rows.loc["absolute", "stitching_mean"] == pytest.approx(np.mean(stitched))
    assert rows.loc["absolute", "stitching_std"] == pytest.approx(np.std(stitched))
    assert rows.loc["absolute", "non_stitched_mean"] == pytest.approx(np.mean(own))

    # alignments: the source mapped into the target, against the target
    ckas = []
    for i, j in pairs:
        alignment = OrthogonalAlignment().fit(spaces[i][train], spaces[j][train])
        ckas.append(linear_cka(alignment.transform(spaces[i][test]), spaces[j][test]))
    assert rows.loc["orthogonal", "cka_mean"] == pytest.approx(np.mean(ckas))


def test_compare_invariances_custom_measure_runs_on_ordered_pairs(stitching_data):
    X, y = stitching_data
    spaces = {"w16": X, "w10": X[:, :10], "w4": X[:, :4]}
    table = compare_invariances(
        spaces,
        y,
        {"absolute": None, "cosine": RelativeProjection("cosine")},
        metrics={"width_gap": lambda A, B: A.shape[1] - B.shape[1], "cka": linear_cka},
        anchors=50,
        random_state=0,
    )
    rows = table.set_index("invariance")
    gaps = [a - b for a in (16, 10, 4) for b in (16, 10, 4) if a != b]
    assert rows.loc["absolute", "width_gap_mean"] == pytest.approx(0.0)
    assert rows.loc["absolute", "width_gap_std"] == pytest.approx(np.std(gaps))
    assert rows.loc["cosine", "width_gap_mean"] == 0.0  # relative spaces: 50 anchors each
    # absolute spaces of different widths cannot be stitched: NaN, not a number
    assert np.isnan(rows.loc["absolute", "stitching_mean"])
    assert not rows.loc["absolute", "best"]
    assert rows.loc["cosine", "best"]


def test_compare_invariances_measures_needing_equal_widths_are_nan(stitching_data):
    X, y = stitching_data
    spaces = {"w16": X, "w10": X[:, :10]}
    table = compare_invariances(
        spaces, y, {"absolute": None}, metrics=["cosine", "cka"], anchors=50, random_state=0
    )
    assert np.isnan(table.loc[0, "cosine_mean"])
    assert 0 < table.loc[0, "cka_mean"] <= 1


def test_compare_invariances_regression_and_folds(stitching_data):
    X, _ = stitching_data
    target = X[:, :4] * 2.0
    spaces = {"a": X, "b": X @ ortho_group.rvs(16, random_state=23)}
    table = compare_invariances(
        spaces,
        target,
        {"absolute": None, "cosine": RelativeProjection("cosine")},
        metrics=[],
        anchors=60,
        cv=3,
        random_state=0,
    )
    assert table.attrs["scorer"] == "neg_mean_squared_error"
    assert table.attrs["decoder"] == "ridge (PowerOfTwoScaler, StandardScaler)"
    assert list(table.columns) == [
        "invariance",
        "kind",
        "decoder",
        "stitching_mean",
        "stitching_std",
        "non_stitched_mean",
        "non_stitched_std",
        "best",
    ]
    rows = table.set_index("invariance")
    assert (table["non_stitched_mean"] < 0).all()
    assert rows.loc["cosine", "stitching_mean"] == pytest.approx(
        rows.loc["cosine", "non_stitched_mean"], rel=1e-6
    )
    assert rows.loc["absolute", "stitching_mean"] < 5 * rows.loc["absolute", "non_stitched_mean"]
    assert table.attrs["best"] == "cosine"

    # another scorer: R^2, in its place in the table and in attrs
    table = compare_invariances(
        spaces,
        target,
        {"cosine": RelativeProjection("cosine")},
        metrics=[],
        anchors=60,
        scoring="r2",
        random_state=0,
    )
    assert table.attrs["scorer"] == "r2"
    assert 0.5 < table.loc[0, "non_stitched_mean"] <= 1


def test_compare_invariances_is_reproducible(rotated_spaces):
    spaces, y = rotated_spaces
    invariances = {"l1": RelativeProjection("l1", n_anchors=20), "affine": AffineAlignment()}
    first = compare_invariances(spaces, y, invariances, anchors=40, random_state=5, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks out of a comparison
        second = compare_invariances(
            stack_spaces(spaces), y, invariances, anchors=40, random_state=5, cv=2, n_jobs=2
        )
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"metrics": ["cka", "spearman"]},
            ValueError,
            r"'metrics' parameter of compare_invariances must be a str among \[.*\]. "
            r"Got 'spearman'",
        ),
        ({"metrics": "cka"}, TypeError, "'metrics' parameter of compare_invariances"),
        ({"metrics": {"m": 3}}, TypeError, "must map str names to callables"),
        (
            {"invariances": {"bad": LogisticRegression()}},
            TypeError,
            r"invariances\['bad'\] must be None, a transformer, an alignment",
        ),
        ({"invariances": [None]}, TypeError, "'invariances' parameter of compare_invariances"),
        ({"anchors": 0}, ValueError, "'anchors' parameter of compare_invariances"),
        ({"cv": 1}, ValueError, "'cv' parameter of compare_invariances"),
        ({"decoder": StandardScaler()}, TypeError, "'decoder' parameter of compare_invariances"),
        ({"scoring": "accuracyy"}, ValueError, "'scoring' parameter of compare_invariances"),
    ],
)
def test_compare_invariances_bad_input(rotated_spaces, kwargs, error, match):
    spaces, y = rotated_spaces
    with pytest.raises(error, match=match):
        compare_invariances(spaces, y, **kwargs)


def test_compare_invariances_bad_spaces_and_target(rotated_spaces):
    spaces, y = rotated_spaces
    with pytest.raises(ValueError, match="y has 399 rows but the spaces have 400 rows"):
        compare_invariances(spaces, y[:-1])
    with pytest.raises(ValueError, match="at least 2 spaces"):
        compare_invariances({"base": spaces["base"]}, y)
    with pytest.raises(ValueError, match="No default decoder fits a 'multilabel-indicator'"):
        compare_invariances(spaces, np.eye(2, dtype=int)[np.arange(400) % 2])
