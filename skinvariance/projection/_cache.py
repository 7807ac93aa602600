"""A bounded cache of relative subspaces, so that an evaluation loop computes each one once.

A grid search over how a product is aggregated, normalised or decoded, the folds of a
comparison, and the rows of :func:`~skinvariance.compare_invariances` (the product and the
single kernels) project the same samples onto the same anchors with the same kernels again
and again. Inside :func:`cached_projections` (which :class:`~skinvariance.StitchingEvaluator`
and :func:`~skinvariance.compare_invariances` enter around their own work), the projections
keep each raw relative subspace (kernel values after the anchor-fitted pre-processing, before
any per-sample normalisation) in one least-recently-used cache per process, and find it there
the next time.

**Key.** A SHA-256 digest of everything the values depend on: the samples (bytes, shape, dtype),
the anchors (bytes, shape, dtype), the pre-processing (the anchors' mean and scale, bytes, and
the L2 flag), the kernel and its order ``p``, the output dtype, and what decides the summation
order of the computation: whether L1 and L-infinity were computed in their fused pass, and,
for the matrix-product kernels, the block height and the BLAS thread count. A value is only
ever served where recomputing it would give the same bits; changing anything above computes
it anew.

**Bound.** At most ``max_bytes`` (1 GiB by default, scikit-learn's default ``working_memory``;
``SKINVARIANCE_PROJECTION_CACHE_MB`` in the environment sets it for every process started
afterwards, joblib's worker processes included) per process; a subspace larger than an eighth
of it is never stored; the least recently used subspaces are dropped first.
:func:`set_projection_cache` changes the bound (0 disables the cache and frees it),
:func:`clear_projection_cache` empties it, :func:`projection_cache_info` reports it.

**Safety.** One lock guards the cache: threads (joblib's threading backend, a Dask client with
``processes=False``) share it safely; worker processes each have their own. Stored arrays are
read-only; the projections copy them into their outputs.
"""

import hashlib
import os
import threading
from collections import OrderedDict, namedtuple
from contextlib import contextmanager

import numpy as np

__all__ = [
    "CacheInfo",
    "cached_projections",
    "clear_projection_cache",
    "projection_cache_info",
    "set_projection_cache",
]

#: The default bound in bytes (scikit-learn's default ``working_memory``, 1024 MiB).
DEFAULT_MAX_BYTES = 1024 * 2**20
#: The environment variable giving the bound in MiB (read once per process, at first use).
ENVIRONMENT_VARIABLE = "SKINVARIANCE_PROJECTION_CACHE_MB"
#: No single subspace larger than this fraction of the bound is stored.
MAX_ENTRY_FRACTION = 8

CacheInfo = namedtuple("CacheInfo", ["hits", "misses", "entries", "current_bytes", "max_bytes"])


class SubspaceCache:
    """A least-recently-used mapping from digests to read-only arrays, bounded in bytes.

    Parameters
    ----------
    max_bytes : int
        The bound; 0 stores nothing.
    """

    def __init__(self, max_bytes):
        self._lock = threading.Lock()
        self._entries = OrderedDict()
        self._bytes = 0
        self._max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0

    @property
    def max_bytes(self):
        return self._max_bytes

    def accepts(self, n_bytes):
        """Whether an array of ``n_bytes`` would be stored."""
        return 0 < n_bytes <= self._max_bytes // MAX_ENTRY_FRACTION

    def get(self, key):
        """The array stored under ``key`` (read-only), or None."""
        with self._lock:
            array = self._entries.get(key)
            if array is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return array

    def put(self, key, array):
        """Store a read-only copy of ``array`` under ``key`` if it fits; return the stored
        array (or ``array`` itself when it is not stored)."""
        if not self.accepts(array.nbytes):
            return array
        stored = np.array(array, copy=True)
        stored.setflags(write=False)
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous.nbytes
            self._entries[key] = stored
            self._bytes += stored.nbytes
            self._evict()
        return stored

    def _evict(self):
        while self._bytes > self._max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.nbytes

    def resize(self, max_bytes):
        with self._lock:
            previous, self._max_bytes = self._max_bytes, int(max_bytes)
            self._evict()
        return previous

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def info(self):
        with self._lock:
            return CacheInfo(self.hits, self.misses, len(self._entries), self._bytes,
                             self._max_bytes)

    def _reset_lock(self):
        self._lock = threading.Lock()


