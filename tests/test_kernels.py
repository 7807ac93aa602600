"""Kernels against scipy's cdist, their invariances, and their handling of bad input."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group
from sklearn import config_context

from skinvariance.kernels import (
    _driver,
    available_kernels,
    get_kernel,
    kernel_table,
    pairwise_kernel,
)

# The oracle for each registry key: a function of float64 arrays built on scipy's cdist.
_ZERO_COSINE = 0.0  # scikit-learn's convention: a zero vector has cosine similarity 0


def _by_row_max(Z):
    """Rows divided by their largest magnitude (zero rows unchanged): cosine ignores it, and
    cdist's own norms would otherwise underflow on subnormal rows or overflow on huge ones."""
    top = np.abs(Z).max(axis=1, keepdims=True)
    return Z / np.where(top > 0, top, 1.0)


def _cosine_reference(X, A):
    X, A = _by_row_max(X), _by_row_max(A)
    nx = np.linalg.norm(X, axis=1)[:, None]
    na = np.linalg.norm(A, axis=1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = 1 - cdist(X, A, "cosine")
    return np.where((nx == 0) | (na == 0), _ZERO_COSINE, sim)


def _angular_reference(X, A):
    """2 atan2(|u - v|, |u + v|) / pi of the unit vectors: accurate at 0 and 1 (arccos is not)."""
    U = _by_row_max(X) / np.maximum(np.linalg.norm(_by_row_max(X), axis=1), 1e-300)[:, None]
    V = _by_row_max(A) / np.maximum(np.linalg.norm(_by_row_max(A), axis=1), 1e-300)[:, None]
    angle = 2 * np.arctan2(cdist(U, V), cdist(U, -V)) / np.pi
    zero = (np.abs(U).sum(axis=1)[:, None] == 0) | (np.abs(V).sum(axis=1)[None, :] == 0)
    return np.where(zero, 0.5, angle)


REFERENCES = {
    "cosine": _cosine_reference,
    "angular": _angular_reference,
    "euclidean": lambda X, A: cdist(X, A, "euclidean"),
    "l1": lambda X, A: cdist(X, A, "cityblock"),
    "manhattan": lambda X, A: cdist(X, A, "cityblock"),
    "cityblock": lambda X, A: cdist(X, A, "cityblock"),
    "linf": lambda X, A: cdist(X, A, "chebyshev"),
    "chebyshev": lambda X, A: cdist(X, A, "chebyshev"),
    "minkowski": lambda X, A: cdist(X, A, "minkowski", p=2.0),
}


def test_every_registry_name_has_a_reference():
    assert set(available_kernels(aliases=True)) == set(REFERENCES)


def _hard_inputs(rng, n=301, k=37, d=23, offset=3.0):
    """Samples with zero rows, exact and near duplicates of anchors, and a common offset."""
    A = rng.normal(size=(k, d)) + offset
    X = rng.normal(size=(n, d)) + offset
    X[0] = 0.0
    A[1] = 0.0
    X[5] = A[3]
    X[6] = A[4] + 1e-4 * rng.normal(size=d)
    X[7] = A[5] * (1 + 1e-6)
    return X, A


@pytest.mark.parametrize("kernel", sorted(REFERENCES))
@pytest.mark.parametrize("working_memory", [None, 0.05])
def test_kernels_match_cdist_float64(kernel, working_memory, rng):
    X, A = _hard_inputs(rng)
    with config_context(working_memory=working_memory) if working_memory else _nullcontext():
        K = pairwise_kernel(X, A, kernel)
    assert K.dtype == np.float64
    np.testing.assert_allclose(K, REFERENCES[kernel](X, A), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel", sorted(REFERENCES))
def test_kernels_match_cdist_float32(kernel, rng):
    X, A = _hard_inputs(rng, offset=20.0)
    X32, A32 = X.astype(np.float32), A.astype(np.float32)
    K = pairwise_kernel(X32, A32, kernel)
    assert K.dtype == np.float32
    # Reference on the float32 values themselves, computed in float64 (whose own error is far
    # below float32's), against the tolerance the kernel states: absolute for cosine and
    # angular, relative to the distance for the others.
    ref = REFERENCES[kernel](X32.astype(np.float64), A32.astype(np.float64))
    rule = get_kernel(kernel)
    tolerance = rule.tolerance(np.float32, X.shape[1])
    scale = 1.0 if rule.error == "absolute" else np.abs(ref)
    assert np.all(np.abs(K - ref) <= tolerance * scale)


def test_float32_euclidean_keeps_precision_on_near_duplicates(rng):
    """Near-duplicate rows far from the origin: the Gram form alone loses every digit."""
    base = rng.normal(size=(1, 64)) + 1000.0
    A = (base + 1e-2 * rng.normal(size=(20, 64))).astype(np.float32)
    X = (base + 1e-2 * rng.normal(size=(50, 64))).astype(np.float32)
    ref = cdist(X.astype(np.float64), A.astype(np.float64))
    K = pairwise_kernel(X, A, "euclidean")
    np.testing.assert_allclose(K, ref, rtol=1e-3)
    assert np.all(pairwise_kernel(A, A, "euclidean").diagonal() == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_angular_is_accurate_near_zero_and_one(dtype):
    """arccos of a cosine near 1 had errors up to 1.9e-4 in float32: the angle of an anchor
    to itself is 0, and tiny and near-pi angles keep their relative precision."""
    angles = np.array([0.0, 1e-7, 1e-5, 1e-3, 0.5, np.pi - 1e-3, np.pi - 1e-5, np.pi])
    X = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1).astype(dtype)
    A = np.array([[1.0, 0.0, 0.0]], dtype=dtype)
    K = pairwise_kernel(X, A, "angular")[:, 0]
    # The angles of the float32-rounded vectors, exactly (float64 atan2 of the coordinates).
    X64 = X.astype(np.float64)
    expected = np.arctan2(X64[:, 1], X64[:, 0]) / np.pi
    np.testing.assert_allclose(K, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
    rng = np.random.default_rng(1)
    anchors = (rng.normal(size=(40, 16)) * 10.0 ** rng.integers(-3, 4, size=(40, 1))).astype(dtype)
    assert np.all(pairwise_kernel(anchors, anchors, "angular").diagonal() == 0)
    assert np.all(pairwise_kernel(anchors, -anchors, "angular").diagonal() == 1)


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, 7.5, np.inf])
def test_minkowski_orders_match_cdist(p, rng):
    X, A = _hard_inputs(rng, n=70, k=11, d=9)
    ref = cdist(X, A, "chebyshev") if np.isinf(p) else cdist(X, A, "minkowski", p=p)
    np.testing.assert_allclose(pairwise_kernel(X, A, "minkowski", p=p), ref, rtol=1e-10)


def test_minkowski_large_order_does_not_overflow(rng):
    X = rng.normal(size=(10, 5)) * 1e3
    A = rng.normal(size=(4, 5)) * 1e3
    K = pairwise_kernel(X, A, "minkowski", p=200.0)
    diff = np.abs(X[:, None, :] - A[None, :, :])
    top = diff.max(axis=2, keepdims=True)
    ref = top[..., 0] * ((diff / top) ** 200.0).sum(axis=2) ** (1 / 200.0)
    assert np.all(np.isfinite(K))
    np.testing.assert_allclose(K, ref, rtol=1e-12)


@pytest.mark.parametrize("kernel", ["cosine", "euclidean", "l1", "linf", "angular"])
def test_blocks_and_threads_cover_every_row(kernel, rng, monkeypatch):
    """Several blocks, the full ones split across two threads, and a remainder of odd rows."""
    X, A = rng.normal(size=(1031, 17)), rng.normal(size=(29, 17))
    parts_per_block = []
    split = _driver.split_rows

    def recording_split(n_rows, n_threads, **kwargs):
        parts = split(n_rows, n_threads, **kwargs)
        parts_per_block.append((n_rows, len(parts)))
        return parts

    monkeypatch.setattr(_driver, "split_rows", recording_split)
    with config_context(working_memory=0.08):  # blocks of about 300 rows, two parts each
        blocked = pairwise_kernel(X, A, kernel, n_threads=2)
    assert len(parts_per_block) >= 4 and sum(n for n, _ in parts_per_block) == len(X)
    assert all(count == 2 for n, count in parts_per_block if n >= 128)
    single = pairwise_kernel(X, A, kernel, n_threads=1)
    np.testing.assert_allclose(blocked, single, rtol=1e-12)
    np.testing.assert_allclose(blocked, REFERENCES[kernel](X, A), rtol=1e-10, atol=1e-12)


# -- invariances: the table of METHOD.md §2, applied to samples and anchors together --------

INVARIANCE_TABLE = {
    #             orthogonal  isotropic-scale  translation  signed-permutation
    "cosine":    (True,       True,            False,       True),
    "angular":   (True,       True,            False,       True),
    "euclidean": (True,       False,           True,        True),
    "l1":        (False,      False,           True,        True),
    "linf":      (False,      False,           True,        True),
}
TRANSFORMS = ("orthogonal", "isotropic scaling", "translation", "signed permutation")


def _transform(name, X, A, rng):
    d = X.shape[1]
    if name == "orthogonal":
        Q = ortho_group.rvs(d, random_state=int(rng.integers(1 << 31)))
        return X @ Q, A @ Q
    if name == "isotropic scaling":
        return 3.7 * X, 3.7 * A
    if name == "translation":
        shift = rng.normal(size=d) * 5
        return X + shift, A + shift
    signs = rng.choice([-1.0, 1.0], size=d)
    perm = rng.permutation(d)
    return (X * signs)[:, perm], (A * signs)[:, perm]


@pytest.mark.parametrize("kernel", sorted(INVARIANCE_TABLE))
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_invariance_table(kernel, transform, rng):
    X, A = rng.normal(size=(60, 12)), rng.normal(size=(15, 12))
    X2, A2 = _transform(transform, X, A, rng)
    before = pairwise_kernel(X, A, kernel)
    after = pairwise_kernel(X2, A2, kernel)
    invariant = INVARIANCE_TABLE[kernel][TRANSFORMS.index(transform)]
    if invariant:
        np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-9)
    else:
        assert not np.allclose(after, before, rtol=1e-3, atol=1e-3)


