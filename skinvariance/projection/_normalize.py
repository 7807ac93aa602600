"""Per-sample normalisation of relative representations."""

import numpy as np

from .._compat import StrOptions, validate_params
from ..kernels import _numba

__all__ = ["NORMALIZATIONS", "column_block", "norm_code", "normalize_in_place",
           "normalize_rows"]

NORMALIZATIONS = ("layer", "l2")
_NORM_CODES = {None: _numba.NORM_NONE, "layer": _numba.NORM_LAYER, "l2": _numba.NORM_L2}


def norm_code(norm):
    """The compiled loops' code for the normalisation ``norm`` (None, "layer" or "l2")."""
    return _NORM_CODES[norm]


def normalize_in_place(R, norm):
    """Normalise the rows of the float array ``R`` in place (no validation: internal use)."""
    if norm is not None:
        rows, column = column_block(R)
        _numba.normalize_columns_into(rows, column, rows, column, R.shape[1], 0, R.shape[0],
                                      _NORM_CODES[norm], 1.0, False)
    return R


def column_block(R):
    """``(rows, column)``: ``R`` as the columns ``column:column + R.shape[1]`` of ``rows``, a
    C-contiguous array when ``R`` is one or a view of a column range of one (a subspace's
    columns of a concat output), else ``R`` itself.

    The compiled normalisation loops vectorise on C-contiguous arrays only: passing these
    gives every path the same loop, hence the same bits, whatever the layout of ``R``.
    """
    parent = R.base
    if R.flags.c_contiguous or not (
        isinstance(parent, np.ndarray) and parent.ndim == 2 and parent.flags.c_contiguous
        and parent.dtype == R.dtype and R.strides == parent.strides
    ):
        return R, 0
    offset = R.ctypes.data - parent.ctypes.data
    row, column = divmod(offset // R.itemsize, parent.shape[1])
    if offset < 0 or offset % R.itemsize or column + R.shape[1] > parent.shape[1]:
        return R, 0
    return parent[row:row + R.shape[0]], column


@validate_params(
    {"R": ["array-like"], "norm": [StrOptions(set(NORMALIZATIONS)), None], "copy": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def normalize_rows(R, norm="layer", *, copy=True):
    """Per-sample normalisation of relative representations.

    Parameters
    ----------
    R : ndarray of shape (n_samples, n_anchors)
        Relative representations (float).
    norm : {"layer", "l2"} or None, default="layer"
        - ``"layer"``: subtract each row's mean and divide by its standard deviation
          (a LayerNorm without learned parameters). Makes distance kernels invariant to
          isotropic scaling of the latent space. A constant row becomes all zeros: one whose
          standard deviation is at most ``16 eps |mean|`` (``eps`` of its dtype), the spread
          rounding alone leaves on equal values, as on every row of a projection onto
          duplicate anchors.
        - ``"l2"``: divide each row by its L2 norm; a zero row stays zero.

        Statistics are accumulated in float64 on rows scaled so that nothing overflows or
        underflows: rows of any magnitude the dtype holds give finite results.
        - ``None``: leave the rows unchanged.
    copy : bool, default=True
        If False, normalise ``R`` in place (it must be a float ndarray).

    Returns
    -------
    R : ndarray of shape (n_samples, n_anchors)

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.projection import normalize_rows
    >>> normalize_rows(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    array([[-1.22474487,  0.        ,  1.22474487],
           [ 0.        ,  0.        ,  0.        ]])
    """
    if copy:
        R = np.array(R, dtype=np.result_type(R, np.float32))
    return normalize_in_place(R, norm)
