"""Helpers shared by the measures: scale-safe copies, row-wise cosine, exact unit rows, the
zero-variance check.

**Scale safety.** A sum of squares of float64 numbers overflows from about 1e154 and
underflows below about 1e-154, long before the numbers themselves do. Every measure is
invariant to some scaling of its inputs (an isotropic scale of each space, or a positive scale
of each sample, see :func:`~skinvariance.metrics.measure_table`), so it works on copies brought
to ``[-1, 1]`` by a **power of two**: :func:`scaled_rows` (one factor per row; the row-wise
cosine and unit rows rescale only the rows whose squared norm is far from 1),
:class:`Centring` (column-centred, one factor per space) and :func:`translated`. Multiplying
by a power of two is exact for every number in the normal range, so the measure of ``2**k X``
is the measure of ``X`` at every magnitude the dtype holds; the only numbers changed are
those that fall below the normal range after scaling (``2**-1022`` of the largest), whose
squares would not count anyway.
"""

import math

import numpy as np

from .._parallel import MAX_BLOCK_ROWS, row_blocks
from .._validation import DataError

__all__ = [
    "Centring",
    "binary_exponent",
    "centre_rows",
    "centred",
    "check_not_constant",
    "exact_unit_rows",
    "row_centred",
    "rowwise_cosine",
    "scaled_rows",
    "times_power_of_two",
    "translated",
]

#: Squared norms within these bounds were formed without overflow and without losing the
#: row's largest terms: such rows are used as they are, the others rescaled first.
_SAFE_SQUARES = (2.0**-960, 2.0**960)


def binary_exponent(top):
    """The ``e`` with ``top / 2**e`` in ``[0.5, 1)`` (0 where ``top`` is 0); array-wise."""
    return np.frexp(top)[1]


def times_power_of_two(Z, exponent):
    """``Z *= 2**-exponent`` in place, ``exponent`` an int or one per row (a column vector).

    Exact in the normal range. A multiplication by the power where it is a normal number
    (several times faster than :func:`numpy.ldexp`), ``ldexp`` beyond.
    """
    exponent = np.asarray(exponent)
    if exponent.ndim == 0:
        if -1020 <= int(exponent) <= 1020:
            if exponent != 0:
                Z *= math.ldexp(1.0, -int(exponent))
        else:
            np.ldexp(Z, -int(exponent), out=Z)
    elif np.all(np.abs(exponent) <= 1020):
        Z *= np.ldexp(1.0, -exponent)
    else:
        np.ldexp(Z, -exponent.astype(np.intc), out=Z)
    return Z


def check_not_constant(Z, name, measure):
    """Raise if every row of ``Z`` is the same vector (zero variance, zero centred Gram)."""
    if np.array_equal(Z.max(axis=0), Z.min(axis=0)):  # no ptp: it overflows at 1e308
        raise DataError(
            f"{measure} is undefined when an input has zero variance: every row of {name} is "
            f"the same vector (shape={Z.shape})."
        )


def _row_bounds_scaled(Z):
    """Multiply each row of the float64 ``Z`` in place by the power of two that brings its
    largest magnitude into ``[0.5, 1)``; return which rows are constant."""
    high, low = Z.max(axis=1, initial=-np.inf), Z.min(axis=1, initial=np.inf)
    top = np.maximum(np.abs(high), np.abs(low)) if Z.shape[1] else np.zeros(len(Z))
    times_power_of_two(Z, binary_exponent(top)[:, None])
    return high == low


def scaled_rows(Z):
    """A float64 copy of ``Z`` with each row multiplied by the power of two that brings its
    largest magnitude into ``[0.5, 1)``; zero rows stay zero.

    For the measures that do not change when a sample is multiplied by a positive number
    (cosine, correlation, cosine neighbours): their squares can neither overflow nor vanish.
    """
    Z = np.array(Z, dtype=np.float64)
    _row_bounds_scaled(Z)
    return Z


def _squared_norms(Z):
    return np.einsum("ij,ij->i", Z, Z, dtype=np.float64)


def _unsafe(squares):
    low, high = _SAFE_SQUARES
    return ~((squares >= low) & (squares <= high))


def rowwise_cosine(X, Y, *, prepared=False):
    """Cosine between matched rows in float64; 0 where either row is zero. Scale-safe.

    Rows whose squared norms fall outside ``2**+-960`` (far from 1: overflowed, or small
    enough to have lost terms) are recomputed from copies rescaled by powers of two, which
    the cosine does not see; the others, nearly always all of them, are used as they are.
    ``prepared``: X and Y already come from :func:`centre_rows` (at most 2 in magnitude,
    their largest entry, when not 0, at least ``2**-54``), so nothing is recomputed.
    """
    dots = np.einsum("ij,ij->i", X, Y, dtype=np.float64)
    nx, ny = _squared_norms(X), _squared_norms(Y)
    redo = np.zeros(len(dots), dtype=bool) if prepared else _unsafe(nx) | _unsafe(ny)
    if redo.any():
        Xs, Ys = scaled_rows(X[redo]), scaled_rows(Y[redo])
        dots[redo] = np.einsum("ij,ij->i", Xs, Ys)
        nx[redo], ny[redo] = _squared_norms(Xs), _squared_norms(Ys)
    denom = np.sqrt(nx) * np.sqrt(ny)
    out = np.zeros_like(dots)
    nonzero = denom > 0
    out[nonzero] = dots[nonzero] / denom[nonzero]
    return np.clip(out, -1.0, 1.0)


