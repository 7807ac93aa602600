"""match_spaces and MatchedAlignment: oracles (a rotation with rows shuffled), the blocked CSLS
against a dense computation, determinism, and bad input naming the argument."""

import pickle

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import MatchedAlignment, OrthogonalAlignment, match_spaces
from skinvariance.kernels._unit import unit_rows
from skinvariance.matching._neighbours import csls_mutual_neighbours


def _blobs(rng, n=400, d=8, n_blobs=6):
    """Blobs of unequal sizes and spreads: a structure k-means finds again in any rotation."""
    sizes = rng.multinomial(n, np.linspace(1, 3, n_blobs) / np.linspace(1, 3, n_blobs).sum())
    centres = 4.0 * rng.normal(size=(n_blobs, d))
    labels = np.repeat(np.arange(n_blobs), sizes)
    return centres[labels] + rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d)


def _rotated_and_shuffled(X, rng, noise=0.0, width=None):
    """Y = X rotated (into ``width`` columns), noise added, rows shuffled; truth[i] is the row
    of Y holding row i of X."""
    width = X.shape[1] if width is None else width
    rotation = ortho_group.rvs(width, random_state=int(rng.integers(1000)))[: X.shape[1]]
    order = rng.permutation(len(X))
    Y = (X @ rotation + noise * rng.normal(size=(len(X), width)))[order]
    return Y, np.argsort(order)


def _precision(pairs, truth):
    return np.mean(truth[pairs[:, 0]] == pairs[:, 1])


@pytest.fixture
def rotated(rng):
    X = _blobs(rng)
    Y, truth = _rotated_and_shuffled(X, rng, noise=0.05)
    return X, Y, truth


def test_seeded_recovers_a_rotation_with_rows_shuffled(rotated):
    X, Y, truth = rotated
    known = np.column_stack([np.arange(10), truth[:10]])
    pairs = match_spaces(X, Y, known, method="seeded")
    assert pairs.dtype.kind == "i" and pairs.shape[1] == 2
    np.testing.assert_array_equal(pairs[:10], known)  # kept, first, in order
    assert len(pairs) > 0.9 * len(X)
    assert _precision(pairs, truth) > 0.95
    # every row at most once on each side
    assert len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))


def test_unpaired_recovers_a_rotation_without_any_pair(rotated):
    X, Y, truth = rotated
    pairs, quality = match_spaces(X, Y, random_state=0, return_quality=True)
    assert len(pairs) > 0.5 * len(X)
    assert _precision(pairs, truth) > 0.9
    assert quality > 0.9


def test_row_counts_and_widths_may_differ(rng):
    X = _blobs(rng, n=400, d=6)
    Y, truth = _rotated_and_shuffled(X, rng, noise=0.05, width=9)
    keep = np.sort(rng.choice(len(Y), 300, replace=False))  # Y holds 300 of the 400 samples
    new_row = np.full(len(Y), -1)
    new_row[keep] = np.arange(len(keep))
    truth = new_row[truth]  # -1: the sample is not in Y
    Y = Y[keep]
    both = np.flatnonzero(truth >= 0)[:10]
    pairs = match_spaces(X, Y, np.column_stack([both, truth[both]]))
    assert pairs[:, 0].max() < 400 and pairs[:, 1].max() < 300
    assert _precision(pairs, truth) > 0.9


def test_confidence_is_higher_for_true_pairs(rng):
    X = _blobs(rng)
    Y, truth = _rotated_and_shuffled(X, rng, noise=1.0)  # noisy: some pairs are wrong
    known = np.column_stack([np.arange(20), truth[:20]])
    pairs, confidence = match_spaces(X, Y, known, return_confidence=True)
    assert confidence.shape == (len(pairs),)
    assert np.all(np.isinf(confidence[:20])) and np.all(np.isfinite(confidence[20:]))
    assert np.all(np.diff(confidence[20:]) <= 0)  # found pairs by decreasing confidence
    right = truth[pairs[20:, 0]] == pairs[20:, 1]
    assert 0 < right.mean() < 1
    assert np.median(confidence[20:][right]) > np.median(confidence[20:][~right])


