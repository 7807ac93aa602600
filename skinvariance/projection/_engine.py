"""The engine behind every relative projection: pre-processing, kernels and normalisation of
row blocks.

:class:`SubspaceGroup` holds relative subspaces that share their anchors and their
anchor-fitted pre-processing (centring, scaling, L2 normalisation), so that a block of samples
is pre-processed once and every kernel of the group is evaluated on it (L1 and L-infinity in
one pass). :func:`relative_projection`, :class:`~skinvariance.RelativeProjection` (one group
of one kernel) and :class:`~skinvariance.ProductProjection` (several groups, then an
aggregation) all run their row blocks through :func:`project_in_blocks`;
:func:`raw_subspaces` computes a group's subspaces for every row at once, for the callers that
share them (``_shared.py``).
"""

import numpy as np
from sklearn.preprocessing import StandardScaler

from .._parallel import row_blocks
from .._validation import DataError
from ..kernels import KernelEvaluator
from ..kernels._numba import ROW_TILE
from ..kernels._unit import unit_rows
from ._normalize import normalize_in_place

__all__ = [
    "AnchorPreprocessing",
    "SubspaceGroup",
    "project_in_blocks",
    "raw_subspaces",
]

class AnchorPreprocessing:
    """Centring, per-feature scaling and L2 normalisation with statistics of the anchors.

    Parameters
    ----------
    mean : ndarray of shape (n_features,) or None
        Subtracted from every row (the anchors' mean), or nothing.
    scale : ndarray of shape (n_features,) or None
        Every row is divided by it (the anchors' standard deviation), or nothing.
    l2_normalize : bool
        Divide every row by its L2 norm last (zero rows stay zero).
    """

    def __init__(self, mean=None, scale=None, l2_normalize=False):
        self.mean = mean
        self.scale = scale
        self.l2_normalize = bool(l2_normalize)

    @classmethod
    def fit(cls, anchors, *, center, scale, l2_normalize):
        """The pre-processing with the anchors' statistics (scikit-learn's StandardScaler:
        a standard deviation below ``10 * eps`` counts as 1)."""
        mean = std = None
        if center or scale:
            # Fitted on the anchors divided by a power of two (exact), so that no sum or
            # square overflows or underflows at extreme magnitudes; the statistics are scaled
            # back, except the scale 1 of constant features.
            anchors = np.asarray(anchors)
            exponent = int(np.frexp(np.max(np.abs(anchors), initial=0.0))[1])
            scaler = StandardScaler(with_mean=center, with_std=scale)
            scaler.fit(np.ldexp(anchors, -exponent))
            mean = np.ldexp(scaler.mean_, exponent) if center else None
            if scale:
                constant = scaler.scale_ != np.sqrt(scaler.var_)
                std = np.where(constant, 1.0, np.ldexp(scaler.scale_, exponent))
        return cls(mean, std, l2_normalize)

    @property
    def identity(self):
        """Whether the pre-processing leaves rows unchanged."""
        return self.mean is None and self.scale is None and not self.l2_normalize

    def key(self):
        """What two pre-processings must share to be applied once for both."""
        def token(array):
            return None if array is None else (array.dtype.str, array.tobytes())

        return token(self.mean), token(self.scale), self.l2_normalize

    def apply(self, X, dtype):
        """The pre-processed rows of ``X``, C-contiguous, in ``dtype`` (a new array)."""
        if self.mean is not None:
            X = X - self.mean.astype(dtype, copy=False)
        if self.scale is not None:
            X = X / self.scale.astype(dtype, copy=False)
        if not (self.mean is None and self.scale is None or np.isfinite(X).all()):
            raise DataError(
                f"X centred and scaled with the anchors' statistics overflows {X.dtype}; "
                "rescale X and the anchors, or use float64."
            )
        if self.l2_normalize:
            X = unit_rows(X)
        return np.ascontiguousarray(X, dtype=dtype)