def centre_rows(Z):
    """``(Zc, constant)``: the rows of ``Z`` minus their own means, brought to ``[-1, 1]`` by
    powers of two first (:func:`scaled_rows`), and which rows are constant. Constant rows
    become exact zeros, whatever the rounding of their mean."""
    Z = np.array(Z, dtype=np.float64)
    constant = _row_bounds_scaled(Z)
    Z -= Z.mean(axis=1, keepdims=True)
    Z[constant] = 0.0
    return Z, constant


def row_centred(X, Y):
    """:func:`centre_rows` of X and of Y; a row constant in Y is zeroed in X as well
    (correlation 0 with anything)."""
    (X, _), (Y, constant) = centre_rows(X), centre_rows(Y)
    X[constant] = 0.0
    return X, Y


def exact_unit_rows(Z):
    """Rows divided by their norm in float64; zero rows stay zero (cosine 0 with anything).

    Exact where the measures need it, unlike the kernels' faster
    :func:`~skinvariance.kernels._unit.unit_rows` (which multiplies by the norm's inverse and
    divides extreme rows by their largest magnitude): a one-feature row becomes exactly
    ``+-1``, and ``2**k Z`` gives the same bits as ``Z`` wherever both are normal numbers,
    so tied neighbours stay tied whatever the scale. Scale-safe: a row whose squared norm
    falls outside ``2**+-960`` is brought to ``[-1, 1]`` by a power of two first
    (:func:`scaled_rows`), so its norm is at least 0.5 and its square cannot overflow.
    """
    Z = np.array(Z, dtype=np.float64)
    norms = _squared_norms(Z)
    redo = _unsafe(norms)
    if redo.any():
        Z[redo] = scaled_rows(Z[redo])
        norms[redo] = _squared_norms(Z[redo])
    np.sqrt(norms, out=norms)
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
        # The largest magnitude of every column, constant ones included: whether the plain
        # column sums can overflow.
        self.top_all = float(np.max(np.maximum(np.abs(low), np.abs(high)), initial=0.0))
        self.varying = np.asarray(low != high)
        self.any_constant = not self.varying.all()
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
        if centring.top_all * n < 2.0**1000:  # the plain sums cannot overflow: no copy
            sums = Z.sum(axis=0, dtype=np.float64)
            sums[~centring.varying] = 0.0
            return centring.with_sums(times_power_of_two(sums, centring.shift), n)
        sums = np.zeros(d)
        for rows in row_blocks(n, 16 * d, max_rows=MAX_BLOCK_ROWS):
            sums += centring.scaled(Z[rows]).sum(axis=0)
        return centring.with_sums(sums, n)

    def scaled(self, block):
        """A float64 copy of a block of rows brought into ``[-1, 1]``, constant columns 0."""
        out = np.array(block, dtype=np.float64)
        if self.any_constant:
            out[:, ~self.varying] = 0.0
        return times_power_of_two(out, self.shift)

    def with_sums(self, sums, n):
        """Set the mean from the column sums of :meth:`scaled` over the ``n`` rows."""
        mean = sums / n
        spread = np.max(np.maximum(self.high - mean, mean - self.low), initial=0.0)
        self.exponent = self.shift + int(binary_exponent(spread))
        # The mean in the units of the centred copy: scaling commutes with rounding.
        self.mean = times_power_of_two(mean, self.exponent - self.shift)
        return self

    def block(self, block):
        """The centred, rescaled float64 copy of a block of rows of the measured space."""
        out = np.array(block, dtype=np.float64)
        if self.any_constant:
            out[:, ~self.varying] = 0.0
        times_power_of_two(out, self.exponent)
        out -= self.mean
        return out

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
    if not varying.all():
        out[:, ~varying] = 0.0
    times_power_of_two(out, shift)
    low = times_power_of_two(np.where(varying, low, 0).astype(np.float64), shift)
    high = times_power_of_two(np.where(varying, high, 0).astype(np.float64), shift)
    out -= 0.5 * low + 0.5 * high
    exponent = int(binary_exponent(np.max(0.5 * high - 0.5 * low, initial=0.0)))
    times_power_of_two(out, exponent)
    return out, shift + exponent


def centred(Z):
    """``(Zc, exponent)``: the column-centred float64 copy of ``Z`` divided by
    ``2**exponent``, its largest magnitude in ``[0.5, 1)`` (see :class:`Centring`)."""
    centring = Centring.of(Z)
    return centring.apply(Z), centring.exponent
