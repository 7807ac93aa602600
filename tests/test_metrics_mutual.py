"""Mutual k-NN and CKNNA against brute-force n x n formulas, and their invariances."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group
from sklearn import config_context
from sklearn.neighbors import NearestNeighbors

from skinvariance.kernels import row_blocks
from skinvariance.metrics import cka, cknna, get_measure, knn_jaccard, mutual_knn

PROPERTY = settings(derandomize=True, max_examples=25, deadline=None)


def neighbours_ref(Z, k):
    """k most cosine-similar rows, self excluded, ties to the lower index (stable sort)."""
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    U = Z / np.where(norms == 0, 1.0, norms)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def mutual_knn_ref(X, Y, k):
    nx, ny = neighbours_ref(X, k), neighbours_ref(Y, k)
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(nx, ny, strict=True)])


def u_centred(K):
    """Szekely and Rizzo's U-centring of a Gram matrix, written out with n x n matrices."""
    n = K.shape[0]
    K = K - np.diag(np.diag(K))
    U = K - K.sum(1, keepdims=True) / (n - 2) - K.sum(0, keepdims=True) / (n - 2)
    U += K.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(U, 0.0)
    return U


def cknna_ref(X, Y, k):
    n = X.shape[0]
    Kt, Lt = u_centred(X @ X.T), u_centred(Y @ Y.T)  # raw inner products, as Huh et al.
    ax, ay = np.zeros((n, n)), np.zeros((n, n))
    rows = np.arange(n)[:, None]
    ax[rows, neighbours_ref(X, k)] = 1.0
    ay[rows, neighbours_ref(Y, k)] = 1.0
    mutual = ax * ay  # ordered pairs: j among i's neighbours in both spaces
    return np.sum(mutual * Kt * Lt) / np.sqrt(np.sum(ax * Kt**2) * np.sum(ay * Lt**2))


def hsic_unbiased_ref(K, L):
    """Song et al. (2012), eq. (5)."""
    n = K.shape[0]
    Kt, Lt = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
    one = np.ones(n)
    return (
        np.trace(Kt @ Lt)
        + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ Kt @ Lt @ one)
    ) / (n * (n - 3))


def related(seed, n=60, d_x=5, d_y=7, noise=0.7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x))
    return X, X @ rng.normal(size=(d_x, d_y)) + noise * rng.normal(size=(n, d_y))


@pytest.fixture
def blocks(monkeypatch):
    seen = []

    def recording(n_rows, row_bytes, **kwargs):
        slices = list(row_blocks(n_rows, row_bytes, **kwargs))
        seen.append((slices[0].stop - slices[0].start, n_rows))
        return iter(slices)

    for module in ("_neighbours", "_mutual"):
        monkeypatch.setattr(importlib.import_module(f"skinvariance.metrics.{module}"),
                            "row_blocks", recording)
    return seen


@pytest.mark.parametrize("k", [1, 5, 59])
def test_mutual_knn_matches_brute_force_over_several_blocks(k, blocks):
    X, Y = related(0)
    with config_context(working_memory=0.005):
        value = mutual_knn(X, Y, k=k)
    assert blocks and all(height < n for height, n in blocks)
    assert value == pytest.approx(mutual_knn_ref(X, Y, k), abs=1e-12)


def test_mutual_knn_agrees_with_scikit_learn_neighbours_and_jaccard():
    X, Y = related(1, n=80)
    k = 7
    nn = [NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(Z)
          .kneighbors(return_distance=False) for Z in (X, Y)]
    shared = np.array([len(set(a) & set(b)) for a, b in zip(*nn, strict=True)])
    assert mutual_knn(X, Y, k=k) == pytest.approx(shared.mean() / k, abs=1e-12)
    assert knn_jaccard(X, Y, k=k) == pytest.approx(np.mean(shared / (2 * k - shared)), abs=1e-12)


@pytest.mark.parametrize("k", [1, 4, 20])
def test_cknna_matches_the_n_by_n_formula_over_several_blocks(k, blocks):
    X, Y = related(2, d_x=4, d_y=9)
    with config_context(working_memory=0.002):
        value = cknna(X, Y, k=k)
    assert blocks and all(height < n for height, n in blocks)
    assert value == pytest.approx(cknna_ref(X, Y, k), abs=1e-10)


