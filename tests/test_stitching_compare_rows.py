"""compare_invariances: (projection, decoder) rows, decoders by name, comparison without labels,
calibrated measures; each against the evaluator or the measure computed on its own."""

import warnings

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier

from skinvariance import (
    OrthogonalAlignment,
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
)
from skinvariance.metrics import permutation_test
from skinvariance.stitching import default_invariances, make_decoder
from skinvariance.stitching._rows import describe_decoder, resolve_invariances, row_decoders

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=160, n_features=8, n_informative=6, n_classes=3,
                               n_clusters_per_class=1, random_state=0)
    spaces = {
        "a": X,
        "b": 2.0 * X @ ortho_group.rvs(8, random_state=1),
        "c": np.tanh(X @ ortho_group.rvs(8, random_state=2)),
    }
    rng = np.random.default_rng(0)
    order = rng.permutation(160)
    return spaces, y, [(order[:120], order[120:])]


def _seed(random_state):
    """The one seed compare_invariances draws from its random_state."""
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


def _evaluator_score(spaces, y, split, projection, decoder, anchors, seed):
    """The mean zero-shot score of StitchingEvaluator on the split, computed on its own."""
    train, test = split
    evaluator = StitchingEvaluator(projection, decoder, anchors=anchors, random_state=seed)
    evaluator.fit({k: X[train] for k, X in spaces.items()}, y[train])
    return evaluator.score({k: X[test] for k, X in spaces.items()}, y[test])


# -- (projection, decoder) rows -------------------------------------------------------------


def test_a_pair_row_uses_its_own_decoder(problem):
    spaces, y, cv = problem
    knn = KNeighborsClassifier(n_neighbors=3)
    table = compare_invariances(
        spaces, y, {"cosine": RelativeProjection("cosine"),
                    "cosine_knn": (RelativeProjection("cosine"), knn)},
        metrics=["cka"], anchors=30, cv=cv, random_state=0)
    rows = table.set_index("invariance")
    assert rows.loc["cosine_knn", "decoder"] == "knn"
    assert rows.loc["cosine", "decoder"] == table.attrs["decoder"]
    expected = _evaluator_score(spaces, y, cv[0], RelativeProjection("cosine"), knn, 30,
                                _seed(0))
    assert rows.loc["cosine_knn", "stitching_mean"] == pytest.approx(expected, abs=1e-12)
    # the same projection: the same measures, whatever decodes it
    assert rows.loc["cosine_knn", "cka_mean"] == rows.loc["cosine", "cka_mean"]


@pytest.mark.parametrize(
    ("row", "error", "match"),
    [
        ((RelativeProjection(),), TypeError, r"invariances\['bad'\] must be a \(projection or "
         r"None, decoder\) pair when it is a tuple. Got a tuple of 1 items"),
        ((RelativeProjection(), RelativeProjection()), TypeError,
         r"The decoder of invariances\['bad'\] must be an estimator implementing 'fit' and "
         r"'predict'"),
        ((KNeighborsClassifier(), KNeighborsClassifier()), TypeError,
         r"invariances\['bad'\] must be None, a transformer"),
    ],
)
def test_bad_pairs_name_the_row(problem, row, error, match):
    spaces, y, _ = problem
    with pytest.raises(error, match=match):
        compare_invariances(spaces, y, {"bad": row}, metrics=["cka"], anchors=20)


def test_describe_decoder():
    assert describe_decoder(make_decoder("auto", [0.5, 1.5])) == (
        "ridge (PowerOfTwoScaler, StandardScaler)")
    assert describe_decoder(make_decoder("knn", [0, 1])) == "knn (PowerOfTwoScaler)"
    assert describe_decoder(ProductRegressor(2, aggregate="attention")) == (
        "ProductRegressor(attention)")


# -- the default learned row and decoder names ------------------------------------------------


def test_default_invariances_learned_row_follows_the_target():
    assert "product_mlp_sum" not in default_invariances()
    projection, decoder = default_invariances([0, 1, 2, 0])["product_mlp_sum"]
    assert isinstance(decoder, ProductClassifier)
    assert (decoder.n_subspaces, decoder.aggregate) == (4, "mlp_sum")
    assert projection.get_params() == default_invariances()["product"].get_params()
    assert projection.orient  # the learned aggregations need alike-oriented subspaces
    _, regressor = default_invariances(np.linspace(0, 1, 5))["product_mlp_sum"]
    assert isinstance(regressor, ProductRegressor) and regressor.n_subspaces == 4


