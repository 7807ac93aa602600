"""Reading several row-aligned spaces, and their labels, from files."""

import csv
import os
import pickle
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from .._compat import InvalidParameterError, validate_params
from .._constraints import COUNT
from .._validation import DataError, check_target
from ._labels import labels_from_array, labels_from_text

__all__ = [
    "LABEL_SUFFIXES",
    "SPACE_SUFFIXES",
    "check_input_file",
    "labels_with_notes",
    "read_labels",
    "read_matrix",
    "read_spaces",
]

SPACE_SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
LABEL_SUFFIXES = (".npy", ".csv", ".txt")
#: What reading a damaged or foreign file raises (numpy's zip and pickle layers included):
#: reported as "cannot read the file", never as a traceback.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, csv.Error, zipfile.BadZipFile, zlib.error,
                pickle.UnpicklingError)
_PATH = [str, os.PathLike]


def _read_failed(path, exc):
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    lines = reason.splitlines() or [type(exc).__name__]
    return DataError(f"{path}: cannot read the file ({lines[0]})")


def _read_parquet(path):
    try:
        import pyarrow  # noqa: F401  (pandas reads .parquet with it)
    except ImportError:
        raise DataError(
            f"{path}: reading .parquet files needs pyarrow, which comes with the 'parquet' "
            'extra: pip install "skinvariance[parquet]"'
        ) from None
    return pd.read_parquet(path, engine="pyarrow")


def _numeric_2d(array, path, what):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} is not numeric (dtype {array.dtype})")
    if array.ndim != 2:
        raise DataError(
            f"{path}: {what} must be a 2-D array (samples x features), got shape {array.shape}"
        )
    # float32 stays float32, as in the library's own functions: the command line then gives
    # the table compare_invariances gives for the same arrays, at the same speed.
    if array.dtype in (np.float32, np.float64):
        return array
    return array.astype(np.float64)


def _has_index(path):
    """Whether a stacked .csv starts with the index column ``to_csv`` writes: the first
    cells of its two header lines are the column levels' names (``space``, ``feature``) or
    empty. (pandas then reads the line of the index's own name, if any, as a header line.)"""
    with open(path, newline="", encoding="utf-8") as file:
        head = [row[:1] for row, _ in zip(csv.reader(file), range(2))]
    return head in ([["space"], ["feature"]], [[""], [""]])


def _read_frame(path):
    if path.suffix.lower() == ".parquet":
        frame = _read_parquet(path)
    else:
        frame = pd.read_csv(path, header=[0, 1], index_col=0 if _has_index(path) else None)
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


@validate_params(
    {"paths": [list, tuple]},
    prefer_skip_nested_validation=True,
)
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
        float32 arrays for ``.npy`` / ``.npz`` data stored as float32, float64 otherwise
        (integers and float16 included); row-aligned, finite, at least two.

    Raises
    ------
    DataError
        A :class:`ValueError` naming the file for every problem (unsupported type, missing,
        unreadable or damaged file, non-numeric data, spaces of different row counts, NaN or
        infinity, repeated names, fewer than two spaces, a ``.parquet`` file without pyarrow,
        which the message says how to install).

    See Also
    --------
    read_labels : Read the labels of the same rows.

    Examples
    --------
    >>> from pathlib import Path
    >>> from tempfile import TemporaryDirectory
    >>> import numpy as np
    >>> from skinvariance.io import read_spaces
    >>> rng = np.random.default_rng(0)
    >>> with TemporaryDirectory() as folder:
    ...     for name in ("bert", "e5"):
    ...         Z = rng.normal(size=(4, 3)).astype(np.float32)
    ...         np.save(Path(folder) / f"{name}.npy", Z)
    ...     spaces = read_spaces(sorted(Path(folder).glob("*.npy")))
    >>> {name: (X.shape, X.dtype.name) for name, X in spaces.items()}
    {'bert': ((4, 3), 'float32'), 'e5': ((4, 3), 'float32')}
    """
    _check_paths(paths)
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
        except _READ_ERRORS as exc:
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


def _check_paths(paths):
    if not paths:
        raise InvalidParameterError(
            "The 'paths' parameter of read_spaces must hold at least one file. Got an empty "
            f"{type(paths).__name__} instead."
        )
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidParameterError(
                "The 'paths' parameter of read_spaces must hold str or path-like file names. "
                f"Got {path!r} instead."
            )


@validate_params(
    {"path": _PATH, "n_samples": [COUNT], "where": [str, None]},
    prefer_skip_nested_validation=True,
)
def read_labels(path, n_samples, *, where=None):
    """Read a labels file: a ``.npy`` array, or one value per line in ``.csv``/``.txt``.

    A text file is read as written: a value is a string unless every value is a number
    written one way (``"01"`` beside ``"1"`` keeps both as strings, two classes), ``NA``,
    ``None`` or ``null`` are class names, a ``.txt`` line is one label (spaces included), and
    a ``.csv`` may separate fields by ``,``, ``;``, a tab or ``|``. One value per line means
    one: a line of several values is refused, except the two layouts pandas' ``to_csv``
    writes by default, a header line (when the file has one line more than ``n_samples``)
    and an index column exactly ``0 .. n - 1`` (dropped), each said in a
    :class:`UserWarning`. A 2-D ``.npy`` of several columns is a target to regress; of one
    column, it is read as 1-D. See :ref:`own_embeddings`.

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
        file, a line of several values or none, wrong number of rows, NaN or infinity,
        several columns of class labels.

    See Also
    --------
    read_spaces : Read the spaces whose rows the labels describe.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skinvariance.io import read_labels
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "y.txt"
    >>> _ = path.write_text("NA\\nnew york\\n01\\n1\\n")
    >>> read_labels(path, 4)
    array(['NA', 'new york', '01', '1'], dtype=object)
    """
    y, notes = labels_with_notes(path, n_samples, where=where)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return y


def labels_with_notes(path, n_samples, *, where=None):
    """``(y, notes)``: :func:`read_labels` with what it read other than one value per line
    (a header line, an index column) returned as sentences, for the command line to print."""
    path = Path(path)
    where = where or str(path)
    suffix = check_input_file(path, LABEL_SUFFIXES, where)
    try:
        if suffix == ".npy":
            y, notes = labels_from_array(np.load(path), where)
        else:
            y, notes = labels_from_text(path.read_text(encoding="utf-8-sig"), suffix,
                                        n_samples, where)
    except DataError:
        raise
    except _READ_ERRORS as exc:
        raise _read_failed(where, exc) from None
    if y.ndim not in (1, 2):
        raise DataError(f"{where}: expected one label per row, got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise DataError(f"{where}: {y.shape[0]} labels for {n_samples} rows in the spaces")
    try:
        return check_target(y, n_samples, name="y"), notes
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


@validate_params({"path": _PATH, "what": [str]}, prefer_skip_nested_validation=True)
def read_matrix(path, what="the array"):
    """A 2-D numeric matrix from a ``.npy`` file (errors name the file and ``what``).

    float32 and float64 data keep their type; any other number type becomes float64.

    Raises
    ------
    DataError
        If the file is missing, unreadable, not numeric or not 2-D.
    """
    path = Path(path)
    check_input_file(path, (".npy",), f"{path}")
    try:
        array = np.load(path)
    except _READ_ERRORS as exc:
        raise _read_failed(path, exc) from None
    return _numeric_2d(array, path, what)
