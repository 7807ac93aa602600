"""The numeric contract at every magnitude the dtypes hold (kernels, projections, anchors, maps).

Finite input of any magnitude gives finite results within the tolerance each kernel states
(``Kernel.tolerance``; the ``accuracy`` column of ``kernel_table()``) of an exact oracle, or,
only where the true result does not fit in the dtype, a ``ValueError`` saying it overflows.

The oracles are the formulas themselves, evaluated in extended precision (``np.longdouble``:
64 mantissa bits and a 15-bit exponent on x86-64, so no square of a float64 overflows) on rows
first divided by their largest magnitude; their own rounding, bounded by the same formulas with
the long double's epsilon, is added to the tolerances (where ``longdouble`` is plain float64 that
doubles the float64 tolerances, and the tests still hold). Hypothesis draws shapes, magnitudes
(1e-45 to 1e38 for float32, 1e-314 to 1e308 for float64, subnormal numbers included), and
structures (constant rows, duplicate and near-duplicate rows, zero rows, one huge column, mixed
sample and anchor dtypes) under a fixed-seed profile.
"""

from math import isfinite

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductProjection,
    RelativeProjection,
    select_anchors,
)
from skinvariance.kernels import available_kernels, get_kernel, pairwise_kernel
from skinvariance.projection import normalize_rows

LONG = np.longdouble