@pytest.mark.parametrize("name", ["concat", "sum", "weighted", "mlp_sum", "attention"])
def test_make_decoder_learned_names(name):
    classifier = make_decoder(name, [0, 1, 1], n_subspaces=3)
    assert isinstance(classifier, ProductClassifier)
    assert (classifier.aggregate, classifier.n_subspaces) == (name, 3)
    regressor = make_decoder(name, np.ones((4, 2)) * [[0.5], [1], [2], [3]])
    assert isinstance(regressor, ProductRegressor) and regressor.n_subspaces == 1
    # the others are unchanged by n_subspaces
    assert repr(make_decoder("auto", [0, 1], n_subspaces=3)) == repr(make_decoder("auto", [0, 1]))


@pytest.mark.parametrize("n_subspaces", [0, -1, 1.5, True, "2"])
def test_make_decoder_bad_n_subspaces(n_subspaces):
    with pytest.raises(ValueError, match=r"The 'n_subspaces' parameter of make_decoder must be "
                                         r"an int in the range \[1, inf\)"):
        make_decoder("mlp_sum", [0, 1], n_subspaces=n_subspaces)


def test_decoder_by_name_gets_each_rows_subspaces(problem):
    spaces, y, cv = problem
    rows = resolve_invariances({"cosine": RelativeProjection("cosine"),
                                "product": ProductProjection(["cosine", "euclidean", "l1"]),
                                "product_sum": ProductProjection(["cosine", "l1"],
                                                                 aggregate="sum"),
                                "absolute": None})
    decoders, default = row_decoders(rows, "mlp_sum", y)
    assert {name: d.n_subspaces for name, d in decoders.items()} == {
        "cosine": 1, "product": 3, "product_sum": 1, "absolute": 1}
    assert default.n_subspaces == 1

    invariances = {"product": ProductProjection(["cosine", "euclidean"])}
    table = compare_invariances(spaces, y, invariances, decoder="mlp_sum", metrics=[],
                                anchors=30, cv=cv, random_state=3)
    assert table.attrs["decoder"] == "ProductClassifier(mlp_sum)"
    # the evaluator with that decoder, its random_state fixed to compare_invariances' seed
    expected = _evaluator_score(
        spaces, y, cv[0], ProductProjection(["cosine", "euclidean"]),
        ProductClassifier(n_subspaces=2, aggregate="mlp_sum", random_state=_seed(3)), 30,
        _seed(3))
    assert table.loc[0, "stitching_mean"] == pytest.approx(expected, abs=1e-12)
    again = compare_invariances(spaces, y, invariances, decoder="mlp_sum", metrics=[],
                                anchors=30, cv=cv, random_state=3)
    assert again.equals(table)


def test_bad_decoder_names(problem):
    spaces, y, _ = problem
    with pytest.raises(ValueError, match=r"The 'decoder' parameter of compare_invariances must "
                                         r"be a str among \["):
        compare_invariances(spaces, y, {"absolute": None}, decoder="mlp", anchors=20)
    with pytest.raises(ValueError, match="The 'logistic' decoder needs class labels"):
        compare_invariances(spaces, y + 0.5, {"absolute": None}, decoder="logistic",
                            anchors=20)


# -- without labels -------------------------------------------------------------------------


UNLABELLED_ROWS = {
    "absolute": None,
    "cosine": RelativeProjection("cosine"),
    "product": ProductProjection(["cosine", "euclidean"]),
    "product_knn": (ProductProjection(["cosine", "l1"]), KNeighborsClassifier()),
    "orthogonal": OrthogonalAlignment(),
}


