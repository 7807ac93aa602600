"""Scale-safe numerics shared by the alignments: anchors brought to numbers near 1 by powers of
two, their standardisation, and the map applied the same way.

Every division or multiplication by a power of two is exact, so each side is fitted on numbers
whose largest magnitude lies in ``[0.5, 1)`` whatever the magnitude of the anchors, and the
powers of two are kept apart (as integers) until the result is written in the caller's dtype.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import StandardScaler

from .._lowrank import apply_matrix
from .._validation import DataError

__all__ = ["ScaledSide", "affine_map", "exponent_of", "power_of_two", "scaled_side"]


def exponent_of(Z):
    """The binary exponent ``e`` of ``max|Z| = f 2**e`` (``0.5 <= f < 1``); 0 for zeros."""
    top = float(np.max(np.abs(Z), initial=0.0))
    return int(np.frexp(top)[1]) if top > 0 else 0


@dataclass(frozen=True)
class ScaledSide:
    """One side's anchors ready for fitting: ``values * 2**exponent = (Z - mean) / scale``.

    Attributes
    ----------
    values : ndarray of shape (n_anchors, n_features)
        In the anchors' dtype, largest magnitude in ``[0.5, 1)`` (or all zero).
    exponent : int
        The power of two ``values`` was divided by.
    mean : ndarray of shape (n_features,)
        The anchors' mean (zeros without centring), in the anchors' dtype.
    scale : tuple of ndarray or None
        The per-feature standard deviations as ``(fraction, exponent)`` with ``std = fraction
        * 2**exponent`` (kept apart: they may span more than the dtype's range), or None
        without standardising.
    """

    values: np.ndarray
    exponent: int
    mean: np.ndarray
    scale: tuple | None

    def scale_array(self, dtype):
        """The standard deviations as one array (ones without standardising)."""
        if self.scale is None:
            return np.ones(self.values.shape[1], dtype=dtype)
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(*self.scale).astype(dtype)


def scaled_side(Z, *, center, standardize):
    """The :class:`ScaledSide` of anchors ``Z``: centred (``center``) and, with ``standardize``,
    divided feature by feature by their standard deviation.

    The standard deviations are scikit-learn's :class:`~sklearn.preprocessing.StandardScaler`'s
    (computed about the mean even without centring; a feature whose variance is within rounding
    of zero gets the scale 1, in the anchors' own units), fitted on each feature divided by its
    own power of two, so that features of any magnitude keep their precision. The centred
    anchors of such a constant feature are set to zero exactly (rounding of the mean is no
    signal).
    """
    if not standardize:
        first = exponent_of(Z)
        scaled = np.ldexp(Z, -first)
        mean = scaled.mean(axis=0) if center else np.zeros(Z.shape[1], dtype=Z.dtype)
        centred = scaled - mean
        second = exponent_of(centred)
        return ScaledSide(np.ldexp(centred, -second), first + second, np.ldexp(mean, first), None)
    columns = np.frexp(np.max(np.abs(Z), axis=0))[1]  # 0 for an all-zero feature
    unit = np.ldexp(Z, -columns).astype(np.float64)
    scaler = StandardScaler(with_mean=center).fit(unit)
    mean = scaler.mean_ if center else np.zeros(Z.shape[1])
    std = np.sqrt(scaler.var_)
    constant = scaler.scale_ != std  # StandardScaler's scale 1 for constant features
    fraction, power = np.frexp(np.where(constant, 1.0, std))
    power = power + np.where(constant, 0, columns)  # the scale 1 is in the anchors' units
    # Standardised values: (unit - mean) 2**columns / (fraction 2**power), with the exponent
    # columns - power of each feature applied after aligning the features on the largest one.
    standardised = (unit - mean) / fraction
    if center:
        standardised[:, constant] = 0.0
    feature_exponent = columns - power
    top = int(np.max(feature_exponent[np.any(standardised != 0, axis=0)], initial=0))
    standardised = np.ldexp(standardised, feature_exponent - top)
    second = exponent_of(standardised)
    values = np.ldexp(standardised, -second).astype(Z.dtype)
    return ScaledSide(values, top + second, np.ldexp(mean, columns).astype(Z.dtype),
                      (fraction, power))


def affine_map(estimator, X, shift, matrix, exponent, offset, *, in_scale=None, out_scale=None):
    """``((X - shift) / in_scale) @ matrix * 2**exponent * out_scale + offset`` in X's dtype.

    ``matrix`` is an array or a :class:`~skinvariance._lowrank.LowRankMap` (applied by its
    factors). ``in_scale`` and ``out_scale`` are per-feature ``(fraction, exponent)`` pairs
    (as :attr:`ScaledSide.scale`) or None (ones). ``X - shift`` is formed after dividing both by
    powers of two, the matrix product on numbers of magnitude at most 4, and the powers of two
    applied last (exactly), so that only a result beyond the dtype's largest number overflows;
    that raises a ``DataError`` (a ``ValueError``).
    """
    dt = X.dtype
    shift = np.asarray(shift, dtype=dt)
    if in_scale is None:
        e = max(exponent_of(X), exponent_of(shift))
        D = np.ldexp(X, -e) - np.ldexp(shift, -e)
    else:
        fraction, power = in_scale
        top = np.maximum(np.max(np.abs(X), axis=0), np.abs(shift))
        columns = np.frexp(top)[1]
        D = (np.ldexp(X, -columns) - np.ldexp(shift, -columns)) / fraction.astype(dt)
        feature_exponent = columns - power
        e = int(np.max(feature_exponent))
        D = np.ldexp(D, feature_exponent - e)
    out = apply_matrix(D, matrix, dt)
    with np.errstate(over="ignore"):
        if out_scale is None:
            np.ldexp(out, e + exponent, out=out)
        else:
            fraction, power = out_scale
            out *= fraction.astype(dt)
            np.ldexp(out, e + exponent + power, out=out)
        out += np.asarray(offset, dtype=dt)
    if not np.isfinite(out).all():
        raise DataError(
            f"The values mapped by {type(estimator).__name__} overflow {dt} (some exceed "
            f"{np.finfo(dt).max:.3g}); rescale the input or use float64."
        )
    return out


def power_of_two(value, what, estimator):
    """``(f, e)`` with ``value = f 2**e``; refuse a value beyond float64 (0 or infinite)."""
    if not np.isfinite(value) or value == 0:
        raise DataError(
            f"{type(estimator).__name__} cannot be fitted: {what} does not fit in float64 (the "
            "source and target anchors differ in magnitude by more than float64 can express)."
        )
    fraction, exponent = np.frexp(value)
    return float(fraction), int(exponent)
