"""Reading several row-aligned spaces, and their labels, from files."""

from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import DataError, check_target

__all__ = [
    "LABEL_SUFFIXES",
    "SPACE_SUFFIXES",
    "check_input_file",
    "read_labels",
    "read_matrix",
    "read_spaces",
]

SPACE_SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
LABEL_SUFFIXES = (".npy", ".csv", ".txt")


def _read_failed(path, exc):
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return DataError(f"{path}: cannot read the file ({reason.splitlines()[0]})")


def _numeric_2d(array, path, what):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} is not numeric (dtype {array.dtype})")
    if array.ndim != 2:
        raise DataError(
            f"{path}: {what} must be a 2-D array (samples x features), got shape {array.shape}"
        )
    return array.astype(np.float64, copy=False)


def _read_frame(path):
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, header=[0, 1])
        first = frame.columns[0]
        if first == ("space", "feature") or str(first[0]).startswith("Unnamed"):
            frame = frame.set_index(first)  # the index column written by to_csv
    if not isinstance(frame.columns, pd.MultiIndex) or frame.columns.nlevels != 2:
        raise DataError(
            f"{path}: expected two column levels (space, feature), as written by "
            "stack_spaces(spaces).to_parquet() or .to_csv()"
        )
    if frame.columns.get_level_values(0).is_unique:
        # Each "space" one column wide: a flat table whose first data row was read as the
        # second header row, not a stacked one.
        raise DataError(
            f"{path}: expected two column levels (space, feature), as written by "
            "stack_spaces(spaces).to_parquet() or .to_csv(); every space found has a single "
            "column, which looks like a flat table"
        )
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"{path}: column {column!r} is not numeric")
    names = list(dict.fromkeys(frame.columns.get_level_values(0)))
    return {
        str(name): frame.loc[:, frame.columns.get_level_values(0) == name].to_numpy(np.float64)
        for name in names
    }


def check_input_file(path, suffixes, where):
    """The lower-case suffix of an existing input file of a supported type."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise DataError(
            f"{where}: unsupported file type {path.suffix or '(none)'!r}; expected one of "
            f"{', '.join(suffixes)}"
        )
    if not path.is_file():
        raise DataError(f"{where}: no such file")
    return suffix


def read_spaces(paths):
    """Read spaces from files into an ordered ``{name: array}``.

    Parameters
    ----------
    paths : list of str or path-like
        One ``.npy`` per space (named by its file stem), ``.npz`` archives (one key per
        space), stacked ``.parquet`` / ``.csv`` files with (space, feature) columns as written
        by ``stack_spaces(spaces).to_parquet(...)`` / ``.to_csv(...)``.

    Returns
    -------
    spaces : dict of str to ndarray of shape (n_samples, n_features_space)
        float64 arrays, row-aligned, finite, at least two.

    Raises
    ------
    DataError
        A :class:`ValueError` naming the file for every problem (unsupported type, missing or
        unreadable file, non-numeric data, spaces of different row counts, NaN or infinity,
        repeated names, fewer than two spaces).
    """
    spaces, origin = {}, {}
    for path in map(Path, paths):
        suffix = check_input_file(path, SPACE_SUFFIXES, f"{path}")
        try:
            if suffix == ".npy":
                found = {path.stem: _numeric_2d(np.load(path), path, "the array")}
            elif suffix == ".npz":
                with np.load(path) as archive:
                    found = {
                        key: _numeric_2d(archive[key], path, f"key {key!r}") for key in archive
                    }
                if len(found) < 2 and len(paths) == 1:
                    raise DataError(
                        f"{path}: holds {len(found)} array(s); an .npz needs one key per space "
                        "and at least two spaces"
                    )
            else:
                found = _read_frame(path)
        except DataError:
            raise
        except (OSError, ValueError, EOFError, KeyError, ImportError) as exc:
            raise _read_failed(path, exc) from None
        for name, array in found.items():
            if name in spaces:
                raise DataError(
                    f"{path}: space {name!r} was already read from {origin[name]}; "
                    "space names must be unique"
                )
            first_name = next(iter(spaces), None)
            if first_name is not None and array.shape[0] != spaces[first_name].shape[0]:
                raise DataError(
                    f"{path}: space {name!r} has {array.shape[0]} rows but space "
                    f"{first_name!r} ({origin[first_name]}) has {spaces[first_name].shape[0]}; "
                    "spaces must be row-aligned (the same samples in the same order)"
                )
            if not np.all(np.isfinite(array)):
                raise DataError(f"{path}: space {name!r} contains NaN or infinity")
            spaces[name], origin[name] = array, path
    if len(spaces) < 2:
        raise DataError(
            f"{paths[0]}: {len(spaces)} space found; at least two spaces are needed"
        )
    return spaces


def read_labels(path, n_samples, *, where=None):
    """Read a labels file (``.npy``, or one value per line in ``.csv``/``.txt``).

    Parameters
    ----------
    path : str or path-like
        The file.
    n_samples : int
        The number of rows the labels must have (one per sample).
    where : str, default=None
        How the file is named in error messages (by default its path).

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)

    Raises
    ------
    DataError
        A :class:`ValueError` naming the file: unsupported type, missing or unreadable
        file, wrong number of rows, NaN or infinity.
    """
    path = Path(path)
    where = where or str(path)
    suffix = check_input_file(path, LABEL_SUFFIXES, where)
    try:
        if suffix == ".npy":
            y = np.load(path)
        else:
            frame = pd.read_csv(path, header=None, sep="," if suffix == ".csv" else r"\s+")
            y = frame.to_numpy()
            if y.shape[1] == 1:
                y = y[:, 0]
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{where}: cannot read the file ({exc})") from None
    if y.ndim not in (1, 2):
        raise DataError(f"{where}: expected one label per row, got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise DataError(f"{where}: {y.shape[0]} labels for {n_samples} rows in the spaces")
    try:
        return check_target(y, n_samples, name="y")
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def read_matrix(path, what="the array"):
    """A 2-D numeric matrix from a ``.npy`` file, as float64 (errors name the file and ``what``).

    Raises
    ------
    DataError
        If the file is missing, unreadable, not numeric or not 2-D.
    """
    path = Path(path)
    check_input_file(path, (".npy",), f"{path}")
    try:
        array = np.load(path)
    except (OSError, ValueError, EOFError) as exc:
        raise _read_failed(path, exc) from None
    return _numeric_2d(array, path, what)
