"""Reading and writing latent spaces: files of spaces and labels, on-disk ``.npy`` matrices
streamed one block of rows at a time, and the same on a Dask cluster.

- :func:`read_spaces` / :func:`read_labels`: several row-aligned spaces (``.npy``, ``.npz``,
  stacked ``.parquet`` / ``.csv``) and their labels, with errors naming the file.
- :func:`transform_npy`: a fitted projection applied to an on-disk ``.npy`` matrix, written
  to an on-disk ``.npy`` with bounded memory, atomically.
- :func:`dask_from_npy` / :func:`dask_to_npy`: the same with Dask (the ``dask`` extra).

``skinvariance.outofcore``, their first documented path, is deprecated: importing a name
from it warns (``FutureWarning``) and forwards here.
"""

from ._dask_npy import dask_from_npy, dask_to_npy
from ._files import read_labels, read_matrix, read_spaces
from ._npy import transform_npy

__all__ = [
    "dask_from_npy",
    "dask_to_npy",
    "read_labels",
    "read_matrix",
    "read_spaces",
    "transform_npy",
]
