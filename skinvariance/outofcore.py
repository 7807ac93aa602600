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

import copy
import errno
import os
import sys
import time
import uuid
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn import config_context, get_config

from ._compat import HasMethods, Interval, check_is_fitted, get_chunk_n_rows, validate_params

__all__ = ["dask_from_npy", "dask_to_npy", "transform_npy"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------------------------------------
# Block validation shared by the memmap, on-disk and Dask paths
# ---------------------------------------------------------------------------------------------


def _check_finite_rows(block, start, name="X"):
    """Raise a ValueError naming the rows if ``block`` (rows ``start:``) holds NaN or inf.

    Non-float blocks (integers) are always finite and pass unchecked.
    """
    block = np.asarray(block)
    if block.dtype.kind not in "fc":
        return
    finite = np.isfinite(block)
    if finite.all():
        return
    bad_rows = np.flatnonzero(~finite.reshape(len(block), -1).all(axis=1))
    what = "NaN" if np.isnan(block[bad_rows[0]]).any() else "infinity"
    stop = start + len(block)
    raise ValueError(
        f"Input {name} contains {what} in the block of rows {start} to {stop - 1} (first at "
        f"row {start + int(bad_rows[0])}; {len(bad_rows)} row(s) of this block affected). "
        "Blocks are checked as they are read: replace or drop these rows first."
    )


def _plain_output(estimator):
    """The estimator itself, or a copy whose ``transform`` returns arrays (no set_output)."""
    config = getattr(estimator, "_sklearn_output_config", {})
    if config.get("transform", "default") == "default":
        return estimator
    estimator = copy.deepcopy(estimator)
    estimator.set_output(transform="default")
    return estimator


def _is_memmap(X):
    return isinstance(X, np.memmap) and X.ndim == 2 and X.shape[0] > 0


def _transform_memmap(estimator, X):
    """``estimator.transform`` of a 2-D memmap, one validated block of rows at a time.

    The first row is validated (width, dtype) before anything else is read; then each block
    is read, checked for NaN/inf (the error names its rows), projected and copied into the
    output. The input is never read whole nor converted whole.
    """
    plain = _plain_output(estimator)
    first = np.asarray(X[:1])
    _check_finite_rows(first, 0)
    probe = plain.transform(first)  # width / dtype errors, in the estimator's own words
    n_rows, n_features = X.shape
    out = np.empty((n_rows, probe.shape[1]), dtype=probe.dtype)
    row_bytes = _row_bytes(n_features, probe.shape[1], out.dtype.itemsize)
    height = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=n_rows)
    for start in range(0, n_rows, height):
        block = np.asarray(X[start : start + height])
        _check_finite_rows(block, start)
        out[start : start + len(block)] = plain.transform(block)
    return out


def _row_bytes(n_features, n_out, itemsize):
    """Bytes one row needs while a block is read, checked and projected (conservative).

    The read buffer and a converted copy of it, the kernel's normalised copy, the output
    block and its normalisation temporaries, and the boolean finite mask.
    """
    return int(itemsize * (3 * n_features + 3 * n_out) + n_features)


# ---------------------------------------------------------------------------------------------
# .npy files
# ---------------------------------------------------------------------------------------------


def _close(mapped):
    """Unmap a memmap now rather than when it is garbage collected."""
    handle = getattr(mapped, "_mmap", None)
    if handle is not None:
        handle.close()


