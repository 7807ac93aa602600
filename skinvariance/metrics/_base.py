"""Helpers shared by the measures: scale-safe copies, row-wise cosine, unit rows, the
zero-variance check.

**Scale safety.** A sum of squares of float64 numbers overflows from about 1e154 and
underflows below about 1e-154, long before the numbers themselves do. Every measure is
invariant to some scaling of its inputs (an isotropic scale of each space, or a positive scale
of each sample, see :func:`~skinvariance.metrics.measure_table`), so it works on copies brought
to ``[-1, 1]`` by a **power of two**: :func:`scaled_rows` (one factor per row) and
:class:`Centring` (column-centred, one factor per space). Multiplying by a power of two is
exact for every number in the normal range, so the measure of ``2**k X`` is the measure of
``X``, bit for bit, at every magnitude the dtype holds; the only numbers changed are those
that fall below the normal range after scaling (``2**-1022`` of the largest), whose squares
would not count anyway.
"""

import numpy as np

from .._parallel import MAX_BLOCK_ROWS, row_blocks
from .._validation import DataError

__all__ = [
    "Centring",
    "binary_exponent",
    "centre_rows",
    "centred",
    "check_not_constant",
    "row_centred",
    "rowwise_cosine",
    "scaled",
    "scaled_rows",
    "translated",
    "unit_rows",
]


def binary_exponent(top):
    """The ``e`` with ``top / 2**e`` in ``[0.5, 1)`` (0 where ``top`` is 0); array-wise."""
    return np.frexp(top)[1]


def check_not_constant(Z, name, measure):
    """Raise if every row of ``Z`` is the same vector (zero variance, zero centred Gram)."""
    if np.array_equal(Z.max(axis=0), Z.min(axis=0)):  # no ptp: it overflows at 1e308
        raise DataError(
            f"{measure} is undefined when an input has zero variance: every row of {name} is "
            f"the same vector (shape={Z.shape})."
        )


def scaled(Z):
    """``(Zs, exponent)``: a float64 copy of ``Z`` divided by the power of two ``2**exponent``
    that brings its largest magnitude into ``[0.5, 1)``; for measures that do not change
    when a space is multiplied by a positive number. Exact in the normal range (integers
    stay integers times a power of two, ties stay ties)."""
    Z = np.array(Z, dtype=np.float64)
    exponent = int(binary_exponent(max(Z.max(initial=0.0), -Z.min(initial=0.0))))
    np.ldexp(Z, -exponent, out=Z)
    return Z, exponent


def scaled_rows(Z):
    """A float64 copy of ``Z`` with each row multiplied by the power of two that brings its
    largest magnitude into ``[0.5, 1)``; zero rows stay zero.

    For the measures that do not change when a sample is multiplied by a positive number
    (cosine, correlation, cosine neighbours): their squares can neither overflow nor vanish.
    """
    Z = np.array(Z, dtype=np.float64)
    top = np.maximum(Z.max(axis=1, initial=0.0), -Z.min(axis=1, initial=0.0))
    np.ldexp(Z, -binary_exponent(top)[:, None], out=Z)
    return Z


def rowwise_cosine(X, Y):
    """Cosine between matched rows in float64; 0 where either row is zero. Scale-safe."""
    X, Y = scaled_rows(X), scaled_rows(Y)
    dots = np.einsum("ij,ij->i", X, Y)
    nx = np.sqrt(np.einsum("ij,ij->i", X, X))
    ny = np.sqrt(np.einsum("ij,ij->i", Y, Y))
    denom = nx * ny  # each norm is 0 or at least 0.5: no underflow
    out = np.zeros_like(dots)
    nonzero = denom > 0
    out[nonzero] = dots[nonzero] / denom[nonzero]
    return np.clip(out, -1.0, 1.0)


def centre_rows(Z):
    """``(Zc, constant)``: the rows of ``Z`` minus their own means, brought to ``[-1, 1]`` by
    powers of two first (:func:`scaled_rows`), and which rows are constant. Constant rows
    become exact zeros, whatever the rounding of their mean."""
    Z = scaled_rows(Z)
    constant = Z.max(axis=1) == Z.min(axis=1)
    Z -= Z.mean(axis=1, keepdims=True)
    Z[constant] = 0.0
    return Z, constant


def row_centred(X, Y):
    """:func:`centre_rows` of X and of Y; a row constant in Y is zeroed in X as well
    (correlation 0 with anything)."""
    (X, _), (Y, constant) = centre_rows(X), centre_rows(Y)
    X[constant] = 0.0
    return X, Y


