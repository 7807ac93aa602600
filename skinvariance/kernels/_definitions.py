"""The kernels: one class each, with its formula, its edge-case conventions and its accuracy.

A kernel compares every row of a block of samples ``X`` (shape ``(b, d)``) with every anchor
``A`` (shape ``(k, d)``) and writes a ``(b, k)`` block. Each kernel first *prepares* the
anchors once per call (norms, means, a contiguous copy) and then *computes* blocks. Inputs
reaching these classes are already validated: finite, 2-D, same width, same float dtype.

**The numeric contract.** For finite input of any magnitude the dtype can hold, every kernel
returns finite values within its stated tolerance (:meth:`Kernel.tolerance`) of the exact
kernel of the given numbers: an absolute error for the bounded kernels (cosine, angular), a
relative one for the distances, relative to ``max(|exact|, tiny)`` (``tiny`` the dtype's
smallest normal number, below which a result keeps only the precision of subnormal numbers).
Scale-invariant kernels thus give, at any magnitude, the result they give at scale 1, and
distances scale times it. The one exception is a distance that exceeds the largest number of
the dtype (a float32 L1 distance above 3.4e38, say): that raises a ``ValueError`` naming ``X``.
None of them returns NaN, or zeros for nonzero vectors.
"""

import numpy as np

from .._validation import DataError
from . import _numba, _unit
from ._euclidean import EuclideanAnchors

#: Cosines beyond this (in absolute value) give angular distances recomputed with ``atan2``:
#: there ``arccos`` would turn the rounding of the cosine into a much larger angle error.
_ANGULAR_RECOMPUTE = 0.99


class Kernel:
    """Base class of the kernels of the registry.

    Attributes
    ----------
    name : str
        Canonical name.
    aliases : tuple of str
        Other accepted names.
    kind : {"similarity", "distance"}
        Whether larger values mean closer (similarity) or farther (distance).
    formula : str
        The value written for a sample ``x`` and an anchor ``a``.
    invariances : tuple of str
        Transformations of the latent space, applied to samples and anchors together, that
        leave the value unchanged.
    uses_matmul : bool
        Whether the kernel is computed through a matrix product (BLAS, already threaded).
    error : {"absolute", "relative"}
        How :meth:`tolerance` bounds the error: absolutely (kernels with values in a fixed
        range) or relatively to ``max(|exact|, tiny)`` (distances).
    accuracy : str
        The tolerance as the documentation states it (``d`` features, ``eps`` the machine
        epsilon of the dtype).

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.kernels import get_kernel
    >>> kernel = get_kernel("chebyshev")
    >>> kernel.name, kernel.kind, kernel.invariances
    ('linf', 'distance', ('translation', 'signed permutation'))
    >>> X, A = np.array([[0.0, 3.0]]), np.array([[1.0, 1.0]])
    >>> out = np.empty((1, 1))
    >>> kernel.compute(X, kernel.prepare(A, p=2.0), out)
    >>> out
    array([[2.]])
    >>> kernel.accuracy, float(kernel.tolerance(np.float32, n_features=2))
    ('relative error <= eps', 1.1920928955078125e-07)
    """

    name = ""
    aliases = ()
    kind = "distance"
    formula = ""
    invariances = ()
    uses_matmul = False
    error = "relative"
    accuracy = ""

    def tolerance(self, dtype, n_features, *, p=2.0):
        """The largest error the kernel promises, for a dtype and a number of features.

        Parameters
        ----------
        dtype : float32 or float64
            The dtype of the computation (that of the samples).
        n_features : int
            Width of the samples and anchors.
        p : float, default=2.0
            Order of the Minkowski kernel (ignored by the others).

        Returns
        -------
        tolerance : float
            An absolute bound (``error == "absolute"``), or a bound relative to
            ``max(|exact|, tiny)`` (``error == "relative"``).
        """
        raise NotImplementedError

    def prepare(self, A, *, p):
        """Anchor state computed once per call (the default: a C-contiguous copy).

        Parameters
        ----------
        A : ndarray of shape (n_anchors, n_features)
            Validated anchors, already cast to the samples' dtype.
        p : float
            Order of the Minkowski kernel (ignored by the others).

        Returns
        -------
        state : object
            Whatever :meth:`compute` needs about the anchors.

        Raises
        ------
        ValueError
            If the anchors overflowed when cast to the samples' dtype (float64 anchors beyond
            3.4e38 with float32 samples).
        """
        _check_cast(A)
        return np.ascontiguousarray(A)

    def compute(self, X, state, out):
        """Fill ``out`` with the kernel values of ``X`` against the prepared anchors.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            A validated, C-contiguous block of samples.
        state : object
            The result of :meth:`prepare`.
        out : ndarray of shape (n_rows, n_anchors)
            Written in place, in the dtype of ``X``.

        Raises
        ------
        ValueError
            If a distance exceeds the largest number of the dtype.
        """
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class CosineKernel(Kernel):
    """Cosine similarity: ``<x, a> / (|x| |a|)``, in ``[-1, 1]``.

    Computed as a matrix product of the L2-normalised samples and anchors. Each row is
    divided by its largest magnitude before its norm is taken (in float64), so rows of any
    magnitude, from subnormal numbers to the largest the dtype holds, are normalised without
    overflow or underflow. Zero vectors: a zero sample or anchor has similarity 0 to
    everything (scikit-learn's convention for
    :func:`sklearn.metrics.pairwise.cosine_similarity`). Rounding can push values past
    ``+-1``; they are clipped. Absolute error at most ``(d + 2) eps``.
    """

    name = "cosine"
    kind = "similarity"
    formula = "<x, a> / (|x| |a|)"
    invariances = ("orthogonal", "isotropic scaling", "signed permutation")
    uses_matmul = True
    error = "absolute"
    accuracy = "absolute error <= (d + 2) eps"

    def tolerance(self, dtype, n_features, *, p=2.0):
        return (n_features + 2) * np.finfo(dtype).eps

    def prepare(self, A, *, p):
        _check_cast(A)
        return _UnitRows(A)

    def compute(self, X, state, out):
        np.dot(_UnitRows(X).unit, state.unit.T, out=out)
        np.clip(out, -1.0, 1.0, out=out)


