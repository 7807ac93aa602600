"""Out-of-core transforms of on-disk ``.npy`` matrices, one block of rows at a time."""

import os
import sys
import time
from numbers import Real
from pathlib import Path

import numpy as np
from sklearn import config_context, get_config
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, get_chunk_n_rows, plain_output, validate_params
from .._constraints import NumberInterval
from .._streaming import row_bytes as block_row_bytes
from .._validation import DataError, check_finite_rows, check_output_path
from ._atomic import atomic_output
from ._npy_format import NpyInfo, close_memmap, npy_header, write_failed

__all__ = ["transform_npy"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_input_matrix(info, estimator):
    """Clear errors for an on-disk input that cannot be projected by ``estimator``."""
    name = str(info.path)
    if len(info.shape) != 2:
        raise DataError(
            f"The input {name!r} must hold a 2-D matrix (n_samples, n_features); got an array "
            f"of shape {info.shape}."
        )
    if info.dtype.newbyteorder("=") not in _FLOATS:
        raise DataError(
            f"The input {name!r} holds {info.dtype} values; out-of-core transforms need "
            "float32 or float64 (the output keeps the input's float dtype). Convert the file "
            "first, e.g. np.save(path, np.load(path).astype(np.float32))."
        )
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and info.shape[1] != n_features:
        anchors = getattr(estimator, "anchors_", None)
        of_anchors = "" if anchors is None else f" (the anchors have shape {anchors.shape})"
        raise DataError(
            f"The input {name!r} has {info.shape[1]} features (shape {info.shape}), but "
            f"{type(estimator).__name__} is expecting {n_features} features as "
            f"input{of_anchors}."
        )
    if info.shape[0] == 0:
        raise DataError(f"The input {name!r} holds no rows (shape {info.shape}).")


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
        raise DataError(
            f"The input {str(info.path)!r} is shorter than its header says: rows from {start} "
            f"could not be read ({read} of {view.nbytes} bytes)."
        )
    return buffer


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
        "working_memory": [NumberInterval(Real, 0, None, closed="neither"), None],
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
    >>> from skinvariance.io import transform_npy
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
    info = NpyInfo(input_path)
    _check_input_matrix(info, estimator)
    output_path = check_output_path(output_path, overwrite=overwrite, input_path=info.path)
    plain = plain_output(estimator)
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
        check_finite_rows(first, 0)
        probe = np.asarray(plain.transform(first))
        n_out, out_dtype = probe.shape[1], probe.dtype
        row_bytes = block_row_bytes(n_features, n_out,
                                    max(info.dtype.itemsize, out_dtype.itemsize))
        height = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=n_rows, working_memory=budget)
        buffer = np.empty((height, n_features), dtype=info.dtype)
        done = 0
        try:
            with atomic_output(output_path, overwrite=overwrite) as temporary:
                with open(temporary, "xb") as target:
                    _write_block(
                        target,
                        np.frombuffer(npy_header((n_rows, n_out), out_dtype), dtype=np.uint8),
                    )
                    for start in range(0, n_rows, height):
                        stop = min(start + height, n_rows)
                        if mapped is not None:
                            block = np.asarray(mapped[start:stop])
                        else:
                            block = _read_rows(source, info, start, buffer[: stop - start])
                        check_finite_rows(block, start)
                        with config_context(working_memory=budget):
                            values = np.asarray(plain.transform(block), dtype=out_dtype)
                        _write_block(target, values)
                        done = stop
                        report(done)
        except FileExistsError:
            raise  # the output appeared meanwhile: atomic_output's message names it
        except OSError as exc:
            raise write_failed(exc, output_path, done, n_rows) from exc
        finally:
            if mapped is not None:
                close_memmap(mapped)
    return (n_rows, n_out)
