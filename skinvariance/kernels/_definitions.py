"""The kernels: one class each, with its formula and its edge-case conventions.

A kernel compares every row of a block of samples ``X`` (shape ``(b, d)``) with every anchor
``A`` (shape ``(k, d)``) and writes a ``(b, k)`` block. Each kernel first *prepares* the
anchors once per call (norms, means, a contiguous copy) and then *computes* blocks. Inputs
reaching these classes are already validated: finite, 2-D, same width, same float dtype.
"""

import numpy as np

from . import _numba


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
    """

    name = ""
    aliases = ()
    kind = "distance"
    formula = ""
    invariances = ()
    uses_matmul = False

    def prepare(self, A, *, p):
        """Anchor state computed once per call (the default: a C-contiguous copy).

        Parameters
        ----------
        A : ndarray of shape (n_anchors, n_features)
            Validated anchors.
        p : float
            Order of the Minkowski kernel (ignored by the others).

        Returns
        -------
        state : object
            Whatever :meth:`compute` needs about the anchors.
        """
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
        """
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class CosineKernel(Kernel):
    """Cosine similarity: ``<x, a> / (|x| |a|)``, in ``[-1, 1]``.

    Computed as a matrix product of the L2-normalised samples and anchors. Zero vectors:
    a zero sample or anchor has similarity 0 to everything (scikit-learn's convention for
    :func:`sklearn.metrics.pairwise.cosine_similarity`). Rounding can push values past
    ``+-1``; they are clipped.
    """

    name = "cosine"
    kind = "similarity"
    formula = "<x, a> / (|x| |a|)"
    invariances = ("orthogonal", "isotropic scaling", "signed permutation")
    uses_matmul = True

    def prepare(self, A, *, p):
        return _unit_rows(A)

    def compute(self, X, state, out):
        np.dot(_unit_rows(X), state.T, out=out)
        np.clip(out, -1.0, 1.0, out=out)


class AngularKernel(CosineKernel):
    """Angular distance: ``arccos(cos(x, a)) / pi``, in ``[0, 1]``.

    Zero vectors have cosine similarity 0 (see :class:`CosineKernel`), hence angular
    distance 0.5 to everything. Near 0 and 1, ``arccos`` amplifies the rounding of the
    cosine: the absolute error there is about ``sqrt(eps)`` (1e-8 in float64, 3e-4 in
    float32) rather than ``eps``.
    """

    name = "angular"
    kind = "distance"
    formula = "arccos(<x, a> / (|x| |a|)) / pi"

    def compute(self, X, state, out):
        super().compute(X, state, out)
        np.arccos(out, out=out)
        out *= 1.0 / np.pi


class EuclideanKernel(Kernel):
    """Euclidean distance: ``|x - a|_2``, in ``[0, inf)``.

    Computed in the matrix-product form ``|x|^2 + |a|^2 - 2 <x, a>`` after centring samples
    and anchors on the anchors' mean (the distance does not change, and the smaller norms
    shrink the cancellation error). Entries where cancellation could still cost more than
    about ``sqrt(eps)`` of relative precision (``d^2`` small next to ``|x|^2 + |a|^2``, as for
    near-duplicate rows) are recomputed directly from the coordinates in float64, so float32
    input keeps float32 speed without scikit-learn's float64 upcast. Identical rows give
    exactly 0.
    """

    name = "euclidean"
    formula = "sqrt(sum_f (x_f - a_f)^2)"
    invariances = ("orthogonal", "translation", "signed permutation")
    uses_matmul = True

    def prepare(self, A, *, p):
        mean = A.mean(axis=0)
        centred = np.ascontiguousarray(A - mean)
        sq_norms = np.einsum("ij,ij->i", centred, centred)
        # Entries whose relative error in d^2 could exceed sqrt(eps) are recomputed: the
        # rounding error of a length-d dot product grows like sqrt(d) * eps (|x|^2 + |a|^2).
        eps = np.finfo(A.dtype).eps
        rtol = float(np.sqrt(A.shape[1]) * np.sqrt(eps))
        return mean, centred, sq_norms, rtol

    def compute(self, X, state, out):
        mean, centred, a_sq, rtol = state
        Xc = X - mean
        x_sq = np.einsum("ij,ij->i", Xc, Xc)
        np.dot(Xc, centred.T, out=out)
        _numba.finish_euclidean_block(Xc, centred, x_sq, a_sq, out, rtol)


class L1Kernel(Kernel):
    """L1 (Manhattan, city-block) distance: ``sum_f |x_f - a_f|``, in ``[0, inf)``.

    Compiled loop, vectorised over features and tiled over rows. Identical rows give 0.
    """

    name = "l1"
    aliases = ("manhattan", "cityblock")
    formula = "sum_f |x_f - a_f|"
    invariances = ("translation", "signed permutation")

    def compute(self, X, state, out):
        _numba.l1_block(X, state, out)


class LinfKernel(Kernel):
    """L-infinity (Chebyshev) distance: ``max_f |x_f - a_f|``, in ``[0, inf)``.

    Compiled loop, vectorised over features and tiled over rows. Identical rows give 0.
    """

    name = "linf"
    aliases = ("chebyshev",)
    formula = "max_f |x_f - a_f|"
    invariances = ("translation", "signed permutation")

    def compute(self, X, state, out):
        _numba.linf_block(X, state, out)


class MinkowskiKernel(Kernel):
    """Minkowski distance of order ``p >= 1``: ``(sum_f |x_f - a_f|^p)^(1/p)``.

    ``p=1`` and ``p=inf`` use the L1 and L-infinity loops; ``p=2`` uses the Euclidean
    kernel. Other orders use a compiled loop that rescales each difference vector by its
    largest entry first, so large ``p`` neither overflows nor underflows. Identical rows
    give 0.
    """

    name = "minkowski"
    formula = "(sum_f |x_f - a_f|^p)^(1/p)"
    invariances = ("translation", "signed permutation")

    def prepare(self, A, *, p):
        special = {1.0: L1Kernel(), 2.0: EuclideanKernel(), np.inf: LinfKernel()}.get(float(p))
        if special is not None:
            return special, special.prepare(A, p=p)
        return None, (np.ascontiguousarray(A), float(p))

    def compute(self, X, state, out):
        special, inner = state
        if special is not None:
            special.compute(X, inner, out)
        else:
            anchors, p = inner
            _numba.minkowski_block(X, anchors, p, out)


def _unit_rows(X):
    """Rows divided by their L2 norm; zero rows stay zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1
    return X / norms[:, np.newaxis]