def profile(examples):
    """The fixed-seed Hypothesis profile of this file: the same examples on every run."""
    return settings(
        derandomize=True, database=None, max_examples=examples, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# -- strategies ------------------------------------------------------------------------------

#: Decimal exponents drawn for each dtype: from subnormal numbers to near the largest number.
EXPONENTS = {"float32": (-45, 38), "float64": (-314, 308)}
STRUCTURES = ("plain", "constant rows", "duplicate rows", "near duplicates", "zero rows",
              "one huge column")


@st.composite
def samples_and_anchors(draw, *, max_anchors=6, min_anchors=1):
    """``(X, A)``: samples and anchors of a drawn dtype, magnitude and structure.

    Values are ``uniform(-1, 1) * 10**e``, so they never exceed ``10**38`` (float32) or
    ``10**308`` (float64); distances may still overflow, which the tests expect to be reported.
    """
    dtype = draw(st.sampled_from(["float32", "float64"]))
    low, high = EXPONENTS[dtype]
    exponent = draw(st.integers(low, high))
    n, k, d = draw(st.integers(1, 9)), draw(st.integers(min_anchors, max_anchors)), draw(
        st.integers(1, 6))
    structure = draw(st.sampled_from(STRUCTURES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Z = rng.uniform(-1, 1, size=(n + k, d))
    if structure == "constant rows":  # rows whose features are all equal, and repeated rows
        Z[rng.random(n + k) < 0.5] = rng.uniform(-1, 1)
    elif structure == "duplicate rows":  # samples equal to anchors, anchors equal to anchors
        Z[: n + k : 2] = Z[n]
    elif structure == "near duplicates":
        Z[: n + k : 2] = Z[n] * (1 + 1e-5 * rng.uniform(-1, 1, size=d))
    elif structure == "zero rows":
        Z[rng.random(n + k) < 0.4] = 0.0
    elif structure == "one huge column":  # the others are 10**gap times smaller
        gap = draw(st.integers(1, high // 2))
        Z *= 10.0 ** -gap
        Z[:, rng.integers(d)] *= 10.0**gap
    with np.errstate(under="ignore", over="ignore"):
        Z = (Z * 10.0**exponent).astype(dtype)
    X, A = Z[:n], Z[n:]
    # Mixed dtypes: the other float dtype for the anchors, when it holds them.
    if draw(st.booleans()) and np.all(np.abs(A) <= np.finfo(np.float32).max):
        A = A.astype("float64" if dtype == "float32" else "float32")
    return X, A


# -- oracles ---------------------------------------------------------------------------------


def _unit(Z):
    """Rows of unit length (zero rows stay zero), in long double."""
    top = np.max(np.abs(Z), axis=1, keepdims=True)
    Z = Z / np.where(top > 0, top, 1)
    norms = np.sqrt(np.sum(Z * Z, axis=1, keepdims=True))
    return Z / np.where(norms > 0, norms, 1)


def exact_kernel(X, A, kernel, p=2.0):
    """The kernel of the given numbers, in long double, with the package's conventions."""
    name = get_kernel(kernel).name
    X, A = np.asarray(X, dtype=LONG), np.asarray(A, dtype=LONG)
    if name in ("cosine", "angular"):
        U, V = _unit(X), _unit(A)
        if name == "cosine":
            return U @ V.T  # a zero row gives 0
        minus = np.sqrt(np.sum((U[:, None] - V[None]) ** 2, axis=2))
        plus = np.sqrt(np.sum((U[:, None] + V[None]) ** 2, axis=2))
        angle = 2 * np.arctan2(minus, plus) / LONG(np.pi)
        zero = (np.abs(U).sum(axis=1)[:, None] == 0) | (np.abs(V).sum(axis=1)[None] == 0)
        return np.where(zero, LONG(0.5), angle)
    diff = np.abs(X[:, None] - A[None])
    top = diff.max(axis=2)
    if name == "l1" or (name == "minkowski" and p == 1):
        return diff.sum(axis=2)
    if name == "linf" or (name == "minkowski" and p == np.inf):
        return top
    order = 2.0 if name == "euclidean" else p
    safe = np.where(top > 0, top, 1)[..., None]
    return top * np.sum((diff / safe) ** order, axis=2) ** (1 / LONG(order))


def bound(kernel, dtype, exact, n_features, p=2.0):
    """Elementwise error bound: the kernel's tolerance plus the oracle's own rounding."""
    kernel = get_kernel(kernel)
    tol = kernel.tolerance(dtype, n_features, p=p) + kernel.tolerance(LONG, n_features, p=p)
    if kernel.error == "absolute":
        return np.full(exact.shape, tol, dtype=LONG)
    return tol * np.maximum(np.abs(exact), LONG(np.finfo(dtype).smallest_normal))


def exact_normalize(K, norm):
    """``normalize_rows`` of exact values, in long double (constant and zero rows give 0)."""
    K = np.asarray(K, dtype=LONG)
    if norm is None:
        return K
    top = np.max(np.abs(K), axis=1, keepdims=True)
    scaled = K / np.where(top > 0, top, 1)
    if norm == "l2":
        length = np.sqrt(np.sum(scaled**2, axis=1, keepdims=True))
        return scaled / np.where(length > 0, length, 1)
    centred = scaled - scaled.mean(axis=1, keepdims=True)
    spread = np.sqrt(np.mean(centred**2, axis=1, keepdims=True))
    return np.where(spread > 0, centred / np.where(spread > 0, spread, 1), 0)


def assert_normalized_close(out, K_exact, errors, norm, dtype):
    """Compare normalised rows with the exact ones, as far as the kernel's errors allow.

    ``errors`` bounds the error of each kernel value. A row whose exact values are all equal
    (or all zero) must come out as zeros. Otherwise the normalisation amplifies the errors by
    at most ``2 (1 + sqrt(k)) / spread`` ("layer", ``spread`` the exact standard deviation)
    or ``2 sqrt(k) / length`` ("l2"); rows too ill-conditioned for that to mean anything are
    only checked to be finite and bounded.
    """
    out = np.asarray(out, dtype=LONG)
    assert np.all(np.isfinite(out))
    expected = exact_normalize(K_exact, norm)
    if norm is None:
        assert np.all(np.abs(out - expected) <= errors)
        return
    k = K_exact.shape[1]
    eps = np.finfo(dtype).eps
    # The kernel's errors, plus the rounding of the normalisation itself (of the order of eps
    # times the row's largest value, which the division by a small spread amplifies too).
    delta = errors.max(axis=1) + 4 * eps * np.max(np.abs(K_exact), axis=1)
    if norm == "l2":
        size = np.sqrt(np.sum(K_exact**2, axis=1))
        amplification = 2 * np.sqrt(k)
        assert np.all(np.abs(out) <= 1 + 4 * eps)
    else:
        size = np.std(K_exact, axis=1)
        amplification = 2 * (1 + np.sqrt(k))
        assert np.all(np.abs(out) <= np.sqrt(k) + 4 * eps)
    constant = size == 0
    assert np.all(out[constant] == 0), "constant rows must normalise to zeros"
    conditioned = size > 64 * amplification * delta
    allowed = amplification * delta[:, None] / np.where(size > 0, size, 1)[:, None] + 8 * eps * (
        1 + np.abs(expected))
    assert np.all((np.abs(out - expected) <= allowed)[conditioned])


# -- kernels ---------------------------------------------------------------------------------

ORDERS = {"minkowski": st.sampled_from([1.0, 1.5, 2.0, 3.0, np.inf])}


def _expect_contract(X, A, kernel, p=2.0):
    """Compute the kernel and check it against the oracle, or check the overflow error."""
    dtype = X.dtype
    A_cast = A.astype(dtype)  # the kernel computes on the anchors cast to the samples' dtype
    exact = exact_kernel(X, A_cast, kernel, p)
    largest = np.finfo(dtype).max
    tol = get_kernel(kernel).tolerance(dtype, X.shape[1], p=p)
    if np.any(exact > largest * (1 - 2 * tol)):
        try:
            K = pairwise_kernel(X, A, kernel, p=p)
        except ValueError as error:
            assert f"distances between X and the anchors overflow {dtype}" in str(error)
            assert np.any(exact > largest * (1 - 2 * tol))
            return None
        # Only a true result at the very edge may come out finite.
        assert np.all(exact <= largest * (1 + 2 * tol))
    else:
        K = pairwise_kernel(X, A, kernel, p=p)
    assert K.dtype == dtype
    assert np.all(np.isfinite(K)), "finite input must give finite kernel values"
    error = np.abs(K.astype(LONG) - exact)
    assert np.all(error <= bound(kernel, dtype, exact, X.shape[1], p)), (
        f"{kernel}: largest error {float(error.max()):.3g}"
    )
    return K


@profile(300)
@given(samples_and_anchors(), st.sampled_from(available_kernels(aliases=True)), st.data())
def test_every_kernel_meets_its_contract(pair, kernel, data):
    X, A = pair
    p = data.draw(ORDERS.get(kernel, st.just(2.0)))
    _expect_contract(X, A, kernel, p)


@profile(120)
@given(samples_and_anchors(), st.sampled_from(available_kernels()),
       st.integers(-60, 60))
def test_kernels_follow_a_power_of_two_scaling(pair, kernel, shift):
    """Scale-invariant kernels give the result of scale 1, distances 2**shift times it."""
    X, A = pair
    A = A.astype(X.dtype)
    info = np.finfo(X.dtype)
    with np.errstate(over="ignore", under="ignore"):
        X2, A2 = np.ldexp(X, shift), np.ldexp(A, shift)
    # Powers of two scale exactly unless a value leaves the normal range.
    for before, after in ((X, X2), (A, A2)):
        nonzero = before != 0
        assume(np.all(np.abs(before[nonzero]) >= info.smallest_normal))
        assume(np.all(np.isfinite(after)))
        assume(np.all(np.abs(after[nonzero]) >= info.smallest_normal))
    try:
        base = pairwise_kernel(X, A, kernel)
        scaled = pairwise_kernel(X2, A2, kernel)
    except ValueError as error:
        assert "overflow" in str(error)
        return
    rule = get_kernel(kernel)
    tol = 2 * rule.tolerance(X.dtype, X.shape[1])
    if rule.invariances and "isotropic scaling" in rule.invariances:
        np.testing.assert_allclose(scaled, base, rtol=0, atol=tol)
    else:
        expected = np.ldexp(base.astype(np.float64), shift)
        assert np.all(np.abs(scaled - expected) <= tol * np.maximum(
            np.abs(expected), info.smallest_normal))


# -- projections -----------------------------------------------------------------------------

PRODUCT = ["cosine", "euclidean", "l1", "linf"]


@profile(150)
@given(samples_and_anchors(min_anchors=2), st.sampled_from(available_kernels()),
       st.sampled_from([None, "layer", "l2"]))
def test_relative_projection_at_every_magnitude(pair, kernel, normalize):
    X, A = pair
    A = A.astype(X.dtype)
    exact = exact_kernel(X, A, kernel)
    assume(np.all(exact <= np.finfo(X.dtype).max / 2))  # overflow: see the kernel tests
    projection = RelativeProjection(kernel, normalize=normalize).fit(A)
    out = projection.transform(X)
    assert out.dtype == X.dtype
    errors = bound(kernel, X.dtype, exact, X.shape[1])
    assert_normalized_close(out, exact, errors, normalize, X.dtype)


@profile(80)
@given(samples_and_anchors(min_anchors=2), st.sampled_from([None, "layer", "l2"]))
def test_product_projection_at_every_magnitude(pair, normalize):
    X, A = pair
    A = A.astype(X.dtype)
    exacts = [exact_kernel(X, A, kernel) for kernel in PRODUCT]
    assume(all(np.all(e <= np.finfo(X.dtype).max / 2) for e in exacts))
    out = ProductProjection(PRODUCT, normalize=normalize).fit(A).transform(X)
    assert out.shape == (len(X), len(PRODUCT) * len(A)) and out.dtype == X.dtype
    for position, (kernel, exact) in enumerate(zip(PRODUCT, exacts)):
        # distance subspaces come out negated (orient=True, the default)
        sign = 1 if get_kernel(kernel).kind == "similarity" else -1
        block = sign * out[:, position * len(A): (position + 1) * len(A)]
        errors = bound(kernel, X.dtype, exact, X.shape[1])
        assert_normalized_close(block, exact, errors, normalize, X.dtype)


@profile(40)
@given(samples_and_anchors(min_anchors=2))
def test_product_sum_of_layer_normalised_subspaces(pair):
    """The fixed sum orients distances as similarities: cosine minus the three distances."""
    X, A = pair
    A = A.astype(X.dtype)
    exacts = [exact_kernel(X, A, kernel) for kernel in PRODUCT]
    assume(all(np.all(e <= np.finfo(X.dtype).max / 2) for e in exacts))
    out = ProductProjection(PRODUCT, aggregate="sum").fit(A).transform(X)
    assert np.all(np.isfinite(out))
    parts = [exact_normalize(exact, "layer") for exact in exacts]
    expected = parts[0] - parts[1] - parts[2] - parts[3]
    # Only rows where every subspace is well conditioned are compared.
    conditioned = np.ones(len(X), dtype=bool)
    for kernel, exact in zip(PRODUCT, exacts):
        delta = bound(kernel, X.dtype, exact, X.shape[1]).max(axis=1)
        conditioned &= np.std(exact, axis=1) > 1e3 * (1 + np.sqrt(len(A))) * delta
    if conditioned.any():
        np.testing.assert_allclose(out[conditioned].astype(np.float64),
                                   expected[conditioned].astype(np.float64),
                                   rtol=0, atol=1e-3 if X.dtype == np.float32 else 1e-9)


@profile(60)
@given(samples_and_anchors(min_anchors=2), st.sampled_from(available_kernels()),
       st.sampled_from([{"center": True}, {"scale": True}, {"center": True, "scale": True},
                        {"l2_normalize": True}]),
       st.integers(-1000, 1000))
def test_anchor_fitted_preprocessing_at_every_magnitude(pair, kernel, options, shift):
    """Centring, standard scaling and L2 normalisation on anchors multiplied by 2**shift give
    the projection of shift 0: standardised inputs do not depend on the scale at all, centred
    distances scale with it. (At 1e160 and beyond the anchor statistics overflowed.)"""
    X, A = pair
    A = A.astype(X.dtype)
    # A constant feature keeps the scale 1 (scikit-learn's convention), which is not
    # scale-free: leave those out of standard scaling.
    assume(not options.get("scale") or np.all(np.ptp(A, axis=0) > 0))
    info = np.finfo(X.dtype)
    with np.errstate(over="ignore", under="ignore"):
        X2, A2 = np.ldexp(X, shift), np.ldexp(A, shift)
    for before, after in ((X, X2), (A, A2)):  # exact scaling only, within the normal range
        nonzero = before != 0
        assume(np.all(np.abs(before[nonzero]) >= info.smallest_normal))
        assume(np.all(np.isfinite(after)))
        assume(np.all(np.abs(after[nonzero]) >= info.smallest_normal))
    try:
        base = RelativeProjection(kernel, **options).fit(A).transform(X)
    except ValueError as error:  # a distance or a centred value beyond the dtype
        assert "overflow" in str(error)
        return
    scaled = RelativeProjection(kernel, **options).fit(A2).transform(X2)
    assert np.all(np.isfinite(scaled))
    rule = get_kernel(kernel)
    invariant = (options.get("scale") or options.get("l2_normalize")
                 or "isotropic scaling" in rule.invariances)
    expected = base.astype(np.float64) if invariant else np.ldexp(base.astype(np.float64), shift)
    tol = 4 * rule.tolerance(X.dtype, X.shape[1])
    if rule.error == "absolute":
        assert np.all(np.abs(scaled - expected) <= tol)
    else:
        size = np.maximum(np.abs(expected), np.ldexp(info.smallest_normal, 0 if invariant
                                                          else max(shift, 0)))
        assert np.all(np.abs(scaled - expected) <= tol * size)


@st.composite
def relative_rows(draw):
    """Rows to normalise: magnitudes from subnormal to near the largest, with constant rows,
    rows of one repeated value but one, zero rows and one huge column."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    low, high = EXPONENTS[dtype]
    n, k = draw(st.integers(1, 8)), draw(st.integers(2, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    R = rng.uniform(-1, 1, size=(n, k))
    R[rng.random(n) < 0.3] = rng.uniform(-1, 1)  # constant rows
    R[rng.random(n) < 0.2] = 0.0
    if draw(st.booleans()):
        R[:, rng.integers(k)] *= 10.0 ** draw(st.integers(1, 30))
        R /= max(np.abs(R).max(), 1.0)
    exponent = draw(st.integers(low, high))
    with np.errstate(under="ignore"):
        return (R * 10.0**exponent).astype(dtype)


@profile(150)
@given(relative_rows(), st.sampled_from(["layer", "l2"]))
def test_normalize_rows_at_every_magnitude(R, norm):
    out = normalize_rows(R, norm)
    assert out.dtype == R.dtype
    # The input is exact: its values carry no error of their own.
    assert_normalized_close(out, R.astype(LONG), np.zeros(R.shape, dtype=LONG), norm, R.dtype)


def test_layer_normalisation_of_duplicate_anchors_is_zero(rng):
    """A projection onto one anchor repeated: every row is constant, so every row is zero."""
    for dtype in (np.float32, np.float64):
        X = rng.normal(size=(50, 7)).astype(dtype) * 3 + 10
        anchors = np.repeat(rng.normal(size=(1, 7)), 13, axis=0).astype(dtype)
        for kernel in available_kernels():
            out = RelativeProjection(kernel, normalize="layer").fit(anchors).transform(X)
            np.testing.assert_array_equal(out, 0.0, err_msg=f"{kernel} {dtype.__name__}")
        out = ProductProjection(PRODUCT).fit(anchors).transform(X)
        np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_keeps_a_small_genuine_spread(dtype, rng):
    """Far from the constant-row threshold, a relative spread of 1e-4 (float32) or 1e-10
    (float64) is signal: it is standardised, not zeroed."""
    spread = 1e-4 if dtype == np.float32 else 1e-10
    R = (1000.0 * (1 + spread * rng.uniform(-1, 1, size=(4, 20)))).astype(dtype)
    out = normalize_rows(R, "layer")
    np.testing.assert_allclose(out.std(axis=1), 1.0, rtol=1e-3)
    expected = exact_normalize(R, "layer").astype(np.float64)
    np.testing.assert_allclose(out, expected, atol=1e-3)


# -- anchors ---------------------------------------------------------------------------------


@st.composite
def rows_to_choose_from(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    low, high = EXPONENTS[dtype]
    n, d = draw(st.integers(2, 24)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.uniform(-1, 1, size=(n, d))
    structure = draw(st.sampled_from(["plain", "duplicate rows", "one huge column"]))
    if structure == "duplicate rows":
        X[rng.integers(n, size=n // 2)] = X[rng.integers(n, size=n // 2)]
    elif structure == "one huge column":
        X[:, 0] = rng.integers(1, 3, size=n)  # ties in the huge column
        X[:, 0] *= 10.0 ** draw(st.integers(1, high // 2))
        X /= max(np.abs(X).max(), 1.0)
    with np.errstate(under="ignore"):
        return (X * 10.0 ** draw(st.integers(low + 8, high))).astype(dtype)


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@profile(60)
@given(rows_to_choose_from(), st.sampled_from(["random", "stratified", "kmeans", "fps"]),
       st.data())
def test_select_anchors_at_every_magnitude(X, strategy, data):
    n_anchors = data.draw(st.integers(1, len(X)))
    y = np.arange(len(X)) % 3
    idx = select_anchors(X, n_anchors, strategy=strategy, y=y, random_state=0)
    assert idx.shape == (n_anchors,) and len(np.unique(idx)) == n_anchors
    distinct = len(np.unique(X, axis=0))
    if strategy in ("kmeans", "fps") and distinct >= n_anchors:
        assert len(np.unique(X[idx], axis=0)) == n_anchors, "duplicate rows chosen"
    # The selection does not depend on the scale: multiply by a power of two (exactly).
    shift = data.draw(st.integers(-40, 40))
    info = np.finfo(X.dtype)
    with np.errstate(over="ignore", under="ignore"):
        X2 = np.ldexp(X, shift)
    nonzero = X != 0
    if np.all(np.isfinite(X2)) and np.all(np.abs(X2[nonzero]) >= info.smallest_normal) and (
            np.all(np.abs(X[nonzero]) >= info.smallest_normal)):
        again = select_anchors(X2, n_anchors, strategy=strategy, y=y, random_state=0)
        np.testing.assert_array_equal(again, idx)


# -- alignments ------------------------------------------------------------------------------


@st.composite
def aligned_pair(draw, *, affine, translate, rescale):
    """Source anchors at a drawn magnitude and an exact image of them in a target space.

    The map is orthogonal (widening) or, with ``affine``, a random well-conditioned linear
    map; with ``rescale`` the target is up to 1e3 times larger or smaller, with ``translate``
    both sides are offset. The anchors have orthonormal columns: well conditioned.
    """
    dtype = draw(st.sampled_from(["float32", "float64"]))
    low, high = EXPONENTS[dtype]
    d = draw(st.integers(1, 5))
    d_out = draw(st.integers(1, 5) if affine else st.integers(d, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = 4 * d + 4
    basis = np.linalg.qr(rng.normal(size=(n, d)))[0] * np.sqrt(n)
    source_exponent = draw(st.integers(low + 10, high - 4))
    target_exponent = source_exponent + (draw(st.integers(-3, 3)) if rescale else 0)
    assume(low + 10 <= target_exponent <= high - 4)
    if affine:
        rotation = ortho_group.rvs(max(d, d_out, 2), random_state=seed)[:d, :d_out]
        W = rotation * rng.uniform(0.5, 2, size=d_out)
    else:  # orthonormal rows: a rotation of the source into the (wider) target
        W = ortho_group.rvs(d_out, random_state=seed)[:d] if d_out > 1 else np.array([[-1.0]])
    offset = draw(st.sampled_from([1.0, 100.0])) if translate else 0.0
    shift = rng.uniform(-1, 1, size=d_out) if translate else np.zeros(d_out)
    X = (basis + offset) * 10.0**source_exponent
    Y = ((basis + offset) @ W + shift) * 10.0**target_exponent
    return X.astype(dtype), Y.astype(dtype)


def _relative_error(result, target):
    return np.max(np.abs(result.astype(np.float64) - target)) / np.max(np.abs(target))


@profile(60)
@given(st.data(), st.booleans(), st.booleans())
def test_orthogonal_alignment_recovers_an_exact_copy_at_every_magnitude(data, center, scale):
    X, Y = data.draw(aligned_pair(affine=False, translate=center, rescale=scale))
    al = OrthogonalAlignment(center=center, scale=scale).fit(X, Y)
    assert isfinite(al.scale_) and al.scale_ > 0
    out, back = al.transform(X), al.inverse_transform(Y)
    assert out.dtype == X.dtype and np.all(np.isfinite(out)) and np.all(np.isfinite(back))
    tol = 200 * len(X) * np.finfo(X.dtype).eps
    assert _relative_error(out, Y) <= tol
    assert _relative_error(back, X) <= tol


@profile(60)
@given(st.data(), st.booleans())
def test_affine_alignment_recovers_an_exact_copy_at_every_magnitude(data, fit_intercept):
    X, Y = data.draw(aligned_pair(affine=True, translate=fit_intercept, rescale=True))
    al = AffineAlignment(fit_intercept=fit_intercept).fit(X, Y)
    out = al.transform(X)
    assert out.dtype == X.dtype and np.all(np.isfinite(out))
    assert _relative_error(out, Y) <= 200 * len(X) * np.finfo(X.dtype).eps
    if Y.shape[1] >= X.shape[1]:  # an injective map: the inverse recovers the source
        back = al.inverse_transform(Y)
        assert _relative_error(back, X) <= 1e3 * len(X) * np.finfo(X.dtype).eps


# -- the reported cases, and the errors ------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float32, 1e19), (np.float32, 1e30), (np.float32, 1e38), (np.float32, 1e-40),
     (np.float64, 1e160), (np.float64, 1e300), (np.float64, 1e-310)],
)
def test_reported_magnitudes(dtype, scale, rng):
    """Cosine was all zeros, angular 0.5, euclidean NaN where a sample equals an anchor."""
    X0, A0 = rng.uniform(-1, 1, size=(6, 4)), rng.uniform(-1, 1, size=(3, 4))
    X, A = (X0 * scale).astype(dtype), (A0 * scale).astype(dtype)
    X[0] = A[0]
    for kernel in ("cosine", "angular", "euclidean", "minkowski"):
        K = _expect_contract(X, A, kernel)
        assert K is not None and np.all(np.isfinite(K))
    assert pairwise_kernel(X, A, "cosine")[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert pairwise_kernel(X, A, "angular")[0, 0] == 0.0
    assert pairwise_kernel(X, A, "euclidean")[0, 0] == 0.0


@pytest.mark.parametrize("dtype, top", [(np.float32, 36), (np.float64, 300)])
@pytest.mark.parametrize("kernel", ["euclidean", "cosine", "angular", "l1"])
def test_blocks_of_different_magnitudes(dtype, top, kernel, rng):
    """Each block of rows has its own magnitude, far above and below the anchors': the
    Euclidean kernel switches between its anchors' scale and a common one block by block."""
    from sklearn import config_context

    A = rng.uniform(-1, 1, size=(7, 5)).astype(dtype)
    magnitudes = 10.0 ** rng.integers(-top, top // 8, size=(400, 1))
    X = (rng.uniform(-1, 1, size=(400, 5)) * magnitudes).astype(dtype)
    X[::50] = A[0]  # exact duplicates of an anchor in several blocks
    with config_context(working_memory=0.001):  # blocks of a few rows
        K = pairwise_kernel(X, A, kernel)
    exact = exact_kernel(X, A, kernel)
    assert np.all(np.abs(K - exact) <= bound(kernel, dtype, exact, X.shape[1]))


def test_transform_npy_writes_no_nan_at_large_magnitudes(tmp_path, rng):
    from skinvariance.io import transform_npy

    A = (rng.uniform(-1, 1, size=(5, 8)) * 1e30).astype(np.float32)
    X = np.vstack([A, (rng.uniform(-1, 1, size=(20, 8)) * 1e30).astype(np.float32)])
    np.save(tmp_path / "x.npy", X)
    projection = ProductProjection(PRODUCT[:2], normalize=None).fit(A)
    transform_npy(projection, tmp_path / "x.npy", tmp_path / "out.npy")
    out = np.load(tmp_path / "out.npy")
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[np.arange(5), 5 + np.arange(5)], 0.0)


@pytest.mark.parametrize("kernel", ["l1", "linf", "euclidean", "minkowski"])
def test_overflowing_distances_name_x_and_the_dtype(kernel):
    X = np.full((300, 4), 3e38, dtype=np.float32)  # several parts on several threads
    X[::2] = 1.0
    A = -X[1:3]
    with pytest.raises(ValueError, match=f"The {kernel} distances between X and the anchors "
                       r"overflow float32 .*use float64"):
        pairwise_kernel(X, A, kernel, p=3.0)
    # In float64 the same numbers are fine.
    K = pairwise_kernel(X.astype(np.float64), A.astype(np.float64), kernel, p=3.0)
    assert np.all(np.isfinite(K))


def test_fused_l1_and_linf_report_overflow():
    X = np.full((300, 4), 3e38, dtype=np.float32)
    projection = ProductProjection(["l1", "linf"], normalize=None).fit(-X[:3])
    with pytest.raises(ValueError, match="distances between X and the anchors overflow float32"):
        projection.transform(X)


def test_anchors_that_overflow_the_samples_dtype_are_refused():
    X = np.ones((2, 3), dtype=np.float32)
    A = np.full((2, 3), 1e300)
    # numpy warns about the cast to float32 before the kernel refuses its result.
    with np.errstate(over="ignore"), pytest.raises(
            ValueError, match="The anchors do not fit in float32, the dtype of X"):
        pairwise_kernel(X, A, "cosine")


def test_orthogonal_scale_beyond_float64_is_an_error(rng):
    X = rng.normal(size=(20, 3)) * 1e-300
    Y = rng.normal(size=(20, 3)) * 1e300
    with pytest.raises(ValueError, match="the scale between the spaces does not fit in float64"):
        OrthogonalAlignment(scale=True).fit(X, Y)


def test_alignment_output_beyond_the_dtype_is_an_error(rng):
    X = rng.normal(size=(20, 3)).astype(np.float32)
    al = AffineAlignment().fit(X, 1e37 * X)
    with pytest.raises(ValueError, match="values mapped by AffineAlignment overflow float32"):
        al.transform(100 * X)
