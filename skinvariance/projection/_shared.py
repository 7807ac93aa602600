"""Relative subspaces shared between projections, explicitly: never through process state.

Two ways, each chosen by the caller, each visible where it is used:

- :class:`SharedSubspaces`: one matrix of rows and the raw subspaces (kernel values after the
  anchor-fitted pre-processing, before any per-sample normalisation) computed for it so far. A
  caller that projects the same rows with several projections creates one per matrix and
  hands it to each of them (:meth:`SharedSubspaces.transform`); it goes when the caller's work
  is done. :func:`~skinvariance.compare_invariances` creates one per space and split, so that
  the product and the single kernels of its table compute each subspace once.
- :func:`memory_source`: :class:`~skinvariance.ProductProjection`'s ``memory`` parameter (a
  :class:`joblib.Memory` or a path, as :class:`~sklearn.pipeline.Pipeline` has): the raw
  subspaces of a transform are stored by joblib, keyed by a hash of the rows, the anchors, the
  pre-processing and the kernels, so that grid-search candidates which differ only in how the
  subspaces are aggregated, normalised or decoded compute each fold's kernels once.

A raw source is a callable ``source(group, X, row_bytes) -> list of arrays`` (one per kernel of
the :class:`~skinvariance.projection._engine.SubspaceGroup`); the arrays may be read-only.
Served values are the ones a projection computes by itself, row by row: the same blocks, the
same passes (L1 and L-infinity computed together when the projection computes them together).
"""

import hashlib
import threading

import numpy as np
from sklearn.utils.validation import check_memory

from ..kernels import get_kernel
from ._engine import AnchorPreprocessing, SubspaceGroup, raw_subspaces

__all__ = [
    "SHARED_FLOOR_BYTES",
    "SharedSubspaces",
    "array_digest",
    "memory_source",
    "shared_budget",
]

#: The bytes of subspaces a :class:`SharedSubspaces` may keep whatever its rows' size.
SHARED_FLOOR_BYTES = 16 * 2**20


def shared_budget(rows):
    """The most bytes of subspaces kept for ``rows``: as many as the rows themselves take, or
    :data:`SHARED_FLOOR_BYTES` when that is more (small matrices share every subspace).

    Bounded by the rows' own size, the subspaces a comparison keeps add at most one copy of
    its input to its peak memory (:ref:`large_data`); any subspace beyond is recomputed, with
    the same values.
    """
    return max(int(rows.nbytes), SHARED_FLOOR_BYTES)