def test_without_labels_the_measures_equal_those_with_labels(problem):
    spaces, y, cv = problem
    metrics = ["cka", "mrr", "jaccard", "procrustes"]
    labelled = compare_invariances(spaces, y, UNLABELLED_ROWS, metrics=metrics, anchors=40,
                                   cv=cv, random_state=7)
    unlabelled = compare_invariances(spaces, None, UNLABELLED_ROWS, metrics=metrics,
                                     anchors=40, cv=cv, random_state=7)
    columns = ["invariance", "kind"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
    assert list(unlabelled.columns) == [*columns, "best"]
    assert unlabelled[columns].equals(labelled[columns])
    best = unlabelled.loc[unlabelled["mrr_mean"].idxmax(), "invariance"]
    assert unlabelled.attrs == {"best": best, "selected_by": "mrr_mean",
                                "scorer": None, "decoder": None, "stitching": "not scored",
                                "calibrated": False, "pairing": "given", "sampled": None}
    assert unlabelled.loc[unlabelled["best"], "mrr_mean"].item() == unlabelled[
        "mrr_mean"].max()


def test_without_labels_splits_are_unstratified(problem):
    spaces, _, _ = problem
    table = compare_invariances(spaces, None, {"cosine": RelativeProjection("cosine")},
                                metrics=["cka"], anchors=20, cv=4, random_state=0)
    assert table.attrs["selected_by"] == "cka_mean"  # no mrr: the first measure
    assert np.isfinite(table.loc[0, "cka_mean"])


@pytest.mark.parametrize(
    ("labelled", "select_by", "column"),
    [(True, None, "stitching_mean"), (True, "non_stitched_mean", "non_stitched_mean"),
     (True, "cka_mean", "cka_mean"), (False, None, "mrr_mean"), (False, "cka_mean",
                                                                 "cka_mean")],
)
def test_select_by(problem, labelled, select_by, column):
    spaces, y, cv = problem
    table = compare_invariances(spaces, y if labelled else None, UNLABELLED_ROWS,
                                metrics=["cka", "mrr"], anchors=30, cv=cv, random_state=0,
                                select_by=select_by)
    assert table.attrs["selected_by"] == column
    assert table["best"].sum() == 1
    assert table.loc[table["best"], column].item() == table[column].max()


@pytest.mark.parametrize(
    ("labelled", "select_by"),
    [(False, "stitching_mean"), (True, "mrr"), (True, "mrr_std"), (False, 3),
     (True, "jaccard_mean")],
)
def test_bad_select_by(problem, labelled, select_by):
    spaces, y, _ = problem
    with pytest.raises(ValueError, match=r"The 'select_by' parameter of compare_invariances "
                                         r"must be None or a str among \["):
        compare_invariances(spaces, y if labelled else None, {"absolute": None},
                            metrics=["cka", "mrr"], anchors=20, select_by=select_by)


# -- calibrated measures ----------------------------------------------------------------------


@pytest.mark.parametrize("calibrate", ["zscore", True, "pvalue"])
def test_calibrated_columns_are_the_permutation_tests(problem, calibrate):
    spaces, y, cv = problem
    train, test = cv[0]
    table = compare_invariances(spaces, y, {"absolute": None}, metrics=["cka", "mrr"],
                                anchors=30, cv=cv, random_state=4, calibrate=calibrate,
                                n_permutations=49)
    mode = "zscore" if calibrate is True else calibrate
    assert table.attrs["calibrated"] == mode
    names = list(spaces)

    def calibrated(a, b, metric):
        result = permutation_test(spaces[a][test], spaces[b][test], metric, n_permutations=49,
                                  random_state=_seed(4))
        return getattr(result, mode)

    # linear CKA is symmetric: tested once per unordered pair (the first space as X)
    cka = [calibrated(a, b, "linear_cka") for i, a in enumerate(names) for b in names[i + 1:]]
    # the mean reciprocal rank is not: every ordered pair
    mrr = [calibrated(a, b, "mean_reciprocal_rank") for a in names for b in names if a != b]
    assert table.loc[0, "cka_mean"] == pytest.approx(np.mean(cka), rel=1e-12)
    assert table.loc[0, "cka_std"] == pytest.approx(np.std(cka), rel=1e-9, abs=1e-12)
    assert table.loc[0, "mrr_mean"] == pytest.approx(np.mean(mrr), rel=1e-12)
    # the stitching columns are not calibrated
    plain = compare_invariances(spaces, y, {"absolute": None}, metrics=["cka"], anchors=30,
                                cv=cv, random_state=4)
    assert table.loc[0, "stitching_mean"] == plain.loc[0, "stitching_mean"]


def test_calibration_is_deterministic_and_picks_by_pvalue(problem):
    spaces, _, cv = problem
    rows = {"absolute": None, "cosine": RelativeProjection("cosine")}
    kwargs = {"metrics": ["mrr"], "anchors": 30, "cv": cv, "n_permutations": 19}
    first = compare_invariances(spaces, None, rows, calibrate="pvalue", random_state=1,
                                **kwargs)
    second = compare_invariances(spaces, None, rows, calibrate="pvalue", random_state=1,
                                 **kwargs)
    assert first.equals(second)
    # the smallest p-value is the best row
    assert first.loc[first["best"], "mrr_mean"].item() == first["mrr_mean"].min()
    assert (first["mrr_mean"] >= 1 / 20 - 1e-12).all() and (first["mrr_mean"] <= 1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"calibrate": "z"}, r"The 'calibrate' parameter of compare_invariances must be"),
     ({"calibrate": 1.0}, r"The 'calibrate' parameter of compare_invariances must be"),
     ({"n_permutations": 0}, r"The 'n_permutations' parameter of compare_invariances must be"),
     ({"n_permutations": 1.5},
      r"The 'n_permutations' parameter of compare_invariances must be")],
)
def test_bad_calibration(problem, kwargs, match):
    spaces, y, _ = problem
    with warnings.catch_warnings(), pytest.raises(ValueError, match=match):
        compare_invariances(spaces, y, {"absolute": None}, metrics=["cka"], anchors=20,
                            **kwargs)