class SubspaceGroup:
    """Relative subspaces computed together: one set of anchors, one pre-processing.

    Parameters
    ----------
    anchors : ndarray of shape (n_anchors, n_features)
        The raw anchors (before pre-processing).
    preprocessing : AnchorPreprocessing
        Applied to anchors and samples alike.
    kernels : list of str
        One kernel per subspace.
    normalizations : list of {"layer", "l2", None}
        Each subspace's per-sample output normalisation.
    p : float
        Order of the Minkowski kernel.
    dtype : dtype
        The float dtype blocks arrive in and outputs are written in.
    n_threads : int or None
        Threads of the compiled loops (None: the thread policy, see ``_parallel``).
    """

    def __init__(self, anchors, preprocessing, kernels, normalizations, *, p, dtype,
                 n_threads=None):
        self.preprocessing = preprocessing
        self.dtype = np.dtype(dtype)
        self.normalizations = list(normalizations)
        self.kernels = list(kernels)
        self.p = p
        self.n_threads = n_threads
        self.anchors = np.asarray(anchors)
        # Pre-processed in their own dtype, then cast: float32 samples meet the same anchors.
        processed = preprocessing.apply(self.anchors, self.anchors.dtype).astype(
            self.dtype, copy=False)
        self.evaluator = KernelEvaluator(processed, kernels, p=p, n_threads=n_threads)
        self.n_anchors = processed.shape[0]

    def temporary_row_bytes(self, n_features):
        """Bytes per sample row of the group's temporaries (pre-processed copy, kernels')."""
        extra = 0 if self.preprocessing.identity else n_features * self.dtype.itemsize
        return self.evaluator.temporary_row_bytes(n_features) + extra

    def compute_raw(self, block, outs, *, finish=None):
        """Fill ``outs`` with the kernel values of the pre-processed ``block`` (no
        normalisation); ``finish(rows)`` as in :meth:`KernelEvaluator.compute`."""
        if not self.preprocessing.identity:
            block = self.preprocessing.apply(block, self.dtype)
        self.evaluator.compute(block, outs, finish=finish)

    def normalize(self, outs):
        """Each subspace's own per-sample normalisation, in place."""
        for out, norm in zip(outs, self.normalizations):
            normalize_in_place(out, norm)

    def compute(self, block, outs, *, finish=None):
        """Fill ``outs`` (one ``(n_rows, n_anchors)`` array per subspace) for ``block``, each
        normalised per sample; ``finish(rows)`` then runs on those rows, on the thread that
        computed them (see :meth:`KernelEvaluator.compute`)."""

        def normalize(rows):
            self.normalize([out[rows] for out in outs])
            if finish is not None:
                finish(rows)

        self.compute_raw(block, outs, finish=normalize)

    def subgroup(self, positions):
        """The group of the subspaces at ``positions`` alone (same anchors and threads)."""
        return SubspaceGroup(
            self.anchors, self.preprocessing, [self.kernels[i] for i in positions],
            [self.normalizations[i] for i in positions], p=self.p, dtype=self.dtype,
            n_threads=self.n_threads,
        )


def _blocks(n_rows, row_bytes):
    return row_blocks(n_rows, row_bytes, align=ROW_TILE)


def project_in_blocks(X, compute_block, row_bytes):
    """Call ``compute_block(rows, block)`` on C-contiguous row blocks of ``X``.

    Blocks are sized by :func:`skinvariance.kernels.row_blocks` from the temporary bytes one
    row needs, within scikit-learn's ``working_memory``; they start at multiples of the
    compiled loops' row tile.
    """
    for rows in _blocks(X.shape[0], row_bytes):
        compute_block(rows, np.ascontiguousarray(X[rows]))


def raw_subspaces(group, X, row_bytes):
    """The raw subspaces (one ``(n_rows, n_anchors)`` array per kernel of ``group``, no
    normalisation) of every row of ``X``, computed in the blocks :func:`project_in_blocks`
    uses for ``row_bytes``: row by row the values a block-by-block projection computes."""
    computed = [np.empty((X.shape[0], group.n_anchors), dtype=group.dtype)
                for _ in group.kernels]

    def compute_block(rows, block):
        group.compute_raw(block, [values[rows] for values in computed])

    project_in_blocks(X, compute_block, row_bytes)
    return computed
