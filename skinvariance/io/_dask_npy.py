"""On-disk ``.npy`` matrices as Dask arrays, read and written from a cluster's workers."""

import os
from numbers import Integral

import numpy as np

from .._compat import validate_params
from .._constraints import NumberInterval
from .._dask import check_known_chunks, import_dask, is_dask_array
from .._validation import check_output_path
from ._atomic import atomic_output
from ._npy_format import NpyInfo, close_memmap, npy_header, write_failed

__all__ = ["dask_from_npy", "dask_to_npy"]


class _NpyRowReader:
    """A lazy, picklable view of an on-disk ``.npy`` for :func:`dask.array.from_array`.

    Each read maps the file, copies the requested block out and unmaps it, so a worker
    process holds no more than its blocks (and nothing but the path is shipped to it).
    """

    def __init__(self, info):
        self.path = str(info.path)
        self.shape = info.shape
        self.dtype = info.dtype
        self.ndim = len(info.shape)
        self.offset = info.offset
        self.order = "F" if info.fortran else "C"

    def __getitem__(self, key):
        mapped = np.memmap(
            self.path,
            dtype=self.dtype,
            mode="r",
            offset=self.offset,
            shape=self.shape,
            order=self.order,
        )
        try:
            return np.array(mapped[key])
        finally:
            close_memmap(mapped)


class _NpyRowWriter:
    """A picklable target for :func:`dask.array.store`: writes row blocks at their offsets.

    Blocks must span every column (the row block of a C-ordered matrix is one contiguous
    byte range); each is written with ``os.pwrite``, so workers write disjoint ranges
    without a lock, and a full disk raises an OSError instead of crashing a memory map.
    """

    def __init__(self, path, shape, dtype, offset):
        self.path = str(path)
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.offset = offset

    def __setitem__(self, key, value):
        rows, cols = key
        if (cols.start or 0) != 0 or (cols.stop if cols.stop is not None else self.shape[1]) != (
            self.shape[1]
        ):
            raise ValueError(f"Blocks must span every column; got columns {cols}.")
        data = memoryview(np.ascontiguousarray(value, dtype=self.dtype)).cast("B")
        position = self.offset + (rows.start or 0) * self.shape[1] * self.dtype.itemsize
        fd = os.open(self.path, os.O_WRONLY)
        try:
            while data:
                written = os.pwrite(fd, data, position)
                data, position = data[written:], position + written
        finally:
            os.close(fd)


@validate_params(
    {
        "path": [str, os.PathLike],
        "chunk_rows": [NumberInterval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def dask_from_npy(path, *, chunk_rows=None):
    """A lazy Dask array over an on-disk ``.npy`` matrix, chunked by rows.

    Nothing is read until the array is computed; each task reads its own block of rows from
    the file (only the path travels to the workers, so every worker must see the file).
    Needs the ``dask`` extra.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding a 2-D array.
    chunk_rows : int, default=None
        Rows per chunk; ``None`` chooses blocks of about 128 MiB.

    Returns
    -------
    X : dask.array.Array of shape (n_samples, n_features)
        One chunk of columns, row chunks of ``chunk_rows``.

    See Also
    --------
    dask_to_npy : Write a Dask array to one ``.npy`` file in parallel.
    transform_npy : The same without Dask, on one machine, with bounded memory.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skinvariance.io import dask_from_npy
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "X.npy"
    >>> np.save(path, np.arange(12.0).reshape(6, 2))
    >>> X = dask_from_npy(path, chunk_rows=4)
    >>> X.chunks
    ((4, 2), (2,))
    >>> float(X.sum().compute())
    66.0
    """
    _, da = import_dask("dask_from_npy")
    info = NpyInfo(path)
    if len(info.shape) != 2:
        raise ValueError(
            f"The input {str(info.path)!r} must hold a 2-D matrix; got an array of shape "
            f"{info.shape}."
        )
    if chunk_rows is None:
        row_bytes = max(info.shape[1] * info.dtype.itemsize, 1)
        chunk_rows = max(1, (128 * 2**20) // row_bytes)
    chunk_rows = min(chunk_rows, max(info.shape[0], 1))
    stat = info.path.stat()
    name = "npy-" + _token(str(info.path.resolve()), stat.st_size, stat.st_mtime_ns, chunk_rows)
    return da.from_array(
        _NpyRowReader(info),
        chunks=(chunk_rows, -1),
        name=name,
        lock=False,
        meta=np.empty((0, 0), dtype=info.dtype),
    )


def _token(*parts):
    from dask.base import tokenize

    return tokenize(*parts)


@validate_params(
    {
        "X": "no_validation",
        "path": [str, os.PathLike],
        "overwrite": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def dask_to_npy(X, path, *, overwrite=False):
    """Compute a 2-D Dask array and write it into one ``.npy`` file, block by block.

    Row blocks are computed and written in parallel by the active Dask scheduler (the
    workers of a :class:`dask.distributed.Client` when one is active; they must share the
    file system), each at its own offset, without a lock. Like :func:`transform_npy`, the
    data goes to a temporary file next to ``path``, renamed on success and removed on error
    (a full disk included). Needs the ``dask`` extra. For progress, use Dask's own
    diagnostics (:class:`dask.diagnostics.ProgressBar`, :func:`distributed.progress`).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        The array to write, with known chunk sizes; columns are merged into one chunk.
    path : str or path-like
        The ``.npy`` file to write.
    overwrite : bool, default=False
        Replace ``path`` if it exists (otherwise a :class:`FileExistsError`).

    Returns
    -------
    shape : tuple of int
        The shape of the written array.

    See Also
    --------
    dask_from_npy : Read an on-disk ``.npy`` lazily.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> import dask.array as da
    >>> from skinvariance import RelativeProjection
    >>> from skinvariance.io import dask_from_npy, dask_to_npy
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> np.save(folder / "X.npy", rng.normal(size=(500, 8)))
    >>> rel = RelativeProjection("euclidean").fit(rng.normal(size=(20, 8)))
    >>> R = rel.transform(dask_from_npy(folder / "X.npy", chunk_rows=100))   # lazy
    >>> dask_to_npy(R, folder / "R.npy")
    (500, 20)
    """
    _, da = import_dask("dask_to_npy")
    if not is_dask_array(X):
        raise TypeError(f"X must be a dask.array.Array; got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask array; got shape {X.shape}.")
    check_known_chunks(X)
    path = check_output_path(path, overwrite=overwrite)
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    dtype = X.dtype
    header = npy_header(X.shape, dtype)
    try:
        with atomic_output(path, overwrite=overwrite) as temporary:
            with open(temporary, "xb") as file:
                file.write(header)
            writer = _NpyRowWriter(temporary, X.shape, dtype, len(header))
            da.store(X, writer, lock=False)
            # Extend to the full size (an empty array writes nothing).
            with open(temporary, "r+b") as file:
                file.truncate(len(header) + X.size * dtype.itemsize)
    except FileExistsError:
        raise
    except OSError as exc:
        raise write_failed(exc, path) from exc
    return tuple(int(s) for s in X.shape)