def unit_rows(Z):
    """Rows scaled to unit norm in float64; zero rows stay zero (cosine 0 with anything).

    Scale-safe: each row is brought to ``[-1, 1]`` by a power of two first
    (:func:`scaled_rows`), so its norm is at least 0.5 and its square cannot overflow.
    """
    Z = scaled_rows(Z)
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    norms[norms == 0] = 1.0
    Z /= norms[:, None]
    return Z


class Centring:
    """Column-centring of a space by blocks of rows, scale-safe: ``(Z - mean) * 2**-exponent``.

    The mean is taken of ``Z`` times a power of two that brings it into ``[-1, 1]`` (so no sum
    overflows); the centred values are then brought into ``[-1, 1]`` by a second power of two,
    so that a space with a large offset and a small spread keeps its spread. Columns whose
    values are all equal centre to exactly 0 (not to the rounding of their mean), and do not
    take part in the scaling.

    Build it from the columns' smallest and largest values, give it the column sums of
    :meth:`scaled` over all the rows (:meth:`with_sums`), then centre any block of rows with
    :meth:`block`; :meth:`of` does all of it for an array. ``exponent`` is the total power:
    the centred copy is ``(Z - mean(Z)) / 2**exponent``, which is what a scale parameter (a
    kernel's bandwidth, a ridge penalty) must be divided by alike.
    """

    def __init__(self, low, high):
        self.varying = np.asarray(low != high)
        top = np.max(np.maximum(np.abs(low), np.abs(high)), where=self.varying, initial=0.0)
        self.shift = int(binary_exponent(np.float64(top)))
        self.low = self.scaled(np.asarray(low)[None])[0]
        self.high = self.scaled(np.asarray(high)[None])[0]
        self.mean = None
        self.exponent = None

    @classmethod
    def of(cls, Z):
        """Measure ``Z`` (a 2-D float array): two passes over its rows, no copy of it."""
        n, d = Z.shape
        centring = cls(Z.min(axis=0), Z.max(axis=0))
        sums = np.zeros(d)
        for rows in row_blocks(n, 16 * d, max_rows=MAX_BLOCK_ROWS):
            sums += centring.scaled(Z[rows]).sum(axis=0)
        return centring.with_sums(sums, n)

    def scaled(self, block):
        """A float64 copy of a block of rows brought into ``[-1, 1]``, constant columns 0."""
        out = np.array(block, dtype=np.float64)
        out[:, ~self.varying] = 0.0
        return np.ldexp(out, -self.shift, out=out)

    def with_sums(self, sums, n):
        """Set the mean from the column sums of :meth:`scaled` over the ``n`` rows."""
        self.mean = sums / n
        spread = np.max(np.maximum(self.high - self.mean, self.mean - self.low), initial=0.0)
        self.exponent = self.shift + int(binary_exponent(spread))
        return self

    def block(self, block):
        """The centred, rescaled float64 copy of a block of rows of the measured space."""
        out = self.scaled(block)
        out -= self.mean
        out[:, ~self.varying] = 0.0
        return np.ldexp(out, self.shift - self.exponent, out=out)

    def apply(self, Z):
        """The centred, rescaled float64 copy of the whole measured space."""
        return self.block(Z)


def translated(Z):
    """``(Zt, exponent)``: ``Z`` minus the midpoint of each column's range, divided by the
    power of two ``2**exponent`` that brings it into ``[-1, 1]``; for measures of distances
    between rows, which a translation does not change. Constant columns become exact zeros.

    Unlike the mean, the midpoint of integers is a half-integer: integer data (and any data
    on a grid of powers of two) are translated exactly, so tied distances stay tied.
    """
    low, high = Z.min(axis=0), Z.max(axis=0)
    varying = low != high
    top = np.max(np.maximum(np.abs(low), np.abs(high)), where=varying, initial=0.0)
    shift = int(binary_exponent(np.float64(top)))
    out = np.array(Z, dtype=np.float64)
    out[:, ~varying] = 0.0
    np.ldexp(out, -shift, out=out)
    low = np.ldexp(np.where(varying, low, 0).astype(np.float64), -shift)
    high = np.ldexp(np.where(varying, high, 0).astype(np.float64), -shift)
    out -= 0.5 * low + 0.5 * high
    exponent = int(binary_exponent(np.max(0.5 * high - 0.5 * low, initial=0.0)))
    np.ldexp(out, -exponent, out=out)
    return out, shift + exponent


def centred(Z):
    """``(Zc, exponent)``: the column-centred float64 copy of ``Z`` divided by
    ``2**exponent``, its largest magnitude in ``[0.5, 1)`` (see :class:`Centring`)."""
    centring = Centring.of(Z)
    return centring.apply(Z), centring.exponent
