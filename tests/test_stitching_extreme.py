"""Zero-shot stitching and the comparison of invariances at extreme magnitudes.

The oracle is the invariance: spaces multiplied by a power of two (exact in the normal range)
give the table of the same numbers at scale 1. Every row does when all the spaces share the
power (the default decoders start with a :class:`~skinvariance.stitching.PowerOfTwoScaler`,
and everything after it is scale-free); the rows of scale-invariant representations (L2
normalisation, the cosine kernel, the layer-normalised product) do even when each space has
its own. A few tiny spaces keep the decoders' fits fast.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from skinvariance import ProductProjection, RelativeProjection, StitchingEvaluator
from skinvariance.io import transform_npy
from skinvariance.stitching import PowerOfTwoScaler, compare_invariances, default_invariances


def profile(examples):
    return settings(derandomize=True, database=None, max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


#: Binary exponents of the spaces' magnitudes: where their smallest values turn subnormal to
#: just below the largest number (the spaces' entries lie within [-4, 4]).
EXPONENTS = {"float32": (-140, 125), "float64": (-1060, 1021)}
#: The rows compared: scale-invariant ones first.
INVARIANT_ROWS = ("scale", "relative_cosine", "product")
ROWS = (*INVARIANT_ROWS, "absolute", "relative_euclidean", "orthogonal_standardized",
        "affine_ridge")


def tiny_spaces(seed):
    """Three related 4-dimensional spaces of 48 samples of two classes."""
    X, y = make_classification(n_samples=48, n_features=4, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, class_sep=1.2, random_state=seed)
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    spaces = {"a": X, "b": 2.0 * X @ Q, "c": X @ Q[:, ::-1] + 0.2 * rng.normal(size=X.shape)}
    return {name: Z / 4 for name, Z in spaces.items()}, y


def _scaled(spaces, exponents, dtype):
    """The spaces times ``2**exponents[name]`` in ``dtype``, and the same numbers at scale 1."""
    at_scale, at_one = {}, {}
    for name, Z in spaces.items():
        with np.errstate(under="ignore"):
            at_scale[name] = np.ldexp(Z, exponents[name]).astype(dtype)
        at_one[name] = np.ldexp(at_scale[name].astype(np.float64), -exponents[name]).astype(dtype)
    return at_scale, at_one


def _compare(spaces, y, rows):
    invariances = {name: default_invariances()[name] for name in rows}
    return compare_invariances(spaces, y, invariances, anchors=12, random_state=0)


def _assert_same_table(table, reference, rows):
    """Finite, and the table of scale 1: to the accuracy of the kernels, which is sqrt(d eps)
    relative for the euclidean one (reached by different paths at different magnitudes,
    see kernel_table()), a few eps for the others."""
    table, reference = table.set_index("invariance"), reference.set_index("invariance")
    numbers = [column for column in reference.columns if column.endswith(("_mean", "_std"))]
    values = table.loc[list(rows), numbers].to_numpy(dtype=float)
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, reference.loc[list(rows), numbers].to_numpy(dtype=float),
                               rtol=0, atol=1e-6)


@profile(4)
@given(st.sampled_from(["float32", "float64"]), st.data())
def test_compare_invariances_gives_the_table_of_scale_one(dtype, data):
    """One power for every space: every row's table is the one at scale 1."""
    spaces, y = tiny_spaces(data.draw(st.integers(0, 3)))
    shift = data.draw(st.integers(*EXPONENTS[dtype]))
    at_scale, at_one = _scaled(spaces, dict.fromkeys(spaces, shift), dtype)
    _assert_same_table(_compare(at_scale, y, ROWS), _compare(at_one, y, ROWS), ROWS)


@profile(4)
@given(st.sampled_from(["float32", "float64"]), st.data())
def test_scale_invariant_rows_do_not_see_each_space_scale(dtype, data):
    spaces, y = tiny_spaces(data.draw(st.integers(0, 3)))
    exponents = {name: data.draw(st.integers(*EXPONENTS[dtype])) for name in spaces}
    at_scale, at_one = _scaled(spaces, exponents, dtype)
    _assert_same_table(_compare(at_scale, y, INVARIANT_ROWS),
                       _compare(at_one, y, INVARIANT_ROWS), INVARIANT_ROWS)


@pytest.mark.parametrize("dtype, scale", [("float32", 1e30), ("float32", 1e-30),
                                          ("float64", 1e300), ("float64", 1e-300)])
@pytest.mark.parametrize("projection", [RelativeProjection("cosine"),
                                        ProductProjection(["cosine", "euclidean"])])
def test_stitching_evaluator_at_the_reported_magnitudes(dtype, scale, projection):
    """A scale-invariant projection stitches spaces of 1e-30 / 1e30 (float32) and 1e-300 /
    1e300 (float64) exactly as the same spaces at scale 1 (the stitching matrix of the
    rounded numbers, which a power of ten changes)."""
    spaces, y = tiny_spaces(0)
    at_scale = {name: (Z * scale).astype(dtype) for name, Z in spaces.items()}
    at_one = {name: (Z.astype(np.float64) / scale).astype(dtype)
              for name, Z in at_scale.items()}
    matrices = [
        StitchingEvaluator(projection, LogisticRegression(), anchors=12, random_state=0)
        .fit(s, y)
        .stitching_matrix(s, y)
        for s in (at_scale, at_one)
    ]
    assert np.all(np.isfinite(matrices[0].to_numpy()))
    np.testing.assert_array_equal(matrices[0].to_numpy(), matrices[1].to_numpy())