class SharedSubspaces:
    """The raw relative subspaces of one matrix of rows, computed once for every projection.

    Parameters
    ----------
    rows : ndarray of shape (n_samples, n_features)
        The rows every projection handed this object transforms (validated, C-contiguous).
    max_bytes : int or None, default=None
        The most bytes of subspaces kept (None: no bound); a subspace that would exceed it is
        computed for the projection that asks and not kept.

    Projections may read it from several threads at once (a comparison fits several rows'
    spaces at once): one at a time computes, so a subspace is computed once however many
    ask for it.

    Attributes
    ----------
    n_computed : int
        Subspaces computed so far (each stored once).
    n_served : int
        Subspaces handed out again instead of being computed.
    """

    def __init__(self, rows, *, max_bytes=None):
        self.rows = rows
        self.max_bytes = max_bytes
        self._bytes = 0
        self._raw = {}
        self._lock = threading.Lock()
        self._units_left = None  # see release_after
        self.n_computed = 0
        self.n_served = 0

    def __getstate__(self):
        # a copy sent to another process shares nothing with this one: it needs no lock of it
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def release(self):
        """Forget the subspaces kept so far: their memory goes once no projection holds them,
        and a projection that asks again computes them again, with the same values."""
        with self._lock:
            self._raw.clear()
            self._bytes = 0

    def release_after(self, n_units):
        """:meth:`release` once :meth:`unit_done` has been called ``n_units`` times (from any
        thread; a copy sent to another process counts, and releases, that copy)."""
        self._units_left = n_units

    def unit_done(self):
        """One of the units counted by :meth:`release_after` is done."""
        with self._lock:
            self._units_left -= 1
            last = self._units_left == 0
        if last:
            self.release()

    def transform(self, projection):
        """``projection.transform(rows)``, reading the subspaces computed before.

        A fitted :class:`~skinvariance.RelativeProjection` or
        :class:`~skinvariance.ProductProjection` reads its relative subspaces from here (and
        stores the ones it computes); any other transformer simply transforms the rows.
        """
        transform_sharing = getattr(projection, "_transform_sharing", None)
        if transform_sharing is None:
            return projection.transform(self.rows)
        return transform_sharing(self.rows, self)

    def __call__(self, group, X, row_bytes):
        """The raw subspaces of ``group`` for ``X`` (which must be :attr:`rows`)."""
        if X is not self.rows:
            return raw_subspaces(group, X, row_bytes)
        with self._lock:
            return self._computed_or_kept(group, X, row_bytes)

    def _computed_or_kept(self, group, X, row_bytes):
        keys = _subspace_keys(group)
        found = [self._raw.get(key) for key in keys]
        missing = [i for i, values in enumerate(found) if values is None]
        fused = group.evaluator.fused
        if fused is not None and any(i in missing for i in fused):
            # L1 and L-infinity are computed together or not at all: their pass decides the sums
            missing = sorted(set(missing) | set(fused))
        if missing:
            partial = group if len(missing) == len(keys) else group.subgroup(missing)
            for i, values in zip(missing, raw_subspaces(partial, X, row_bytes)):
                values.setflags(write=False)
                found[i] = values
                if self.max_bytes is None or self._bytes + values.nbytes <= self.max_bytes:
                    self._raw[keys[i]] = values
                    self._bytes += values.nbytes
            self.n_computed += len(missing)
        self.n_served += len(keys) - len(missing)
        return found


def array_digest(A):
    """``(dtype, shape, BLAKE2b digest of the values' bytes)`` of an array (or a DataFrame),
    read in C order: equal for arrays of the same values whatever their memory layout, and
    small enough to keep where the array itself should not be kept."""
    A = np.ascontiguousarray(A)
    digest = hashlib.blake2b(A.view(np.uint8).reshape(-1), digest_size=32).digest()
    return A.dtype.str, A.shape, digest


def _subspace_keys(group):
    """What each raw subspace of ``group`` depends on besides the rows: its kernel (and order),
    the anchors, the pre-processing, the dtype, and whether it is computed in the fused
    L1/L-infinity pass."""
    fused = set(group.evaluator.fused or ())
    # a digest of the anchors, not their bytes: a key per kept subspace must stay small
    common = (*array_digest(group.anchors), group.preprocessing.key(), group.dtype.str)
    keys = []
    for position, name in enumerate(group.kernels):
        kernel = get_kernel(name)
        order = float(group.p) if kernel.name == "minkowski" else None
        keys.append((*common, kernel.name, order, position in fused))
    return keys


def memory_source(memory):
    """A raw source storing every group's subspaces with ``memory`` (a :class:`joblib.Memory`,
    a path, or None: no storage, then None is returned)."""
    memory = check_memory(memory)
    if memory.location is None:
        return None
    cached = memory.cache(_computed_raw_subspaces)

    def source(group, X, row_bytes):
        preprocessing = group.preprocessing
        return cached(X, group.anchors, preprocessing.mean, preprocessing.scale,
                      preprocessing.l2_normalize, tuple(group.kernels), float(group.p),
                      group.dtype.str, tuple(group.evaluator.fused or ()), int(row_bytes))

    return source


def _computed_raw_subspaces(X, anchors, mean, scale, l2_normalize, kernels, p, dtype, fused,
                            row_bytes):
    """The raw subspaces of ``X`` (what :func:`memory_source` stores); ``fused`` only keys
    the result (a group of the same kernels computes them the same way)."""
    group = SubspaceGroup(anchors, AnchorPreprocessing(mean, scale, l2_normalize),
                          list(kernels), [None] * len(kernels), p=p, dtype=np.dtype(dtype))
    return raw_subspaces(group, X, row_bytes)
