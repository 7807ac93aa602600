"""Writes that never destroy: every output file is written to a temporary file next to it,
flushed to disk, and moved into place only once complete.

A full disk, an interrupted run or a failing writer therefore leaves the old file intact (or
no file) and no temporary behind; without ``overwrite`` the final name is created exclusively,
so a file that appeared there after the start-up check is never replaced.
"""

import errno
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_output", "temporary_path"]

#: File systems without hard links answer ``os.link`` with one of these.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS}


def temporary_path(output_path):
    """A fresh hidden name next to ``output_path``, so that the final rename stays on one
    file system."""
    output_path = Path(output_path)
    return output_path.with_name(f".{output_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")


def _flush_to_disk(path):
    with open(path, "r+b") as file:
        os.fsync(file.fileno())


def _flush_directory(path):
    """Make the rename itself durable where the platform allows it (best effort)."""
    try:
        handle = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _appeared(path):
    return FileExistsError(
        errno.EEXIST,
        f"The output {str(path)!r} appeared while it was being written; it was left as it is "
        "(pass overwrite=True to replace it)",
        str(path),
    )


def _publish(temporary, path, overwrite):
    """Move the complete ``temporary`` to ``path``; without ``overwrite``, never replace a
    file that exists (:class:`FileExistsError`)."""
    if overwrite:
        if path.exists():
            shutil.copymode(path, temporary)  # the replaced file's permissions, not umask's
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # fails if path exists, atomically
    except FileExistsError:
        raise _appeared(path) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # No hard links here: reserve the name exclusively, then move the data onto it.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise _appeared(path) from None
        try:
            os.replace(temporary, path)
        except BaseException:
            path.unlink(missing_ok=True)  # our own empty placeholder
            raise


@contextmanager
def atomic_output(path, *, overwrite):
    """Yield a temporary path next to ``path`` to write; on success move it to ``path``.

    The block writes the temporary file (it does not exist yet). When the block ends without
    error, the file is flushed to disk and moved to ``path``: replacing it if ``overwrite``,
    otherwise created exclusively (:class:`FileExistsError` if ``path`` appeared meanwhile).
    On any error, in the block or while moving, the temporary file is removed and ``path`` is
    left as it was.

    Parameters
    ----------
    path : str or path-like
        The output file.
    overwrite : bool
        Whether an existing ``path`` may be replaced.

    Yields
    ------
    temporary : pathlib.Path
        Where to write the data.

    Raises
    ------
    FileExistsError
        If ``path`` exists at the end and ``overwrite`` is False.
    OSError
        If flushing or moving fails (e.g. a full disk), and whatever the block raises.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skinvariance.io._atomic import atomic_output
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_output(target, overwrite=False) as temporary:
    ...     _ = temporary.write_text("a,b\\n1,2\\n")
    >>> target.read_text()
    'a,b\\n1,2\\n'
    >>> sorted(p.name for p in target.parent.iterdir())
    ['table.csv']
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        _flush_to_disk(temporary)
        _publish(temporary, path, overwrite)
        _flush_directory(path)
    finally:
        # Gone after os.replace; after os.link, or on an error, this name must not stay.
        temporary.unlink(missing_ok=True)