@pytest.mark.filterwarnings("ignore::skinvariance.exceptions.MatchingWarning")  # 5 runs
def test_deterministic_for_a_given_random_state(rotated):
    X, Y, _ = rotated
    first = match_spaces(X, Y, random_state=3, n_runs=5)
    np.testing.assert_array_equal(first, match_spaces(X, Y, random_state=3, n_runs=5))


def test_blocked_computation_equals_one_block(rotated):
    X, Y, truth = rotated
    known = np.column_stack([np.arange(10), truth[:10]])
    # 0.02 MiB holds a few rows of similarities: many blocks
    blocked, c_blocked = match_spaces(X, Y, known, working_memory=0.02, return_confidence=True)
    whole, c_whole = match_spaces(X, Y, known, working_memory=1024, return_confidence=True)
    np.testing.assert_array_equal(blocked, whole)
    # BLAS picks its kernels by a product's shape, so a block's float32 similarities may round
    # differently from the whole matrix's: a margin (a difference of CSLS scores, at most 4 in
    # magnitude) agrees to a few float32 ulps of the scores, not to a relative tolerance.
    np.testing.assert_allclose(c_blocked, c_whole, rtol=0, atol=32 * np.finfo(np.float32).eps)


@pytest.mark.parametrize("shape", [(120, 90), (90, 120), (1, 50), (50, 1)])
def test_csls_mutual_neighbours_against_a_dense_computation(rng, shape):
    A = unit_rows(rng.normal(size=(shape[0], 5)))
    B = unit_rows(rng.normal(size=(shape[1], 5)))
    r = 4
    S = A @ B.T
    r_a = np.sort(S, axis=1)[:, -min(r, S.shape[1]):].mean(axis=1)
    r_b = np.sort(S, axis=0)[-min(r, S.shape[0]):].mean(axis=0)
    C = 2 * S - r_a[:, None] - r_b[None, :]
    best_of_a, best_of_b = C.argmax(axis=1), C.argmax(axis=0)
    mutual = [(i, best_of_a[i]) for i in range(len(A)) if best_of_b[best_of_a[i]] == i]
    for working_memory in (0.01, 1024):  # blocks of a few rows, one block
        pairs, margin = csls_mutual_neighbours(A, B, n_neighbors=r,
                                               working_memory=working_memory)
        assert sorted(map(tuple, pairs.tolist())) == sorted(
            (int(i), int(j)) for i, j in mutual)
        for (i, j), m in zip(pairs, margin):
            row = np.sort(C[i])[::-1]
            column = np.sort(C[:, j])[::-1]
            expected = min(row[0] - (row[1] if len(row) > 1 else -np.inf),
                           column[0] - (column[1] if len(column) > 1 else -np.inf))
            assert m == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_matched_alignment_fits_the_alignment_on_the_pairs(rng):
    X = _blobs(rng)
    Y, truth = _rotated_and_shuffled(X, rng)  # an exact rotation
    known = np.column_stack([np.arange(10), truth[:10]])
    model = MatchedAlignment(OrthogonalAlignment()).fit(X, Y, pairs=known)
    np.testing.assert_array_equal(model.pairs_[:10], known)
    assert model.confidence_.shape == (len(model.pairs_),)
    assert isinstance(model.alignment_, OrthogonalAlignment)
    np.testing.assert_allclose(model.transform(X)[np.argsort(truth)], Y, atol=1e-8)
    assert model.get_feature_names_out().shape == (Y.shape[1],)
    # the same as match_spaces, then the alignment on its pairs
    pairs = match_spaces(X, Y, known)
    np.testing.assert_array_equal(model.pairs_, pairs)
    reference = OrthogonalAlignment().fit(X[pairs[:, 0]], Y[pairs[:, 1]])
    np.testing.assert_allclose(model.alignment_.rotation_, reference.rotation_)


