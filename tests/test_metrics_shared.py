"""Measures split into work done once per space and a cheap comparison of two spaces (what a
comparison of many spaces shares), and over a sample of query rows: against the n x n
formulas and brute-force searches."""

import numpy as np
import pytest
from _helpers import paired_spaces
from scipy.stats import rankdata
from sklearn.metrics.pairwise import cosine_similarity

from skinvariance.metrics import (
    available_measures,
    get_measure,
    knn_jaccard,
    linear_cka,
    mean_reciprocal_rank,
)


def centred_gram_cka(X, Y):
    """Linear CKA from the n x n Gram matrices of the column-centred spaces, in float64."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    return np.vdot(K, L) / np.sqrt(np.vdot(K, K) * np.vdot(L, L))


def reciprocal_ranks(X, Y):
    """``1 / rank`` of ``y_i`` among Y's rows by cosine to ``x_i``, ties counted against it
    (scipy's "max" rank of the negated similarities)."""
    S = cosine_similarity(X, Y)
    return np.array([1.0 / rankdata(-S[i], method="max")[i] for i in range(len(S))])


def neighbour_sets(Z, k):
    """Each row's ``k`` cosine neighbours (self excluded) by a full sort."""
    S = cosine_similarity(Z)
    np.fill_diagonal(S, -np.inf)
    return [set(np.argsort(-S[i], kind="stable")[:k]) for i in range(len(S))]


def shared(name):
    return get_measure(name).per_space


# -- linear CKA ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 2.0**-100, 2.0**100])
@pytest.mark.parametrize(
    ("n", "d_x", "d_y"),
    [(60, 5, 8), (8, 30, 40), (20, 3, 40)],  # feature form, Gram form, mixed
)
def test_cka_from_each_space_s_terms_is_the_gram_formula(n, d_x, d_y, dtype, scale):
    X, Y = paired_spaces(1, n, d_x, d_y)
    X, Y = X.astype(dtype), Y.astype(dtype)
    expected = centred_gram_cka(X, Y)  # at scale 1
    X, Y = (X * dtype(scale)), (Y / dtype(scale))  # powers of two: the same numbers
    for name in ("cka", "linear_cka"):
        per_space = shared(name)
        value = per_space.compare(per_space.prepare(X), per_space.prepare(Y))
        assert value == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert value == linear_cka(X, Y)  # the pair-by-pair function, to the bit


def test_cka_terms_are_reused_across_pairs(rng):
    X, Y, Z = (rng.normal(size=(50, 4)) @ rng.normal(size=(4, 6)) for _ in range(3))
    per_space = shared("linear_cka")
    PX, PY, PZ = (per_space.prepare(W) for W in (X, Y, Z))
    for A, B, PA, PB in ((X, Y, PX, PY), (X, Z, PX, PZ), (Y, Z, PY, PZ), (Z, X, PZ, PX)):
        assert per_space.compare(PA, PB) == pytest.approx(centred_gram_cka(A, B), rel=1e-10)
    with pytest.raises(ValueError, match="zero variance"):
        per_space.prepare(np.ones((10, 3)))
    with pytest.raises(ValueError, match="must be row-aligned"):
        per_space.compare(PX, per_space.prepare(Y[:40]))


def test_a_comparison_computes_each_space_s_cka_terms_once(monkeypatch, rng):
    from skinvariance import RelativeProjection, compare_invariances
    from skinvariance.metrics import _cka

    computed = []
    original = _cka.LinearTerms._feature_terms

    def counting(self):
        computed.append(self.Z.shape)
        return original(self)

    monkeypatch.setattr(_cka.LinearTerms, "_feature_terms", counting)
    latent = rng.normal(size=(200, 4))
    spaces = {name: latent @ rng.normal(size=(4, 6)) + 0.3 * rng.normal(size=(200, 6))
              for name in "abcd"}
    train, test = np.arange(100), np.arange(100, 200)
    table = compare_invariances(spaces, None, {"absolute": None,
                                               "cosine": RelativeProjection("cosine")},
                                metrics=["cka"], anchors=20, cv=[(train, test)],
                                random_state=0)
    # one self term per space and row (4 spaces, 2 rows), not two per pair (6 pairs), though
    # the pairs are measured on several threads at once
    assert len(computed) == 8
    pairs = [centred_gram_cka(spaces[a][test], spaces[b][test])
             for a in spaces for b in spaces if a != b]
    assert table.loc[0, "cka_mean"] == pytest.approx(np.mean(pairs), rel=1e-10)


# -- mean reciprocal rank --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ranks_from_unit_rows_are_scipy_s_ranks(dtype, rng):
    X = rng.normal(size=(70, 5)).astype(dtype)
    Y = (X + 0.8 * rng.normal(size=X.shape)).astype(dtype)
    Y[10] = Y[3]  # a tie: counted against the match
    X[20] = 0.0  # a zero query: cosine 0 with every row
    expected = reciprocal_ranks(X, Y)
    per_space = shared("mrr")
    for factor in (1.0, 2.0**-120, 2.0**120):
        PX, PY = per_space.prepare(X * dtype(factor)), per_space.prepare(Y / dtype(factor))
        assert per_space.compare(PX, PY) == pytest.approx(expected.mean(), abs=1e-14)
        assert per_space.compare(PX, PY) == mean_reciprocal_rank(X, Y)
    queries = np.sort(rng.choice(70, size=25, replace=False))
    PX = per_space.prepare(X, queries)
    assert per_space.compare(PX, per_space.prepare(Y)) == pytest.approx(
        expected[queries].mean(), abs=1e-14)
    with pytest.raises(ValueError, match="same number of features|same width|n_features"):
        per_space.compare(per_space.prepare(X), per_space.prepare(Y[:, :3]))


# -- neighbours of sampled query rows ---------------------------------------------------------


@pytest.mark.parametrize("name", ["knn_jaccard", "mutual_knn"])
def test_sampled_query_rows_search_every_row(name, rng):
    per_space = shared(name)
    k = per_space.k  # the registry's default, 10
    X = rng.normal(size=(90, 5))
    Y = np.hstack([X, rng.normal(size=(90, 4))])
    sets_x, sets_y = neighbour_sets(X, k), neighbour_sets(Y, k)
    both = np.array([len(a & b) for a, b in zip(sets_x, sets_y, strict=True)])
    per_row = both / (2 * k - both) if name == "knn_jaccard" else both / k
    queries = np.sort(rng.choice(90, size=30, replace=False))
    value = per_space.compare(per_space.prepare(X, queries), per_space.prepare(Y, queries))
    assert value == pytest.approx(per_row[queries].mean(), abs=1e-14)
    # every row as a query: the exact measure
    everyone = per_space.compare(per_space.prepare(X, np.arange(90)),
                                 per_space.prepare(Y, np.arange(90)))
    assert everyone == pytest.approx(per_row.mean(), abs=1e-14)
    if name == "knn_jaccard":
        assert everyone == pytest.approx(knn_jaccard(X, Y, k=k), abs=1e-14)


# -- a split with other parameters, and the measures that sample rows ---------------------------


def test_a_split_takes_another_neighbour_count_and_nothing_else(rng):
    measure = get_measure("knn_jaccard")
    assert measure.split_with({}) is measure.per_space and measure.split_with(None) is \
        measure.per_space
    split = measure.split_with({"k": 5})
    assert split.k == 5 and measure.per_space.k == 10  # a copy: the registry's is unchanged
    X = rng.normal(size=(60, 6))
    Y = X + 0.5 * rng.normal(size=(60, 6))
    assert split.compare(split.prepare(X), split.prepare(Y)) == pytest.approx(
        knn_jaccard(X, Y, k=5), abs=1e-14)
    # what the split cannot take: the measure is then computed pair by pair
    for params in ({"k": 0}, {"k": True}, {"k": 2.5}, {"k": 5, "other": 1}):
        assert measure.split_with(params) is None
    assert get_measure("linear_cka").split_with({"debiased": True}) is None  # no k at all
    assert get_measure("rsa").split_with({}) is None  # no split


def test_the_measures_that_sample_rows_are_those_of_every_pair_without_a_split():
    """``samples_rows``: RSA and RBF CKA compare every pair of rows (their cost grows as the
    rows squared) and have no per-space split; the measures with a split sample queries."""
    for name in available_measures():
        measure = get_measure(name)
        if measure.samples_rows:
            assert measure.per_space is None, name
    assert get_measure("rsa").samples_rows and get_measure("rbf_cka").samples_rows
    assert not get_measure("linear_cka").samples_rows  # linear in the rows: exact