_cache = None
_cache_lock = threading.Lock()
_local = threading.local()


def _default_max_bytes():
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if value is None:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(value)
    except ValueError:
        raise ValueError(
            f"The environment variable {ENVIRONMENT_VARIABLE} must be a number of MiB (0 "
            f"disables the projection cache). Got {value!r} instead."
        ) from None
    return max(0, int(megabytes * 2**20))


def _the_cache():
    """The process's cache, created at first use."""
    global _cache
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                _cache = SubspaceCache(_default_max_bytes())
    return _cache


def _after_fork_in_child():
    # A lock held by another thread at fork time would never be released in the child.
    global _cache_lock
    _cache_lock = threading.Lock()
    if _cache is not None:
        _cache._reset_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def active_cache():
    """The cache if this thread is inside :func:`cached_projections` and it stores anything,
    else None."""
    if not getattr(_local, "depth", 0):
        return None
    cache = _the_cache()
    return cache if cache.max_bytes > 0 else None


@contextmanager
def cached_projections():
    """Let relative projections in this thread reuse the subspaces they computed before.

    :class:`~skinvariance.StitchingEvaluator` and :func:`~skinvariance.compare_invariances`
    enter it around their own work (in each of their joblib tasks); enter it yourself around a
    loop of your own that projects the same samples onto the same anchors several times. It
    applies to the thread that enters it (a joblib task must enter it itself). Results are the
    same, bit for bit, with and without it.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import ProductProjection
    >>> from skinvariance.projection import cached_projections, projection_cache_info
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> with cached_projections():
    ...     for aggregate in ["concat", "sum"]:
    ...         product = ProductProjection(["cosine", "euclidean"], aggregate=aggregate)
    ...         Z = product.fit(X[:20]).transform(X)
    >>> projection_cache_info().hits >= 1
    True
    """
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def set_projection_cache(max_bytes):
    """Set the bound of this process's projection cache.

    Parameters
    ----------
    max_bytes : int
        Bytes the cache may hold (1 GiB by default); 0 disables it and frees what it holds.
        Subspaces larger than an eighth of the bound are never stored.

    Returns
    -------
    previous : int
        The previous bound, to restore it later.

    Examples
    --------
    >>> from skinvariance.projection import set_projection_cache
    >>> previous = set_projection_cache(0)          # no caching in this process
    >>> _ = set_projection_cache(previous)
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) \
            or max_bytes < 0:
        raise ValueError(
            "The 'max_bytes' parameter of set_projection_cache must be an int in the range "
            f"[0, inf). Got {max_bytes!r} instead."
        )
    return _the_cache().resize(max_bytes)


def clear_projection_cache():
    """Empty this process's projection cache and reset its counters."""
    _the_cache().clear()


def projection_cache_info():
    """The state of this process's projection cache.

    Returns
    -------
    info : CacheInfo
        A named tuple ``(hits, misses, entries, current_bytes, max_bytes)``.
    """
    return _the_cache().info()


def digest_array(array):
    """A SHA-256 digest of an array's dtype, shape and bytes (C order)."""
    array = np.ascontiguousarray(array)
    hasher = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(memoryview(array).cast("B") if array.size else b"")
    return hasher.digest()


def make_key(*parts):
    """One digest of several parts (bytes, or values with a stable ``repr``)."""
    hasher = hashlib.sha256()
    for part in parts:
        if not isinstance(part, bytes):
            part = repr(part).encode()
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.digest()
