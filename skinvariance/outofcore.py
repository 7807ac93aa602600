"""Deprecated: the out-of-core names live in :mod:`skinvariance.io`.

``from skinvariance.outofcore import transform_npy`` (and ``dask_from_npy``, ``dask_to_npy``)
still works, with a ``FutureWarning`` naming the new path; this module will be removed in
0.2. Import them from :mod:`skinvariance.io` instead.
"""

import warnings

from . import io as _io

#: The names this module forwards to :mod:`skinvariance.io`.
MOVED = ("dask_from_npy", "dask_to_npy", "transform_npy")

__all__ = list(MOVED)


def __getattr__(name):
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"skinvariance.outofcore is deprecated and will be removed in 0.2: import {name} "
        f"from skinvariance.io instead (from skinvariance.io import {name}).",
        FutureWarning,
        stacklevel=2,
    )
    return getattr(_io, name)
