"""Per-sample normalisation of relative representations."""

import numpy as np

from .._compat import StrOptions, validate_params
from ..kernels import _numba

__all__ = ["NORMALIZATIONS", "norm_code", "normalize_in_place", "normalize_rows"]

NORMALIZATIONS = ("layer", "l2")
_NORM_CODES = {None: _numba.NORM_NONE, "layer": _numba.NORM_LAYER, "l2": _numba.NORM_L2}


def norm_code(norm):
    """The compiled loops' code for the normalisation ``norm`` (None, "layer" or "l2")."""
    return _NORM_CODES[norm]


def normalize_in_place(R, norm):
    """Normalise the rows of the float array ``R`` in place (no validation: internal use)."""
    if norm is not None:
        _numba.normalize_rows_into(R, R, _NORM_CODES[norm], 1.0, False)
    return R


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