class _NpyInfo:
    """Shape, dtype, memory order and data offset of a ``.npy`` file (header only)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            mapped = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
                raise
            raise ValueError(f"Cannot read {str(self.path)!r} as a .npy array: {exc}") from exc
        if not isinstance(mapped, np.memmap):
            kind = type(mapped).__name__
            if hasattr(mapped, "close"):
                mapped.close()
            raise ValueError(
                f"{str(self.path)!r} is not a .npy array file (np.load returned a {kind}); "
                "save one array per file with numpy.save."
            )
        self.shape = mapped.shape
        self.dtype = mapped.dtype
        self.fortran = bool(mapped.ndim > 1 and mapped.flags.f_contiguous)
        self.fortran &= not mapped.flags.c_contiguous
        self.offset = int(mapped.offset)
        _close(mapped)

    def memmap(self, mode="r"):
        return np.memmap(
            self.path,
            dtype=self.dtype,
            mode=mode,
            offset=self.offset,
            shape=self.shape,
            order="F" if self.fortran else "C",
        )


def _check_input_matrix(info, estimator):
    """Clear errors for an on-disk input that cannot be projected by ``estimator``."""
    name = str(info.path)
    if len(info.shape) != 2:
        raise ValueError(
            f"The input {name!r} must hold a 2-D matrix (n_samples, n_features); got an array "
            f"of shape {info.shape}."
        )
    if info.dtype.newbyteorder("=") not in _FLOATS:
        raise ValueError(
            f"The input {name!r} holds {info.dtype} values; out-of-core transforms need "
            "float32 or float64 (the output keeps the input's float dtype). Convert the file "
            "first, e.g. np.save(path, np.load(path).astype(np.float32))."
        )
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and info.shape[1] != n_features:
        anchors = getattr(estimator, "anchors_", None)
        of_anchors = "" if anchors is None else f" (the anchors have shape {anchors.shape})"
        raise ValueError(
            f"The input {name!r} has {info.shape[1]} features (shape {info.shape}), but "
            f"{type(estimator).__name__} is expecting {n_features} features as "
            f"input{of_anchors}."
        )
    if info.shape[0] == 0:
        raise ValueError(f"The input {name!r} holds no rows (shape {info.shape}).")


def _check_output_path(output_path, input_path, overwrite):
    output_path = Path(output_path)
    if output_path.exists():
        if output_path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, f"The output {str(output_path)!r} is a directory", str(output_path)
            )
        if os.path.samefile(output_path, input_path):
            raise ValueError(
                f"The output {str(output_path)!r} is the input file; choose another output."
            )
        if not overwrite:
            raise FileExistsError(
                errno.EEXIST,
                f"The output {str(output_path)!r} exists; pass overwrite=True "
                "(--overwrite on the command line) to replace it",
                str(output_path),
            )
    if not output_path.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"The directory of the output {str(output_path)!r} does not exist",
            str(output_path.parent),
        )
    return output_path


def _temporary_path(output_path):
    """A fresh name next to ``output_path``, so that the final rename stays on one device."""
    return output_path.with_name(f".{output_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")


def _npy_header(shape, dtype):
    """The bytes of a version 1.0 ``.npy`` header for a C-ordered array."""
    import io

    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": tuple(int(s) for s in shape),
    }
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _write_block(file, block):
    """Append a C-contiguous block to an open binary file (the one place data is written)."""
    file.write(memoryview(np.ascontiguousarray(block)).cast("B"))


def _read_rows(file, info, start, buffer):
    """Read ``len(buffer)`` rows starting at row ``start`` into ``buffer``."""
    row_bytes = info.shape[1] * info.dtype.itemsize
    file.seek(info.offset + start * row_bytes)
    view = memoryview(buffer).cast("B")
    read = file.readinto(view)
    if read != view.nbytes:
        raise ValueError(
            f"The input {str(info.path)!r} is shorter than its header says: rows from {start} "
            f"could not be read ({read} of {view.nbytes} bytes)."
        )
    return buffer


def _write_failed(exc, output_path, done=None, total=None):
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the disk is full ({reason})"
    where = "" if done is None else f" after {done:,} of {total:,} rows"
    return OSError(
        exc.errno,
        f"Writing the output {str(output_path)!r} failed{where}: {reason}. Nothing was "
        "written under that name (the partial file was removed)",
    )


class _Progress:
    """Reports ``done / total`` rows to a callback, or to standard error (throttled)."""

    def __init__(self, progress, total, label):
        self.callback = progress if callable(progress) else None
        self.enabled = bool(progress)
        self.total = total
        self.label = label
        self.last = 0.0
        self.start = time.perf_counter()

    def __call__(self, done):
        if not self.enabled:
            return
        if self.callback is not None:
            self.callback(done, self.total)
            return
        now = time.perf_counter()
        if done < self.total and now - self.last < 1.0:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        print(
            f"{self.label}: {done:,} / {self.total:,} rows ({100 * done / self.total:.0f}%, "
            f"{rate:,.0f} rows/s)",
            file=sys.stderr,
            flush=True,
        )


@validate_params(
    {
        "estimator": [HasMethods(["transform"])],
        "input_path": [str, os.PathLike],
        "output_path": [str, os.PathLike],
        "overwrite": ["boolean"],
        "working_memory": [Interval(Real, 0, None, closed="neither"), None],
        "progress": ["boolean", callable],
    },
    prefer_skip_nested_validation=True,
)
def transform_npy(
    estimator, input_path, output_path, *, overwrite=False, working_memory=None, progress=True
):
    """Transform an on-disk ``.npy`` matrix into an on-disk ``.npy``, one block at a time.

    Rows are read in blocks sized so that the block, its projection and the temporaries stay
    within ``working_memory``; each block is checked (NaN or infinity: an error naming its
    rows), transformed with ``estimator.transform`` and appended to the output. Peak memory
    is therefore bounded by the budget (plus the fitted estimator), whatever the number of
    rows. Plain file reads and writes are used (no memory map), so the operating system's
    file cache is not counted against the process (a Fortran-ordered input, whose rows are
    not contiguous, is read through a memory map instead).

    The output is written to a hidden temporary file in the output's directory and renamed
    to ``output_path`` only once every row is written and flushed to disk. On any error
    (including a disk that fills up mid-write) the temporary file is removed and nothing
    appears under ``output_path``.

    Parameters
    ----------
    estimator : fitted transformer
        Usually a fitted :class:`~skinvariance.RelativeProjection` or
        :class:`~skinvariance.ProductProjection`; any fitted transformer mapping a row block
        to a row block works (a Pipeline, an alignment).
    input_path : str or path-like
        A ``.npy`` file holding a float32 or float64 matrix of shape
        ``(n_samples, n_features_in_)``.
    output_path : str or path-like
        Where to write the ``.npy`` result, of shape ``(n_samples, n_features_out)`` and the
        float dtype ``estimator.transform`` gives (the input's for the projections).
    overwrite : bool, default=False
        Replace ``output_path`` if it exists (otherwise a :class:`FileExistsError`).
    working_memory : float, default=None
        Budget in MiB for one block and its temporaries; ``None`` uses scikit-learn's
        ``working_memory`` setting (:func:`sklearn.set_config`, 1024 by default).
    progress : bool or callable, default=True
        ``True``: print progress lines to standard error (at most one a second). ``False``:
        silent. A callable is called as ``progress(rows_done, n_rows)`` after each block.

    Returns
    -------
    shape : tuple of int
        The shape of the written array.

    Raises
    ------
    FileExistsError
        If ``output_path`` exists and ``overwrite`` is False.
    ValueError
        If the input is not a 2-D float32/float64 ``.npy`` matrix, its width differs from the
        estimator's ``n_features_in_`` (the anchors' width), it holds NaN or infinity (the
        message names the rows), or the output is the input file.
    OSError
        If writing fails (e.g. the disk is full); the message names the output and says
        how many rows were done.

    See Also
    --------
    dask_from_npy, dask_to_npy : The same on a Dask cluster.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skinvariance import RelativeProjection
    >>> from skinvariance.outofcore import transform_npy
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 16)).astype(np.float32)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "embeddings.npy", X)
    >>> rel = RelativeProjection("cosine").fit(X[:32])
    >>> transform_npy(rel, folder / "embeddings.npy", folder / "relative.npy", progress=False)
    (1000, 32)
    >>> R = np.load(folder / "relative.npy", mmap_mode="r")
    >>> R.dtype, bool(np.allclose(R, rel.transform(X), atol=1e-6))
    (dtype('float32'), True)
    """
    check_is_fitted(estimator)
    info = _NpyInfo(input_path)
    _check_input_matrix(info, estimator)
    output_path = _check_output_path(output_path, info.path, overwrite)
    plain = _plain_output(estimator)
    budget = get_config()["working_memory"] if working_memory is None else working_memory
    n_rows, n_features = info.shape
    report = _Progress(progress, n_rows, f"{Path(output_path).name}")

    mapped = info.memmap() if info.fortran else None
    with open(info.path, "rb") as source:
        # One row first: the output width and dtype, and early errors from the estimator.
        if mapped is not None:
            first = np.asarray(mapped[:1])
        else:
            first = _read_rows(source, info, 0, np.empty((1, n_features), dtype=info.dtype))
        _check_finite_rows(first, 0)
        probe = np.asarray(plain.transform(first))
        n_out, out_dtype = probe.shape[1], probe.dtype
        row_bytes = _row_bytes(n_features, n_out, max(info.dtype.itemsize, out_dtype.itemsize))
        height = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=n_rows, working_memory=budget)
        buffer = np.empty((height, n_features), dtype=info.dtype)
        temporary = _temporary_path(output_path)
        done = 0
        try:
            try:
                target = open(temporary, "xb")  # closed by the with statement below
            except OSError as exc:
                raise _write_failed(exc, output_path, done, n_rows) from exc
            with target:
                try:
                    _write_block(
                        target,
                        np.frombuffer(_npy_header((n_rows, n_out), out_dtype), dtype=np.uint8),
                    )
                    for start in range(0, n_rows, height):
                        stop = min(start + height, n_rows)
                        if mapped is not None:
                            block = np.asarray(mapped[start:stop])
                        else:
                            block = _read_rows(source, info, start, buffer[: stop - start])
                        _check_finite_rows(block, start)
                        with config_context(working_memory=budget):
                            values = np.asarray(plain.transform(block), dtype=out_dtype)
                        _write_block(target, values)
                        done = stop
                        report(done)
                    target.flush()
                    os.fsync(target.fileno())
                except OSError as exc:
                    raise _write_failed(exc, output_path, done, n_rows) from exc
            os.replace(temporary, output_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            if mapped is not None:
                _close(mapped)
    return (n_rows, n_out)


# ---------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------


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
            _close(mapped)


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
        "chunk_rows": [Interval(Integral, 1, None, closed="left"), None],
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
    >>> from skinvariance.outofcore import dask_from_npy
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "X.npy"
    >>> np.save(path, np.arange(12.0).reshape(6, 2))
    >>> X = dask_from_npy(path, chunk_rows=4)
    >>> X.chunks
    ((4, 2), (2,))
    >>> float(X.sum().compute())
    66.0
    """
    from ._dask import import_dask

    _, da = import_dask("dask_from_npy")
    info = _NpyInfo(path)
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
    >>> from skinvariance.outofcore import dask_from_npy, dask_to_npy
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> np.save(folder / "X.npy", rng.normal(size=(500, 8)))
    >>> rel = RelativeProjection("euclidean").fit(rng.normal(size=(20, 8)))
    >>> R = rel.transform(dask_from_npy(folder / "X.npy", chunk_rows=100))   # lazy
    >>> dask_to_npy(R, folder / "R.npy")
    (500, 20)
    """
    from ._dask import check_known_chunks, import_dask, is_dask_array

    _, da = import_dask("dask_to_npy")
    if not is_dask_array(X):
        raise TypeError(f"X must be a dask.array.Array; got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask array; got shape {X.shape}.")
    check_known_chunks(X)
    path = Path(path)
    if path.exists() and not path.is_dir() and not overwrite:
        raise FileExistsError(
            errno.EEXIST,
            f"The output {str(path)!r} exists; pass overwrite=True to replace it",
            str(path),
        )
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"The output {str(path)!r} is a directory", str(path)
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"The directory of the output {str(path)!r} does not exist",
            str(path.parent),
        )
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    dtype = X.dtype
    header = _npy_header(X.shape, dtype)
    temporary = _temporary_path(path)
    try:
        with open(temporary, "xb") as file:
            file.write(header)
        writer = _NpyRowWriter(temporary, X.shape, dtype, len(header))
        try:
            da.store(X, writer, lock=False)
            # Extend to the full size (an empty array writes nothing) and flush to disk.
            with open(temporary, "r+b") as file:
                file.truncate(len(header) + X.size * dtype.itemsize)
                os.fsync(file.fileno())
        except OSError as exc:
            raise _write_failed(exc, path) from exc
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return tuple(int(s) for s in X.shape)
