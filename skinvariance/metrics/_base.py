"""Helpers shared by the measures: row-wise cosine, unit rows, the zero-variance check."""

import numpy as np

from .._validation import DataError

__all__ = ["check_not_constant", "rowwise_cosine", "unit_rows"]


def check_not_constant(Z, name, measure):
    """Raise if every row of ``Z`` is the same vector (zero variance, zero centred Gram)."""
    if not np.ptp(Z, axis=0).any():
        raise DataError(
            f"{measure} is undefined when an input has zero variance: every row of {name} is "
            f"the same vector (shape={Z.shape})."
        )




def rowwise_cosine(X, Y):
    """Cosine between matched rows in float64; 0 where either row is zero."""
    dots = np.einsum("ij,ij->i", X, Y, dtype=np.float64)
    nx = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    ny = np.sqrt(np.einsum("ij,ij->i", Y, Y, dtype=np.float64))
    denom = nx * ny
    out = np.zeros_like(dots)
    nonzero = denom > 0
    out[nonzero] = dots[nonzero] / denom[nonzero]
    return np.clip(out, -1.0, 1.0)


def unit_rows(Z):
    """Rows scaled to unit norm in float64; zero rows stay zero (cosine 0 with anything)."""
    Z = Z.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    norms[norms == 0] = 1.0
    Z /= norms[:, None]
    return Z
