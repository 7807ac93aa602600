"""normalize_rows: the formulas, and its properties over many drawn matrices."""

import numpy as np
import pytest
from _helpers import PROPERTY, layer_norm
from hypothesis import given
from hypothesis import strategies as st

from skinvariance.projection import normalize_rows


def test_normalize_rows_formulas(rng):
    R = rng.normal(size=(10, 7))
    np.testing.assert_allclose(normalize_rows(R, "layer"), layer_norm(R))
    np.testing.assert_allclose(normalize_rows(R, "l2"), R / np.linalg.norm(R, axis=1)[:, None])
    np.testing.assert_array_equal(normalize_rows(R, None), R)
    constant = np.ones((2, 4))
    np.testing.assert_array_equal(normalize_rows(constant, "layer"), np.zeros((2, 4)))
    np.testing.assert_array_equal(normalize_rows(np.zeros((2, 4)), "l2"), np.zeros((2, 4)))


# -- properties --------------------------------------------------------------------------------


@st.composite
def _rows(draw, constant_rows=True):
    """Rows of moderate magnitude (1e-3 to 1e3): a drawn seed, scale, offset and shape; with
    ``constant_rows``, some rows replaced by a constant (zero included).

    The constants are integers, whose row mean is exact; a constant that is not exactly
    representable as its own mean is the case of ``test_constant_rows_of_any_value``.
    """
    n, k = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.floats(-3, 3))
    R = scale * (rng.normal(size=(n, k)) + draw(st.floats(-10, 10)))
    constant = np.zeros(n, dtype=bool)
    if constant_rows:
        constant = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        values = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
        R[constant] = np.array(values, dtype=np.float64)[constant, None]
    return R, constant


def _positive_factors(rng, n):
    """One factor per row, from 1e-3 to 1e3."""
    return 10.0 ** rng.uniform(-3, 3, size=(n, 1))


@PROPERTY
@given(_rows())
def test_layer_rows_have_mean_0_and_std_1_or_are_zero(drawn):
    R, constant = drawn
    Z = normalize_rows(R, "layer")
    spread = np.ptp(R, axis=1) > 0
    np.testing.assert_array_equal(Z[~spread], 0.0)  # constant rows, one-value rows included
    np.testing.assert_allclose(Z[spread].mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[spread].std(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(Z[spread], layer_norm(R[spread]), rtol=1e-9, atol=1e-9)
    assert not spread[constant].any()


@PROPERTY
@given(_rows())
def test_l2_rows_have_norm_1_or_are_zero(drawn):
    R, _ = drawn
    Z = normalize_rows(R, "l2")
    zero = ~R.any(axis=1)
    np.testing.assert_array_equal(Z[zero], 0.0)
    np.testing.assert_allclose(np.linalg.norm(Z[~zero], axis=1), 1.0, rtol=1e-12)
    expected = R[~zero] / np.linalg.norm(R[~zero], axis=1, keepdims=True)
    np.testing.assert_allclose(Z[~zero], expected, rtol=1e-12, atol=1e-15)


@PROPERTY
@given(_rows(constant_rows=False), st.integers(0, 2**32 - 1))
def test_invariant_to_positive_row_scaling_and_layer_to_shifts(drawn, seed):
    R, _ = drawn
    rng = np.random.default_rng(seed)
    scaled = _positive_factors(rng, len(R)) * R
    np.testing.assert_allclose(normalize_rows(scaled, "l2"), normalize_rows(R, "l2"),
                               rtol=1e-12, atol=1e-15)
    # A shift of up to 100 times the row's magnitude costs up to ~1e3 ulps of its spread.
    shift = rng.uniform(-100, 100, size=(len(R), 1)) * np.abs(scaled).max(axis=1, keepdims=True)
    spread = np.ptp(R, axis=1) > 0
    np.testing.assert_allclose(normalize_rows(scaled + shift, "layer")[spread],
                               normalize_rows(R, "layer")[spread], rtol=1e-9, atol=1e-9)


@PROPERTY
@given(_rows(), st.sampled_from(["layer", "l2", None]))
def test_idempotent(drawn, norm):
    R, _ = drawn
    once = normalize_rows(R, norm)
    np.testing.assert_allclose(normalize_rows(once, norm), once, rtol=1e-12, atol=1e-12)
    if norm is None:
        np.testing.assert_array_equal(once, R)


def test_copy_false_normalises_in_place(rng):
    R = rng.normal(size=(5, 4))
    expected = layer_norm(R)
    out = normalize_rows(R, "layer", copy=False)
    assert out is R
    np.testing.assert_allclose(R, expected)


@pytest.mark.parametrize(("value", "width"), [(0.7, 5), (1e3 / 3, 7)])
def test_constant_rows_of_any_value_become_zeros(value, width):
    np.testing.assert_array_equal(normalize_rows(np.full((2, width), value), "layer"), 0.0)