def test_registry_states_the_same_invariances_as_the_table():
    for kernel, row in INVARIANCE_TABLE.items():
        stated = set(get_kernel(kernel).invariances)
        expected = {t for t, yes in zip(TRANSFORMS, row) if yes}
        assert stated == expected, kernel


def test_kernel_table_lists_every_kernel_once():
    table = kernel_table()
    assert list(table.index) == [get_kernel(name).name for name in table.index]
    assert set(table.index) == set(available_kernels())
    assert set(table["kind"]) == {"similarity", "distance"}


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, A, error, match",
    [
        (np.array([[np.nan, 1.0]]), np.ones((2, 2)), ValueError, "Input X contains NaN"),
        (np.ones((2, 2)), np.array([[np.inf, 1.0]]), ValueError, "Input A contains infinity"),
        (np.ones((0, 2)), np.ones((2, 2)), ValueError, "0 sample"),
        (np.ones(3), np.ones((2, 3)), ValueError, "Expected 2D array"),
        (np.ones((2, 3)), np.ones((2, 2)), ValueError, "X has 3 features, but A has 2"),
        (np.ones((2, 2), dtype=complex), np.ones((2, 2)), ValueError, "Complex data"),
        (np.array([["a", "b"]], dtype=object), np.ones((2, 2)), ValueError, "could not convert"),
    ],
)
def test_bad_arrays(X, A, error, match):
    with pytest.raises(error, match=match):
        pairwise_kernel(X, A, "l1")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kernel": "cosinus"}, "The 'kernel' parameter of pairwise_kernel must be a str among"),
        ({"kernel": "minkowski", "p": 0.5}, "The 'p' parameter of pairwise_kernel"),
        ({"n_threads": 0}, "The 'n_threads' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        pairwise_kernel(np.ones((2, 2)), np.ones((2, 2)), **params)


def test_get_kernel_names_the_unknown_kernel():
    with pytest.raises(ValueError, match="Got 'cosinus' instead"):
        get_kernel("cosinus")


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


# -- property tests and memory bounds -------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@st.composite
def _samples_and_anchors(draw):
    n, k, d = draw(st.integers(1, 40)), draw(st.integers(1, 12)), draw(st.integers(1, 9))
    values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
    return draw(arrays(np.float64, (n, d), elements=values)), draw(
        arrays(np.float64, (k, d), elements=values)
    )


@settings(max_examples=40, deadline=None)
@given(_samples_and_anchors(), st.sampled_from(["cosine", "euclidean", "l1", "linf"]))
def test_any_finite_input_matches_cdist(arrays_pair, kernel):
    X, A = arrays_pair
    scale = 1.0 if kernel == "cosine" else 1.0 + np.abs(X).max() + np.abs(A).max()
    np.testing.assert_allclose(
        pairwise_kernel(X, A, kernel), REFERENCES[kernel](X, A), rtol=0, atol=1e-9 * scale
    )


@pytest.mark.parametrize("kernel", ["cosine", "euclidean", "l1", "linf", "angular"])
def test_memory_beyond_the_output_follows_working_memory(kernel, rng):
    """With a 1 MiB working memory, a 20 MiB output needs only about a MiB more."""
    import tracemalloc

    X = rng.normal(size=(20_000, 64))
    A = rng.normal(size=(128, 64))
    pairwise_kernel(X[:10], A, kernel)  # compile outside the measurement
    with config_context(working_memory=1):
        tracemalloc.start()
        try:
            K = pairwise_kernel(X, A, kernel)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    extra = peak - K.nbytes
    assert extra < 3 * 2**20, f"{extra / 2**20:.1f} MiB beyond the output"