@pytest.mark.parametrize("dtype, exponent", [("float32", 100), ("float32", -140),
                                             ("float64", 1000), ("float64", -1060)])
def test_transform_npy_at_extreme_magnitudes(dtype, exponent, tmp_path, rng):
    """Out of core, scaled rows give the in-memory projection (whose accuracy at every
    magnitude tests/test_extreme_magnitudes.py checks), finite, with no NaN written; the
    cosine kernel gives the projection of scale 1."""
    X = rng.uniform(-1, 1, size=(40, 5))
    with np.errstate(under="ignore"):
        X_scaled = np.ldexp(X, exponent).astype(dtype)
    X_one = np.ldexp(X_scaled.astype(np.float64), -exponent).astype(dtype)
    np.save(tmp_path / "in.npy", X_scaled)
    outputs = []
    for projection in (RelativeProjection("cosine"), ProductProjection(["cosine", "euclidean"])):
        projection.fit(X_scaled[:8])
        transform_npy(projection, tmp_path / "in.npy", tmp_path / "out.npy", overwrite=True)
        outputs.append(np.load(tmp_path / "out.npy"))
        assert outputs[-1].dtype == X_scaled.dtype and np.all(np.isfinite(outputs[-1]))
        np.testing.assert_array_equal(outputs[-1], projection.transform(X_scaled))
    at_one = RelativeProjection("cosine").fit(X_one[:8]).transform(X_one)
    tol = 2 * (X.shape[1] + 2) * np.finfo(dtype).eps  # the cosine kernel's, at both scales
    np.testing.assert_allclose(outputs[0], at_one, rtol=0, atol=tol)


@parametrize_with_checks([PowerOfTwoScaler(), PowerOfTwoScaler(per_feature=False),
                          PowerOfTwoScaler(dtype=np.float64), PowerOfTwoScaler(dtype=np.float32)])
def test_power_of_two_scaler_is_a_scikit_learn_transformer(estimator, check):
    check(estimator)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_power_of_two_scaler_divides_exactly(dtype, rng):
    info = np.finfo(dtype)
    X = np.array([[info.max, info.smallest_subnormal, 0.0, 3.0],
                  [-info.max / 3, 0.0, 0.0, -1.0]], dtype=dtype)
    out = PowerOfTwoScaler().fit_transform(X)
    assert out.dtype == X.dtype
    assert np.all(np.abs(out) < 1) and np.all(np.abs(out).max(axis=0)[[0, 1, 3]] >= 0.5)
    np.testing.assert_array_equal(out[:, 3], np.array([0.75, -0.25], dtype=dtype))
    assert out[0, 1] == 0.5  # the smallest subnormal number, exactly
    whole = PowerOfTwoScaler(per_feature=False).fit(X)
    np.testing.assert_array_equal(whole.exponent_, np.frexp(info.max)[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_power_of_two_scaler_casts_to_dtype(dtype, rng):
    X = (rng.standard_normal((20, 3)) * [1e-39, 1.0, 1e30]).astype(np.float32)
    out = PowerOfTwoScaler(dtype=dtype).fit_transform(X)
    assert out.dtype == dtype
    # The oracle: the cast, then the division by 2**e in float64 (exact there).
    exponents = np.frexp(np.abs(X.astype(np.float64)).max(axis=0))[1]
    np.testing.assert_array_equal(out, (X.astype(np.float64) / 2.0**exponents).astype(dtype))
    assert PowerOfTwoScaler(dtype=dtype).fit(X).transform(X.astype(np.float64)).dtype == dtype
    # float64 beyond float32's range is divided before it is cast.
    huge = np.array([[1e300, -3e-300], [-2e299, 1e-300]])
    out = PowerOfTwoScaler(dtype=dtype).fit_transform(huge)
    exponents = np.frexp(np.abs(huge).max(axis=0))[1]
    np.testing.assert_array_equal(out, (huge / 2.0**exponents).astype(dtype))


@pytest.mark.parametrize("classification", [False, True])
def test_ridge_decoder_solves_float32_spaces_in_float64(classification, rng):
    """Strongly correlated float32 columns (like the product of four kernels): a float32
    closed-form solve put the coefficients 1.9 % (regression) and 0.7 % (classification) of
    the largest off, silently; the oracle is the float64 fit."""
    from sklearn.linear_model import Ridge, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skinvariance.stitching import make_decoder

    latent = rng.standard_normal((2000, 3))
    X = latent @ rng.standard_normal((3, 600)) + 0.01 * rng.standard_normal((2000, 600))
    X = X.astype(np.float32)
    y = latent[:, 0] + 0.1 * rng.standard_normal(2000)
    if classification:
        y = (y > 0).astype(int)
    decoder = make_decoder("ridge", y).fit(X, y)
    oracle = make_pipeline(StandardScaler(), RidgeClassifier() if classification else Ridge())
    oracle.fit(X.astype(np.float64), y)
    scale = np.abs(oracle[-1].coef_).max()
    np.testing.assert_allclose(decoder[-1].coef_, oracle[-1].coef_, rtol=0, atol=1e-9 * scale)
    np.testing.assert_array_equal(decoder.predict(X), oracle.predict(X.astype(np.float64)))