def test_cknna_over_all_pairs_is_debiased_cka():
    X, Y = related(3, n=40)
    expected = hsic_unbiased_ref(X @ X.T, Y @ Y.T) / np.sqrt(
        hsic_unbiased_ref(X @ X.T, X @ X.T) * hsic_unbiased_ref(Y @ Y.T, Y @ Y.T)
    )
    assert cknna(X, Y, k=39) == pytest.approx(expected, abs=1e-10)
    assert cknna(X, Y, k=39) == pytest.approx(cka(X, Y, debiased=True), abs=1e-10)


def test_magnitudes_and_float32():
    X, Y = related(4)
    for scale in (1e-8, 1e8):
        assert cknna(scale * X, Y) == pytest.approx(cknna_ref(X, Y, 10), abs=1e-9)
        assert mutual_knn(scale * X, Y) == pytest.approx(mutual_knn_ref(X, Y, 10), abs=1e-12)
    assert cknna(X + 1e4, Y) == pytest.approx(cknna_ref(X + 1e4, Y, 10), abs=1e-6)
    assert cknna(X.astype(np.float32), Y) == pytest.approx(cknna_ref(X, Y, 10), abs=1e-5)


@pytest.mark.parametrize("measure", [mutual_knn, cknna])
def test_bad_k_and_inputs(measure):
    X, Y = related(5, n=12)
    name = measure.__name__
    with pytest.raises(ValueError, match=rf"'k' parameter of {name} must be smaller than "
                                         r"n_samples=12.*got k=12"):
        measure(X, Y, k=12)
    for k in (0, 2.5, "3"):
        with pytest.raises(ValueError, match=rf"'k' parameter of {name} must be an int"):
            measure(X, Y, k=k)
    with pytest.raises(ValueError, match="same number of rows"):
        measure(X, Y[:5], k=2)
    with pytest.raises(ValueError, match="NaN"):
        measure(np.where(X > 1, np.nan, X), Y, k=2)


def test_cknna_needs_four_samples_and_variance():
    X, Y = related(6, n=12)
    with pytest.raises(ValueError, match="cknna needs at least 4 samples"):
        cknna(X[:3], Y[:3], k=1)
    with pytest.raises(ValueError, match="centred kernel of Y is zero on every pair"):
        cknna(X, np.ones((12, 3)), k=3)


# -- invariances ---------------------------------------------------------------------------

seeds = st.integers(0, 2**16)
scales = st.floats(1e-3, 1e3)


@PROPERTY
@given(seeds, scales, st.integers(1, 15))
def test_orthogonal_maps_and_isotropic_scaling_change_nothing(seed, scale, k):
    X, Y = related(seed, n=40)
    moved = scale * X @ ortho_group.rvs(5, random_state=seed)
    for measure in (mutual_knn, cknna):
        assert measure(moved, Y, k=k) == pytest.approx(measure(X, Y, k=k), abs=1e-9)
        assert measure(X, moved, k=k) == pytest.approx(1.0, abs=1e-9)


@PROPERTY
@given(seeds)
def test_mutual_knn_ignores_positive_per_sample_scaling(seed):
    X, Y = related(seed, n=40)
    weights = np.random.default_rng(seed).uniform(0.1, 10.0, size=(40, 1))
    assert mutual_knn(weights * X, Y, k=5) == pytest.approx(mutual_knn(X, Y, k=5), abs=1e-12)


def test_cknna_sees_translation_and_per_sample_scaling():
    X, Y = related(7)
    base = cknna(X, Y, k=5)
    assert cknna(X + 3.0, Y, k=5) != pytest.approx(base, abs=1e-3)  # neighbours change
    weights = np.random.default_rng(0).uniform(0.1, 10.0, size=(60, 1))
    assert cknna(weights * X, Y, k=5) != pytest.approx(base, abs=1e-3)  # kernel changes
    assert mutual_knn(weights * X, Y, k=5) == pytest.approx(mutual_knn(X, Y, k=5), abs=1e-12)


@pytest.mark.parametrize("name, function", [("knn_jaccard", knn_jaccard),
                                            ("mutual_knn", mutual_knn),
                                            ("cknna", cknna)])