class AngularKernel(CosineKernel):
    """Angular distance: ``arccos(cos(x, a)) / pi``, in ``[0, 1]``.

    Zero vectors have cosine similarity 0 (see :class:`CosineKernel`), hence angular
    distance 0.5 to everything. ``arccos`` of the cosine is used where it is well conditioned;
    where ``|cos| > 0.99`` (angles near 0 and pi, where ``arccos`` would amplify the rounding
    of the cosine to about ``sqrt(eps)``) the angle is recomputed in float64 as
    ``2 atan2(|u - v|, |u + v|)`` of the unit vectors ``u``, ``v``, which is accurate at every
    angle. Absolute error at most ``3 (d + 2) eps``; an anchor's distance to itself is 0.
    """

    name = "angular"
    kind = "distance"
    formula = "arccos(<x, a> / (|x| |a|)) / pi"
    accuracy = "absolute error <= 3 (d + 2) eps"

    def tolerance(self, dtype, n_features, *, p=2.0):
        # Where arccos is kept, |cos| <= 0.99 and its condition number is at most
        # 1 / sqrt(1 - 0.99**2) < 7.1: the cosine's error, times 7.1 / pi < 2.3, plus rounding.
        return 3 * (n_features + 2) * np.finfo(dtype).eps

    def compute(self, X, state, out):
        rows = _UnitRows(X)
        np.dot(rows.unit, state.unit.T, out=out)
        np.clip(out, -1.0, 1.0, out=out)
        sample_rows, anchor_cols = _unit.entries_beyond(out, _ANGULAR_RECOMPUTE)
        np.arccos(out, out=out)
        out *= 1.0 / np.pi
        if len(sample_rows):
            _unit.angular_entries(
                X, state.rows, rows.scale, rows.inv_norm, state.scale, state.inv_norm,
                sample_rows, anchor_cols, out,
            )


class EuclideanKernel(Kernel):
    """Euclidean distance: ``|x - a|_2``, in ``[0, inf)``.

    Computed in the matrix-product form ``|x|^2 + |a|^2 - 2 <x, a>`` after centring samples
    and anchors on the anchors' mean (the distance does not change, and the smaller norms
    shrink the cancellation error). Entries where cancellation could still cost more than
    about ``sqrt(d eps)`` of relative precision (``d^2`` small next to ``|x|^2 + |a|^2``, as
    for near-duplicate rows) are recomputed directly from the coordinates in float64, so
    float32 input keeps float32 speed without scikit-learn's float64 upcast. Identical rows
    give exactly 0.

    Scale, row by row: each sample and each anchor whose largest magnitude lies outside
    ``2**+-32`` is multiplied by a power of two first (exact), chosen from its own magnitude and
    the anchors', so that no square overflows or underflows, and its distances are multiplied
    back. A sample's distances thus depend on that sample and the anchors alone, whatever the
    other rows of its block. Relative error at most ``sqrt(d eps)``.
    """

    name = "euclidean"
    formula = "sqrt(sum_f (x_f - a_f)^2)"
    invariances = ("orthogonal", "translation", "signed permutation")
    uses_matmul = True
    accuracy = "relative error <= sqrt(d eps)"

    def tolerance(self, dtype, n_features, *, p=2.0):
        # Entries kept from the Gram form have d^2 > rtol (|x|^2 + |a|^2), rtol = sqrt(d eps),
        # and an error in d^2 of at most about d eps (|x|^2 + |a|^2): half of that relative
        # error in d. Recomputed entries are accurate to a few eps.
        return np.sqrt(n_features * np.finfo(dtype).eps)

    def prepare(self, A, *, p):
        _check_cast(A)
        return EuclideanAnchors(A)

    def compute(self, X, state, out):
        if not state.compute(X, out):
            raise _numba.overflow_error(X.dtype, self.name)


