"""The similarity measures' numeric contract at every magnitude the dtypes hold.

Every measure of the registry states what scaling it does not see (``Measure.scaling``: a
positive factor per space, or per sample) and its contract (``Measure.tolerance``; the ``at
any magnitude`` column of ``measure_table()``): finite input of any magnitude gives the value
of the same numbers at scale 1, within the tolerance, never NaN, and an undefined case gives
the same clear error at every scale. The oracle is that invariance: the inputs are drawn at
scale 1 (with the structures that break naive sums of squares: constant rows, duplicate
rows, zero rows, one column far larger than the others, a constant column far larger than
the others), multiplied by powers of two that take them anywhere from the subnormal numbers
to the largest number of float32 or float64, and divided back by the same powers, exactly,
for the reference. The measures' values at scale 1 are checked against scipy and
scikit-learn in their own test modules.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from skinvariance._compat import InvalidParameterError
from skinvariance._validation import DataError
from skinvariance.metrics import (
    available_measures,
    cka,
    get_measure,
    linear_regression_r2,
    measure_table,
    permutation_test,
    rbf_cka,
    similarity_matrix,
)
from skinvariance.metrics._base import exact_unit_rows


def profile(examples):
    """The fixed-seed Hypothesis profile of this file: the same examples on every run."""
    return settings(
        derandomize=True, database=None, max_examples=examples, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


#: Binary exponents of the largest magnitude drawn, per dtype: from where everything but the
#: largest values is subnormal to just below the largest finite number.
EXPONENTS = {"float32": (-149, 127), "float64": (-1074, 1023)}
STRUCTURES = ("plain", "constant rows", "duplicate rows", "zero rows", "one huge column",
              "huge constant column")
#: Parameters that make the measures defined on a few samples.
PARAMS = {"knn_jaccard": {"k": 3}, "mutual_knn": {"k": 3}, "cknna": {"k": 3}}
MEASURES = available_measures()


def _structured(rng, Z, structure, gap):
    """Apply a structure to ``Z`` (n x d, entries in [-1, 1]) in place."""
    n, d = Z.shape
    if structure == "constant rows":  # rows whose features are all equal
        Z[rng.random(n) < 0.5] = rng.uniform(-1, 1)
    elif structure == "duplicate rows":
        Z[::2] = Z[0]
    elif structure == "zero rows":
        Z[rng.random(n) < 0.3] = 0.0
    elif structure == "one huge column":  # the others 2**gap times smaller
        Z[:, np.arange(d) != rng.integers(d)] *= 2.0**-gap
    elif structure == "huge constant column" and d > 1:  # a large offset, not a spread
        Z *= 2.0**-gap
        Z[:, rng.integers(d)] = 0.75
    return Z


@st.composite
def spaces_at_scale_one(draw, same_width=False):
    """``(X, Y)``: two related float64 spaces of the same samples, entries within [-1, 1]."""
    n = draw(st.integers(5, 12))
    d_x = draw(st.integers(1, 5))
    d_y = d_x if same_width else draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.uniform(-1, 1, size=(n, d_x))
    Y = 0.7 * X @ rng.uniform(-1, 1, size=(d_x, d_y)) + 0.3 * rng.uniform(-1, 1, size=(n, d_y))
    Y /= max(np.abs(Y).max(), 1.0)
    for Z in (X, Y):
        structure = draw(st.sampled_from(STRUCTURES))
        _structured(rng, Z, structure, draw(st.integers(1, 600)))
    return X, Y


def _exponents(draw, dtype, shape, per_row):
    """Powers of two for a space: one, or one per row around a drawn one."""
    low, high = EXPONENTS[dtype]
    base = draw(st.integers(low, high))
    if not per_row:
        return np.full((shape[0], 1), base)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread = draw(st.sampled_from([0, 10, 200]))
    return np.clip(base + rng.integers(-spread, spread + 1, size=(shape[0], 1)), low, high)


def _at_magnitude(Z, exponents, dtype):
    """``Z * 2**exponents`` in ``dtype`` (rounded where it falls among the subnormal numbers),
    and the same numbers divided back by ``2**exponents`` in float64: exactly, since every
    number of either dtype divided by a power of two within the range is a normal float64."""
    with np.errstate(under="ignore"):
        scaled = np.ldexp(Z, exponents).astype(dtype)
    back = np.ldexp(scaled.astype(np.float64), -exponents)
    assert np.array_equal(np.ldexp(back, exponents), scaled.astype(np.float64))
    return scaled, back


def _outcome(function, X, Y, params):
    """The measure's value, or the error it raised (which must be one of a user's mistake)."""
    try:
        return function(X, Y, **params)
    except (DataError, InvalidParameterError) as error:
        return error


def _assert_same_outcome(value, reference, measure, renamed=()):
    """The same error (up to the ``renamed`` (at scale, at scale 1) parameter values in its
    message), or a finite value in [-1, 1] within the measure's tolerance of the reference."""
    if isinstance(reference, Exception):
        assert type(value) is type(reference), f"{measure.name}: {value!r} vs {reference!r}"
        message = str(value)
        for at_scale, at_one in renamed:
            message = message.replace(f"={at_scale!r}", f"={at_one!r}")
        assert message == str(reference)
        return
    assert not isinstance(value, Exception), f"{measure.name} raised {value!r} at scale"
    assert isinstance(value, float) and np.isfinite(value)
    assert -1.0 <= value <= 1.0
    assert abs(value - reference) <= measure.tolerance, (measure.name, value, reference)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@profile(500)
