"""make_evaluator: any row of compare_invariances' table, deployed as it was scored.

The oracle is the table itself: fitted on the split's training rows, the evaluator must score
the test rows as the comparison did, for every default row, with class labels and with a
continuous target; and, for the learned row, the evaluator written out by hand from the
documentation of default_invariances.
"""

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import ortho_group
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

import skinvariance
from skinvariance import (
    AffineAlignment,
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    make_evaluator,
)
from skinvariance.stitching import default_invariances
from skinvariance.stitching._rows import describe_decoder

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

SEED = 3
ANCHORS = 40


def _seed(random_state):
    """The one seed compare_invariances draws from its random_state (its documented rule)."""
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


def _problem(target):
    """Three row-aligned spaces (the third narrower, so absolute pairs with it are NaN), a
    target of the given kind, and one explicit split."""
    X, labels = make_classification(n_samples=160, n_features=8, n_informative=6, n_classes=3,
                                    n_clusters_per_class=1, random_state=0)
    spaces = {
        "a": X,
        "b": 2.0 * X @ ortho_group.rvs(8, random_state=1),
        "c": np.tanh(X @ ortho_group.rvs(8, random_state=2)[:, :6]),
    }
    y = labels if target == "classes" else X[:, 0] + 0.5 * X[:, 1] ** 2
    order = np.random.default_rng(0).permutation(160)
    return spaces, y, (order[:120], order[120:])


def _rows(spaces, rows):
    return {name: X[rows] for name, X in spaces.items()}