def test_matched_alignment_in_a_pipeline_clones_and_pickles(rotated):
    X, Y, truth = rotated
    known = np.column_stack([np.arange(10), truth[:10]])
    pipe = Pipeline([("scale", StandardScaler()), ("match", MatchedAlignment())])
    pipe.fit(X, Y, match__pairs=known)
    assert pipe.transform(X).shape == Y.shape
    assert clone(pipe).get_params()["match__n_neighbors"] == 10
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.transform(X), pipe.transform(X))
    with pytest.raises(ValueError, match="X has 7 features, but MatchedAlignment"):
        MatchedAlignment().fit(X, Y, pairs=known).transform(X[:, :7])


@pytest.mark.parametrize("pairs, message", [
    ([[0, 400]], r"'pairs' .* rows of Y in \[0, 399\] in column 1; got 400"),
    ([[400, 0]], r"'pairs' .* rows of X in \[0, 399\] in column 0; got 400"),
    ([[-1, 0]], r"'pairs' .* got -1"),
    ([[0, 1], [0, 2]], "'pairs' .* each row of X at most once; row 0 of X appears 2 times"),
    ([[1, 0], [2, 0]], "'pairs' .* each row of Y at most once; row 0 of Y appears 2 times"),
    ([[0, 1, 2]], r"'pairs' .* shape \(n_pairs, 2\) .* got shape \(1, 3\)"),
    ([0, 1], r"'pairs' .* shape \(n_pairs, 2\) .* got shape \(2,\)"),
    ([[0.5, 1.0]], r"'pairs' .* row indices \(integers\)"),
])
def test_bad_pairs_are_refused(rotated, pairs, message):
    X, Y, _ = rotated
    with pytest.raises(ValueError, match=message):
        match_spaces(X, Y, pairs)


def test_integer_valued_float_pairs_are_accepted(rotated):
    X, Y, truth = rotated
    known = np.column_stack([np.arange(10), truth[:10]])
    np.testing.assert_array_equal(match_spaces(X, Y, known.astype(float)),
                                  match_spaces(X, Y, known))


@pytest.mark.parametrize("kwargs, rows, message", [
    ({"n_neighbors": 401}, 400, "'n_neighbors' .* at most the rows left to match .* got 401"),
    ({"method": "unpaired", "n_clusters": 10}, 15,
     r"method='unpaired'\) needs at least 20 rows of X .* n_clusters=10"),
    ({"method": "seeded"}, 400, "method='seeded' grows known pairs, but no pair is known"),
    ({"method": "spectrum"}, 400, "'method' parameter of match_spaces must be a str among"),
    ({"n_neighbors": True}, 400, "'n_neighbors' parameter of match_spaces"),
    ({"working_memory": 0}, 400, "'working_memory' parameter of match_spaces"),
    ({"alignment": LogisticRegression()}, 400, "'alignment' parameter of match_spaces"),
])
def test_bad_parameters_are_refused(rotated, kwargs, rows, message):
    X, Y, _ = rotated
    with pytest.raises(ValueError, match=message):
        match_spaces(X[:rows], Y[:rows], **kwargs)


def test_bad_spaces_are_refused(rotated):
    X, Y, _ = rotated
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        match_spaces(bad, Y)
    with pytest.raises(ValueError, match="Input Y contains infinity"):
        match_spaces(X, np.where(Y > 3, np.inf, Y))
    with pytest.raises(ValueError, match="Y is invalid: Expected 2D array"):
        match_spaces(X, Y[:, 0])
    with pytest.raises(ValueError, match="X is invalid: .* 0 sample"):
        match_spaces(X[:0], Y)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_the_pairs_do_not_depend_on_the_magnitude(rotated, scale):
    X, Y, truth = rotated
    known = np.column_stack([np.arange(10), truth[:10]])
    np.testing.assert_array_equal(match_spaces(X * scale, Y, known),
                                  match_spaces(X, Y, known))