@given(st.sampled_from(MEASURES), st.sampled_from(["float32", "float64"]), st.data())
def test_every_measure_gives_its_value_at_scale_one(name, dtype, data):
    measure = get_measure(name)
    X0, Y0 = data.draw(spaces_at_scale_one(same_width=measure.same_width))
    per_row = measure.scaling == "sample"
    dtype_y = data.draw(st.sampled_from([dtype, "float32", "float64"]))  # mixed dtypes too
    X, X1 = _at_magnitude(X0, _exponents(data.draw, dtype, X0.shape, per_row), dtype)
    Y, Y1 = _at_magnitude(Y0, _exponents(data.draw, dtype_y, Y0.shape, per_row), dtype_y)
    params = PARAMS.get(name, {})
    reference = _outcome(measure.function, X1, Y1, params)
    event("error" if isinstance(reference, Exception) else "value")
    _assert_same_outcome(_outcome(measure.function, X, Y, params), reference, measure)


@profile(60)
@given(spaces_at_scale_one(), st.sampled_from(["float32", "float64"]), st.data())
def test_parameters_with_units_follow_the_scale(spaces, dtype, data):
    """A given RBF bandwidth scales with both spaces; a ridge penalty with X's square."""
    X0, Y0 = spaces
    low, high = EXPONENTS[dtype]
    shift = data.draw(st.integers(low + 2, high))
    X, X1 = _at_magnitude(X0, np.full((len(X0), 1), shift), dtype)
    Y, Y1 = _at_magnitude(Y0, np.full((len(Y0), 1), shift), dtype)
    sigma = data.draw(st.sampled_from([1e-300, 1e-3, 0.5, 3.0, 1e300]))
    with np.errstate(over="ignore", under="ignore"):
        scaled_sigma = float(np.ldexp(sigma, shift))
    assume(0 < scaled_sigma < np.inf and np.ldexp(scaled_sigma, -shift) == sigma)
    reference = _outcome(rbf_cka, X1, Y1, {"sigma": sigma})
    value = _outcome(rbf_cka, X, Y, {"sigma": scaled_sigma})
    _assert_same_outcome(value, reference, get_measure("rbf_cka"), [(scaled_sigma, sigma)])

    alpha = data.draw(st.sampled_from([1e-3, 1.0, 1e3]))
    scaled_alpha = float(np.ldexp(alpha, 2 * shift)) if 2 * shift < 1000 else None
    assume(scaled_alpha is not None and 0 < scaled_alpha < np.inf)
    assume(np.ldexp(scaled_alpha, -2 * shift) == alpha)
    reference = _outcome(linear_regression_r2, X1, Y1, {"alpha": alpha})
    value = _outcome(linear_regression_r2, X, Y, {"alpha": scaled_alpha})
    _assert_same_outcome(value, reference, get_measure("linear_regression_r2"))


# -- the reported cases ------------------------------------------------------------------------


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize(
    "dtype, scale",
    [("float64", 1e300), ("float64", 1e-310), ("float64", 1e160), ("float32", 1e30),
     ("float32", 3e38), ("float32", 1e-40)],
)
def test_reported_magnitudes(name, dtype, scale, rng):
    """NaN at 1e300 (CKA, Pearson, cosine), 1/n instead of 1 (MRR), a traceback from scipy
    (Procrustes, RBF CKA): now the value of scale 1, to the rounding of the scaled input."""
    measure = get_measure(name)
    X = rng.uniform(-1, 1, size=(30, 4))
    Y = X @ rng.normal(size=(4, 4)) + 0.3 * rng.normal(size=(30, 4))
    Y /= np.abs(Y).max()
    params = PARAMS.get(name, {})
    expected = measure.function(X, Y, **params)
    with np.errstate(under="ignore"):
        Xs, Ys = (X * scale).astype(dtype), (Y * scale).astype(dtype)
    assert np.all(np.isfinite(Xs)) and np.all(np.isfinite(Ys))
    # The input's own rounding (to float32, or among the subnormal numbers) perturbs the
    # value; an exact rescaling of the rounded numbers gives it exactly.
    rounded = measure.function(Xs.astype(np.float64) / scale, Ys.astype(np.float64) / scale,
                               **params)
    value = measure.function(Xs, Ys, **params)
    assert np.isfinite(value)
    assert value == pytest.approx(rounded, abs=1e-9)
    if dtype == "float64" and scale >= 1:
        assert value == pytest.approx(expected, abs=1e-9)