class L1Kernel(Kernel):
    """L1 (Manhattan, city-block) distance: ``sum_f |x_f - a_f|``, in ``[0, inf)``.

    Compiled loop, vectorised over features and tiled over rows. Identical rows give 0.
    A sum of non-negative terms cannot cancel, so it is accurate at every magnitude: relative
    error at most ``d eps``.
    """

    name = "l1"
    aliases = ("manhattan", "cityblock")
    formula = "sum_f |x_f - a_f|"
    invariances = ("translation", "signed permutation")
    accuracy = "relative error <= d eps"

    def tolerance(self, dtype, n_features, *, p=2.0):
        return n_features * np.finfo(dtype).eps

    def compute(self, X, state, out):
        _numba.l1_block(X, state, out)
        _numba.check_overflow(out, self.name)


class LinfKernel(Kernel):
    """L-infinity (Chebyshev) distance: ``max_f |x_f - a_f|``, in ``[0, inf)``.

    Compiled loop, vectorised over features and tiled over rows. Identical rows give 0.
    The one rounding is that of the largest difference: relative error at most ``eps``.
    """

    name = "linf"
    aliases = ("chebyshev",)
    formula = "max_f |x_f - a_f|"
    invariances = ("translation", "signed permutation")
    accuracy = "relative error <= eps"

    def tolerance(self, dtype, n_features, *, p=2.0):
        return np.finfo(dtype).eps

    def compute(self, X, state, out):
        _numba.linf_block(X, state, out)
        _numba.check_overflow(out, self.name)


class MinkowskiKernel(Kernel):
    """Minkowski distance of order ``p >= 1``: ``(sum_f |x_f - a_f|^p)^(1/p)``.

    ``p=1`` and ``p=inf`` use the L1 and L-infinity loops; ``p=2`` uses the Euclidean
    kernel (and their accuracy). Other orders use a compiled loop that divides each
    difference vector by its largest entry first, so that neither a large ``p`` nor an
    extreme magnitude overflows or underflows: relative error at most ``(d + 4) eps``.
    Identical rows give 0.
    """

    name = "minkowski"
    formula = "(sum_f |x_f - a_f|^p)^(1/p)"
    invariances = ("translation", "signed permutation")
    accuracy = "relative error <= (d + 4) eps (p = 1, 2, inf: as l1, euclidean, linf)"

    def tolerance(self, dtype, n_features, *, p=2.0):
        special = _special_minkowski(p)
        if special is not None:
            return special.tolerance(dtype, n_features)
        return (n_features + 4) * np.finfo(dtype).eps

    def prepare(self, A, *, p):
        special = _special_minkowski(p)
        if special is not None:
            return special, special.prepare(A, p=p)
        _check_cast(A)
        return None, (np.ascontiguousarray(A), float(p))

    def compute(self, X, state, out):
        special, inner = state
        if special is not None:
            special.compute(X, inner, out)
        else:
            anchors, p = inner
            _numba.minkowski_block(X, anchors, p, out)
            _numba.check_overflow(out, self.name)


def _special_minkowski(p):
    """The kernel computing the Minkowski orders 1, 2 and inf, or None for the others."""
    return {1.0: L1Kernel(), 2.0: EuclideanKernel(), np.inf: LinfKernel()}.get(float(p))


def _check_cast(A):
    """Refuse anchors that overflowed when cast to the samples' (narrower) dtype."""
    if not np.isfinite(A).all():
        raise DataError(
            f"The anchors do not fit in {A.dtype}, the dtype of X (some exceed "
            f"{np.finfo(A.dtype).max:.3g} in magnitude); pass X as float64, or rescale X and "
            "the anchors."
        )


class _UnitRows:
    """Rows divided by their L2 norm (zero rows stay zero), with what rebuilds them in float64.

    ``unit`` is in the dtype of the rows; ``rows[i] / scale[i] * inv_norm[i]`` is the unit
    vector in float64 (see :func:`_unit.unit_rows_into`).
    """

    def __init__(self, rows):
        self.rows = np.ascontiguousarray(rows)
        self.unit = np.empty_like(self.rows)
        self.scale = np.empty(len(self.rows))
        self.inv_norm = np.empty(len(self.rows))
        _unit.unit_rows_into(self.rows, self.unit, self.scale, self.inv_norm)