def test_searched_once_per_space_gives_the_pair_s_value(name, function, rng):
    from skinvariance.metrics import get_measure

    X, Y = rng.normal(size=(150, 6)), rng.normal(size=(150, 9))
    Y[:, :6] += X  # related spaces: many shared neighbours
    per_space = get_measure(name).per_space
    value = per_space.compare(per_space.prepare(X), per_space.prepare(Y))
    assert value == pytest.approx(function(X, Y), abs=1e-15)
    # 1 up to rounding (CKNNA's kernel sums; exactly 1 for the neighbour counts)
    assert per_space.compare(per_space.prepare(X), per_space.prepare(X)) == pytest.approx(
        1.0, abs=1e-14 if name == "cknna" else 0.0)
    with pytest.raises(ValueError, match="must be smaller than n_samples"):
        per_space.prepare(X[:10])
    with pytest.raises(ValueError, match="must be row-aligned"):
        per_space.compare(per_space.prepare(X), per_space.prepare(Y[:100]))


@pytest.mark.parametrize("scale", [1.0, 2.0**-300, 2.0**300])
def test_cknna_from_each_space_s_terms_is_the_n_by_n_formula(scale, rng):
    X, Y = related(3, n=80)
    k = 10  # the registry's default
    expected = cknna_ref(X, Y, k)  # at scale 1
    per_space = get_measure("cknna").per_space
    PX, PY = per_space.prepare(X * scale), per_space.prepare(Y / scale)
    assert per_space.compare(PX, PY) == pytest.approx(expected, rel=1e-10)
    assert per_space.compare(PX, PY) == cknna(X, Y, k=k)  # the pair's function, to the bit


def test_cknna_over_sampled_query_rows_is_the_ratio_of_their_sums(rng):
    """Query rows: the formula's sums restricted to the pairs (i, j) with i a query row (j
    any row, the kernels centred with every row), numerator and normalisers alike."""
    n, k = 90, 10
    X, Y = related(5, n=n)
    Kt, Lt = u_centred(X @ X.T), u_centred(Y @ Y.T)
    ax, ay = np.zeros((n, n)), np.zeros((n, n))
    ax[np.arange(n)[:, None], neighbours_ref(X, k)] = 1.0
    ay[np.arange(n)[:, None], neighbours_ref(Y, k)] = 1.0
    queries = np.sort(rng.choice(n, size=30, replace=False))
    q = queries
    expected = np.sum((ax * ay * Kt * Lt)[q]) / np.sqrt(
        np.sum((ax * Kt**2)[q]) * np.sum((ay * Lt**2)[q]))
    per_space = get_measure("cknna").per_space
    value = per_space.compare(per_space.prepare(X, queries), per_space.prepare(Y, queries))
    assert value == pytest.approx(expected, rel=1e-10)
    everyone = per_space.compare(per_space.prepare(X, np.arange(n)),
                                 per_space.prepare(Y, np.arange(n)))
    assert everyone == pytest.approx(cknna(X, Y, k=k), rel=1e-12)
    with pytest.raises(ValueError, match="zero on every pair"):
        per_space.prepare(np.ones((n, 4)), queries)


@pytest.fixture
def searched(monkeypatch):
    """The shapes of the spaces whose neighbour lists were searched (for CKNNA too)."""
    from skinvariance.metrics import _mutual

    shapes = []
    original = _mutual.neighbour_lists

    def counting(Z, k, queries=None):
        shapes.append(Z.shape)
        return original(Z, k, queries)

    monkeypatch.setattr(_mutual, "neighbour_lists", counting)
    return shapes


def test_a_comparison_measures_cknna_from_one_search_per_space(searched):
    from skinvariance import compare_invariances

    spaces = {name: related(seed, n=120)[1] for seed, name in enumerate("abcd")}
    train, test = np.arange(60), np.arange(60, 120)
    table = compare_invariances(spaces, None, {"absolute": None}, metrics=["cknna"],
                                cv=[(train, test)], random_state=0, max_samples=None)
    assert len(searched) == 4  # one per space, not two per pair (6 pairs)
    values = [cknna(spaces[a][test], spaces[b][test]) for a in spaces for b in spaces if a < b]
    assert table.loc[0, "cknna_mean"] == pytest.approx(np.mean(values), rel=1e-12)


def test_a_comparison_searches_each_space_s_neighbours_once(searched, rng):
    from skinvariance import RelativeProjection, compare_invariances

    latent = rng.normal(size=(200, 4))
    spaces = {name: latent @ rng.normal(size=(4, 6)) for name in "abcd"}
    y = (latent[:, 0] > 0).astype(int)
    compare_invariances(spaces, y, {"cosine": RelativeProjection("cosine")},
                        metrics=["jaccard", "mknn"], anchors=20, random_state=0)
    # each space once for both measures (not twice per pair and measure)
    assert len(searched) == 4