def test_mean_reciprocal_rank_of_a_space_with_itself_is_one_at_every_magnitude(rng):
    X = rng.normal(size=(20, 5))
    for scale in (1e-310, 1e-300, 1.0, 1e300):
        assert get_measure("mrr").function(X * scale, X * scale) == 1.0


@profile(200)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(-1000, 1000))
def test_exact_unit_rows_keep_ties_at_every_magnitude(seed, d, exponent):
    """The neighbour measures' unit rows: ``Z / |Z|`` (numpy's norm is the oracle at scale 1),
    a one-feature row exactly its sign, and the same bits for ``2**k Z`` as for ``Z``, so that
    tied neighbours stay tied at every magnitude."""
    rng = np.random.default_rng(seed)
    # Magnitudes in [0.25, 1]: 2**k Z stays a normal number for every k drawn.
    Z = rng.uniform(0.25, 1.0, (8, d)) * rng.choice([-1.0, 1.0], (8, d))
    Z[3] = 0.0
    unit = exact_unit_rows(Z)
    nonzero = np.delete(Z, 3, axis=0)
    np.testing.assert_allclose(np.delete(unit, 3, axis=0),
                               nonzero / np.linalg.norm(nonzero, axis=1, keepdims=True),
                               rtol=1e-15, atol=0)
    assert not unit[3].any()
    assert np.array_equal(exact_unit_rows(np.ldexp(Z, exponent)), unit)
    if d == 1:
        assert np.array_equal(unit[:, 0], np.sign(Z[:, 0]))


@pytest.mark.parametrize("sigma", [1e-300, 5e-324])
def test_a_tiny_sigma_makes_every_kernel_the_identity(sigma, rng):
    """Was a bare ZeroDivisionError: distinct rows have kernel value 0, so CKA is 1."""
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    assert rbf_cka(X, Y, sigma=sigma) == 1.0
    assert cka(X, Y, kernel="rbf", sigma=sigma) == 1.0
    # Debiased HSIC ignores the diagonal, and nothing else is left.
    with pytest.raises(DataError, match=r"too little variance to compare with sigma=.*far "
                       "below it, with debiased=True"):
        rbf_cka(X, Y, sigma=sigma, debiased=True)


def test_a_huge_sigma_is_named_in_the_error(rng):
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    with pytest.raises(DataError, match=r"too little variance .*with sigma=1e\+300"):
        rbf_cka(X, Y, sigma=1e300)


def test_constant_column_far_above_the_others_keeps_the_spread(rng):
    """A constant column of 1e300 next to columns of magnitude 1: centring removes it, and
    the rest is still compared (not taken for a space of zero variance)."""
    X, Y = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    X_offset = np.hstack([np.full((25, 1), 1e300), X])
    measures = {"linear_cka": {}, "procrustes_similarity": {}, "svcca": {}, "rbf_cka": {},
                "rsa": {"distance": "euclidean"}, "linear_regression_r2": {"alpha": 1.0}}
    for name, params in measures.items():
        function = get_measure(name).function
        assert function(X_offset, Y, **params) == pytest.approx(function(X, Y, **params),
                                                                abs=1e-12)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("metric", ["linear_cka", "rbf_cka", "rsa", "cknna"])
@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_permutation_nulls_at_extreme_magnitudes(metric, scale, rng):
    """The nulls (float32 Gram matrices among them) see the rescaled spaces too."""
    X = rng.normal(size=(30, 4))
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(30, 3))
    params = {"metric_params": PARAMS.get(metric), "n_permutations": 20, "random_state": 0}
    base = permutation_test(X, Y, metric, **params)
    extreme = permutation_test(X * scale, Y / scale, metric, **params)
    assert extreme.statistic == pytest.approx(base.statistic, abs=1e-9)
    np.testing.assert_allclose(extreme.null_distribution, base.null_distribution, atol=1e-6)


def test_similarity_matrix_of_spaces_at_different_magnitudes(rng):
    X = rng.normal(size=(30, 4))
    spaces = {"tiny": X * 1e-305, "one": X, "huge": X * 1e305, "f32": (X * 1e37).astype("f4")}
    for metric in ("linear_cka", "procrustes", "mrr", "cosine"):
        matrix = similarity_matrix(spaces, metric)
        np.testing.assert_allclose(matrix.to_numpy(), 1.0, atol=1e-6)


def test_the_table_states_the_contract():
    table = measure_table()
    assert set(table.index) == set(MEASURES)
    for name, row in table.iterrows():
        measure = get_measure(name)
        assert row["scale-free"] == f"each {measure.scaling}"
        assert f"{measure.tolerance:.0e}" in row["at any magnitude"]
        assert "never NaN" in row["at any magnitude"]
