"""Unit rows (a scale-safe L2 normalisation) and the angular distances recomputed from them.

Compiled as the loops of :mod:`._numba`, with its flags and helpers (see its docstring): norms
are accumulated in float64, of the row itself when its largest magnitude lies within
``2**+-480``, else of the row brought to ``[-1, 1]`` first, in functions compiled without
re-association.
"""

import math

import numba
import numpy as np

from ._numba import (
    _JIT_SCALED,
    _JIT_SUMS,
    _PLAIN_HIGH,
    _PLAIN_LOW,
    _maxnum,
    _row_scale,
    _scaled,
)


@numba.njit(**_JIT_SCALED)
def _unit_row_scaled(X, out, i, m):
    """Row ``i`` of :func:`unit_rows_into`, brought to ``[-1, 1]`` first; its scale, 1/norm."""
    d = X.shape[1]
    factor, divide = _row_scale(m)
    squares = 0.0
    for f in range(d):
        y = _scaled(X[i, f], factor, m, divide)
        squares += y * y
    inv = 1.0 / np.sqrt(squares)
    for f in range(d):
        out[i, f] = _scaled(X[i, f], factor, m, divide) * inv
    return (m if divide else 1.0 / factor), inv


@numba.njit(**_JIT_SUMS)
def unit_rows_into(X, out, row_scale, inv_norm):
    """Write ``X[i] / |X[i]|_2`` into ``out[i]``; a zero row stays zero.

    The norm is accumulated in float64, of the row itself when its largest magnitude lies
    within ``2**+-480`` (every float32 row), else of the row brought to ``[-1, 1]`` first, so
    nothing overflows or underflows whatever the magnitude. ``X[i, f] / row_scale[i] *
    inv_norm[i]`` is then the unit vector in float64 (``row_scale[i]`` is 1 for plain rows).
    A zero row has ``row_scale[i] = inv_norm[i] = 0``.
    """
    n, d = X.shape
    for i in range(n):
        m = 0.0
        squares = 0.0
        for f in range(d):
            v = np.float64(X[i, f])
            m = _maxnum(m, abs(v))
            squares += v * v
        if m == 0.0:
            row_scale[i] = 0.0
            inv_norm[i] = 0.0
            for f in range(d):
                out[i, f] = 0.0
        elif _PLAIN_LOW <= m <= _PLAIN_HIGH:
            inv = 1.0 / np.sqrt(squares)
            row_scale[i] = 1.0
            inv_norm[i] = inv
            for f in range(d):
                out[i, f] = np.float64(X[i, f]) * inv
        else:
            row_scale[i], inv_norm[i] = _unit_row_scaled(X, out, i, m)


def unit_rows(X):
    """``X`` with every row divided by its L2 norm, in the dtype of ``X``; zero rows stay zero.

    Scale-safe at every magnitude (see :func:`unit_rows_into`), unlike ``X / |X|`` with the
    norms of :func:`numpy.linalg.norm` (``axis=1``), which overflow from about 1e19 (float32)
    and 1e154 (float64) and underflow below the square roots of the smallest numbers.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Finite float32 or float64 rows.

    Returns
    -------
    unit : ndarray of shape (n_rows, n_features)
    """
    X = np.ascontiguousarray(X)
    unit = np.empty_like(X)
    unit_rows_into(X, unit, np.empty(len(X)), np.empty(len(X)))
    return unit


@numba.njit(**_JIT_SUMS)
def entries_beyond(values, threshold):
    """``(rows, cols)`` of the entries with ``|values[i, j]| > threshold``, row by row.

    Two passes (count, then fill) so that no mask of the block's size is allocated.
    """
    n, k = values.shape
    count = 0
    for i in range(n):
        for j in range(k):
            if abs(values[i, j]) > threshold:
                count += 1
    rows = np.empty(count, dtype=np.int64)
    cols = np.empty(count, dtype=np.int64)
    t = 0
    for i in range(n):
        for j in range(k):
            if abs(values[i, j]) > threshold:
                rows[t] = i
                cols[t] = j
                t += 1
    return rows, cols


@numba.njit(**_JIT_SCALED)
def angular_entries(X, A, x_scale, x_inv, a_scale, a_inv, rows, cols, out):
    """Angular distances ``out[rows[t], cols[t]]`` recomputed as ``2 atan2(|u - v|, |u + v|)``.

    ``u`` and ``v`` are the unit vectors of ``X[rows[t]]`` and ``A[cols[t]]``, rebuilt in
    float64 from the row scales and inverse norms of :func:`unit_rows_into`. Unlike
    ``arccos`` of the cosine, this formula is accurate to a few ``eps`` (float64) at every
    angle, including 0 and pi. A zero vector gives 0.5 (its cosine is 0).
    """
    d = X.shape[1]
    for t in range(rows.shape[0]):
        i = rows[t]
        j = cols[t]
        if x_scale[i] == 0.0 or a_scale[j] == 0.0:
            out[i, j] = 0.5
            continue
        minus = 0.0
        plus = 0.0
        for f in range(d):
            u = np.float64(X[i, f]) / x_scale[i] * x_inv[i]
            v = np.float64(A[j, f]) / a_scale[j] * a_inv[j]
            minus += (u - v) * (u - v)
            plus += (u + v) * (u + v)
        out[i, j] = 2.0 * math.atan2(np.sqrt(minus), np.sqrt(plus)) / math.pi
