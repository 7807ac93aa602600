"""The ``.npy`` format as the out-of-core readers and writers use it: headers and clear
errors when a write fails (the temporary files renamed on success are in ``_atomic``)."""

import errno
from io import BytesIO
from pathlib import Path

import numpy as np

from .._validation import DataError

__all__ = ["NpyInfo", "close_memmap", "npy_header", "write_failed"]


def close_memmap(mapped):
    """Unmap a memmap now rather than when it is garbage collected."""
    handle = getattr(mapped, "_mmap", None)
    if handle is not None:
        handle.close()


class NpyInfo:
    """Shape, dtype, memory order and data offset of a ``.npy`` file (header only)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            mapped = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
                raise
            raise DataError(f"Cannot read {str(self.path)!r} as a .npy array: {exc}") from exc
        if not isinstance(mapped, np.memmap):
            kind = type(mapped).__name__
            if hasattr(mapped, "close"):
                mapped.close()
            raise DataError(
                f"{str(self.path)!r} is not a .npy array file (np.load returned a {kind}); "
                "save one array per file with numpy.save."
            )
        self.shape = mapped.shape
        self.dtype = mapped.dtype
        self.fortran = bool(mapped.ndim > 1 and mapped.flags.f_contiguous)
        self.fortran &= not mapped.flags.c_contiguous
        self.offset = int(mapped.offset)
        close_memmap(mapped)

    def memmap(self, mode="r"):
        return np.memmap(
            self.path,
            dtype=self.dtype,
            mode=mode,
            offset=self.offset,
            shape=self.shape,
            order="F" if self.fortran else "C",
        )


def npy_header(shape, dtype):
    """The bytes of a version 1.0 ``.npy`` header for a C-ordered array."""
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": tuple(int(s) for s in shape),
    }
    buffer = BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def write_failed(exc, output_path, done=None, total=None):
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the disk is full ({reason})"
    where = "" if done is None else f" after {done:,} of {total:,} rows"
    return OSError(
        exc.errno,
        f"Writing the output {str(output_path)!r} failed{where}: {reason}. Nothing was "
        "written under that name (the partial file was removed)",
    )
