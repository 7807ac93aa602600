"""Out-of-core transforms: matrices that live on disk, read and written one block at a time.

- :func:`transform_npy` applies a fitted projection to an on-disk ``.npy`` matrix and writes
  the result to an on-disk ``.npy``, with peak memory bounded by a working-memory budget
  whatever the number of rows, and progress reports. The output is written to a temporary
  file next to the final name and renamed on success, so an interrupted run never leaves a
  half-written file under the final name.
- :func:`dask_from_npy` and :func:`dask_to_npy` do the same with Dask (the ``dask`` extra):
  a lazy Dask array over an on-disk ``.npy``, and a parallel, lock-free write of a Dask array
  into one ``.npy``, so that ``dask_to_npy(projection.transform(dask_from_npy(path)), out)``
  runs on every worker of a cluster whose processes share the file system.

:class:`~skinvariance.RelativeProjection` and :class:`~skinvariance.ProductProjection` also
stream a :class:`numpy.memmap` passed to ``transform`` (e.g. from
``np.load(path, mmap_mode="r")``): one block of rows is read, checked and projected at a
time; a NaN or infinity is reported with the rows of the block it was found in.
"""

from .io import dask_from_npy, dask_to_npy, transform_npy

__all__ = ["dask_from_npy", "dask_to_npy", "transform_npy"]