def _matrix(ev, spaces, y, test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # absolute pairs of different widths
        return ev.stitching_matrix(_rows(spaces, test), y[test]).to_numpy()


def _off_diagonal_mean(matrix):
    values = matrix[~np.eye(len(matrix), dtype=bool)]
    values = values[~np.isnan(values)]
    return float(np.mean(values)) if values.size else np.nan


@pytest.fixture(scope="module", params=["classes", "continuous"])
def deployed(request):
    """The comparison of the default rows on one split, and every row's deployed evaluator
    fitted on that split's training rows."""
    spaces, y, (train, test) = _problem(request.param)
    table = compare_invariances(spaces, y, metrics=[], anchors=ANCHORS, cv=[(train, test)],
                                random_state=SEED).set_index("invariance")
    fitted = {
        name: make_evaluator(name, y[train], anchors=ANCHORS, random_state=SEED).fit(
            _rows(spaces, train), y[train])
        for name in table.index
    }
    return spaces, y, train, test, table, fitted


def test_every_default_row_is_deployed_as_it_was_scored(deployed):
    spaces, y, train, test, table, fitted = deployed
    assert list(table.index) == list(default_invariances(y))
    for name, ev in fitted.items():
        row = table.loc[name]
        matrix = _matrix(ev, spaces, y, test)
        stitching = _off_diagonal_mean(matrix)
        if np.isnan(row["stitching_mean"]):
            assert np.isnan(stitching), name
        else:
            assert stitching == pytest.approx(row["stitching_mean"], abs=1e-12), name
        assert np.mean(np.diag(matrix)) == pytest.approx(row["non_stitched_mean"], abs=1e-12)
        assert ev.kind_ == row["kind"]
        assert describe_decoder(ev.decoder) == row["decoder"]
        assert ev.scorer_name_ == table.attrs["scorer"]
        assert ev.anchor_indices_.size == ANCHORS


def test_the_learned_row_is_the_documented_evaluator(deployed):
    spaces, y, train, test, _, fitted = deployed
    kernels = ["cosine", "euclidean", "l1", "linf"]
    learned = ProductRegressor if y.dtype.kind == "f" else ProductClassifier
    by_hand = StitchingEvaluator(
        ProductProjection(kernels),
        learned(n_subspaces=4, aggregate="mlp_sum", random_state=_seed(SEED)),
        anchors=ANCHORS, random_state=_seed(SEED),
    ).fit(_rows(spaces, train), y[train])
    assert_array_equal(_matrix(fitted["product_mlp_sum"], spaces, y, test),
                       _matrix(by_hand, spaces, y, test))


@pytest.mark.parametrize(
    "name", ["absolute", "relative_cosine", "product_mlp_sum", "affine_ridge"])
def test_the_deployed_pipeline_survives_joblib(deployed, name, tmp_path):
    spaces, y, train, test, _, fitted = deployed
    ev = fitted[name]
    later = 3.0 * spaces["b"]  # a model that was in no fit, as wide as "b"
    model = ev.stitch("b", later[train][ev.anchor_indices_])
    assert isinstance(model, Pipeline)
    joblib.dump(model, tmp_path / "model.joblib")
    reloaded = joblib.load(tmp_path / "model.joblib")
    assert_array_equal(reloaded.predict(later[test]), model.predict(later[test]))
    if ev.kind_ == "projection":  # scale invariant: "b"'s decoder reads it as it reads "b"
        assert ev.scorer_(model, later[test], y[test]) == pytest.approx(
            _matrix(ev, spaces, y, test)[1, 1], abs=1e-9)


def test_user_rows_and_pairs():
    spaces, y, (train, test) = _problem("classes")
    sgd = SGDClassifier(max_iter=50, tol=None)  # its random_state is unset: the seed fixes it
    invariances = {
        "absolute": None,
        "cosine_knn": (RelativeProjection("cosine"), KNeighborsClassifier(n_neighbors=3)),
        "affine": AffineAlignment(),
        "none_sgd": (None, sgd),
    }
    table = compare_invariances(spaces, y, invariances, decoder="ridge", metrics=[],
                                anchors=300, cv=[(train, test)], random_state=SEED)
    for name in invariances:
        ev = make_evaluator(name, y[train], invariances, decoder="ridge", anchors=300,
                            random_state=SEED)
        assert ev.anchors == train.size  # fewer training rows than anchors: all of them
        ev.fit(_rows(spaces, train), y[train])
        row = table.set_index("invariance").loc[name]
        assert _off_diagonal_mean(_matrix(ev, spaces, y, test)) == pytest.approx(
            row["stitching_mean"], abs=1e-12, nan_ok=True)
        assert describe_decoder(ev.decoder) == row["decoder"]
    pair = make_evaluator("none_sgd", y, invariances, random_state=SEED)
    assert pair.projection is None
    assert pair.decoder.get_params() == {**sgd.get_params(), "random_state": _seed(SEED)}
    assert pair.decoder is not sgd and sgd.random_state is None  # the row is left as it was
    assert make_evaluator("cosine_knn", y, invariances).projection is not \
        invariances["cosine_knn"][0]


def test_a_two_dimensional_target():
    spaces, _, (train, test) = _problem("continuous")
    y = spaces["a"][:, :3]  # reconstruct three of the inputs
    defaults = default_invariances(y)
    invariances = {name: defaults[name] for name in ("product_mlp_sum", "affine_ridge")}
    table = compare_invariances(spaces, y, invariances, metrics=[], anchors=ANCHORS,
                                cv=[(train, test)], random_state=SEED)
    for position, name in enumerate(invariances):
        ev = make_evaluator(name, y[train], invariances, anchors=ANCHORS, random_state=SEED)
        ev.fit(_rows(spaces, train), y[train])
        assert _off_diagonal_mean(_matrix(ev, spaces, y, test)) == pytest.approx(
            table.loc[position, "stitching_mean"], abs=1e-12)
    assert type(ev.decoders_["a"]).__name__ == "Pipeline"  # ridge for the affine row
    assert ev.decoders_["a"].predict(spaces["a"][test]).shape == (test.size, 3)


def test_scoring_and_decoder_are_the_comparisons():
    _, y, _ = _problem("classes")
    ev = make_evaluator("relative_cosine", y, decoder="knn", scoring="f1_macro",
                        anchors=30, random_state=0)
    assert ev.scoring == "f1_macro"
    assert describe_decoder(ev.decoder) == "knn (PowerOfTwoScaler)"
    assert ev.random_state == _seed(0) and ev.anchors == 30
    assert make_evaluator("product_mlp_sum", y + 0.5).decoder.__class__.__name__ == \
        "ProductRegressor"


def test_exported_from_the_package():
    assert skinvariance.make_evaluator is skinvariance.stitching.make_evaluator
    assert "make_evaluator" in skinvariance.__all__
    assert "make_evaluator" in skinvariance.stitching.__all__


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("cosine", [0, 1, 0, 1]), {}, r"The 'name' parameter of make_evaluator must be a str "
         r"among \['absolute', 'affine_ridge', 'orthogonal_standardized', 'product', "
         r"'product_mlp_sum', 'relative_cosine', .*\]\ \(the rows of invariances\)\. Got "
         r"'cosine' instead"),
        (("cosine", [0, 1, 0, 1], {"cos": None}), {},
         r"must be a str among \['cos'\] \(the rows of invariances\)"),
        ((3, [0, 1, 0, 1]), {}, r"The 'name' parameter of make_evaluator must be an instance "
         r"of 'str'"),
        (("absolute", None), {}, r"The 'y' parameter of make_evaluator must be an array-like"),
        (("absolute", [0, 1, 0, 1]), {"decoder": "mlp"},
         r"The 'decoder' parameter of make_evaluator must be a str among"),
        (("absolute", [0, 1, 0, 1]), {"scoring": "accuracy_score"},
         r"The 'scoring' parameter of make_evaluator must be a str among"),
        (("absolute", [0, 1, 0, 1]), {"anchors": 0},
         r"The 'anchors' parameter of make_evaluator must be at least 1 with pairing='given'"),
        (("absolute", [0, 1, 0, 1]), {"anchors": True},
         r"The 'anchors' parameter of make_evaluator must be an int in the range \[0, inf\)"),
        (("absolute", [0, 1, 0, 1]), {"pairing": "matched"},
         r"The 'pairing' parameter of make_evaluator must be a str among"),
        (("absolute", [0, 1, 0, 1]), {"random_state": "0"},
         r"The 'random_state' parameter of make_evaluator must be"),
        (("absolute", [0, 1, 0, 1], {}), {},
         r"The 'invariances' parameter of make_evaluator must be None or a non-empty mapping"),
        (("absolute", [0, 1, 0, 1], [None]), {},
         r"The 'invariances' parameter of make_evaluator must be an instance of "
         r"'collections.abc.Mapping' or None"),
        (("absolute", [0, 1, np.nan, 1]), {}, r"y contains NaN"),
    ],
)
def test_bad_arguments_name_the_parameter(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_evaluator(*args, **kwargs)
