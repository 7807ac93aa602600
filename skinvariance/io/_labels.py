"""Labels files read as the user wrote them: one value per line, strings unless every value
is a number written one way.

pandas' defaults are wrong for labels: ``NA``, ``None``, ``null`` and ``N/A`` become NaN, ``"01"``
and ``"1"`` become the same number, a separator other than the one asked for turns each line
into one value, and spaces split a class name. Here a labels file is read line by line with
:mod:`csv`, and what is not one value per line is refused, or, for the two layouts pandas
writes by default (a header line, an index column ``0 .. n - 1``), read and said.
"""

import csv
import re

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .._validation import DataError

__all__ = ["labels_from_array", "labels_from_text"]

#: Separators a .csv labels file may use, in the order they are tried.
_SEPARATORS = (",", ";", "\t", "|")
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)


def _rows(lines, suffix):
    """``(rows of fields, separator name or None)``: the separator is found, not assumed."""
    if suffix == ".txt":
        split = [line.split() for line in lines]
        # Class names may hold spaces: a .txt is a table only when every field is a number.
        if any(len(row) > 1 for row in split) and all(
            _FLOAT.fullmatch(field) for row in split for field in row
        ):
            return split, " "
        return [[line.strip()] for line in lines], None
    for separator in _SEPARATORS:
        rows = list(csv.reader(lines, delimiter=separator))
        if any(len(row) > 1 for row in rows):
            return [[field.strip() for field in row] for row in rows], separator
    return [[field.strip() for field in row] or [""] for row in rows], None


def _is_index(column):
    """Whether ``column`` (strings or an array) is exactly 0, 1, ..., n - 1."""
    values = np.asarray(column)
    if values.dtype.kind in "OU":
        return all(value == str(i) for i, value in enumerate(values))
    if values.dtype.kind not in "iuf":
        return False
    return bool(np.array_equal(values, np.arange(values.shape[0])))


def _header(rows, n_samples):
    """Whether the first of ``n_samples + 1`` rows is a header (pandas' ``to_csv`` writes
    one): its first field is empty (the index's name), or it is the only row that is not
    numbers."""
    if len(rows) != n_samples + 1:
        return False
    first, rest = rows[0], rows[1:]
    if first[0] == "" and len(first) > 1:
        return True
    numbers = all(_FLOAT.fullmatch(field) for row in rest for field in row)
    return numbers and not all(_FLOAT.fullmatch(field) for field in first)


def _typed(values):
    """Numbers if every value is a number written one way, else the strings themselves.

    Two spellings of one number (``"1"`` and ``"01"``, ``"1"`` and ``"1.0"``) would merge
    two classes: then every value stays a string. ``nan`` stays NaN (refused later).
    """
    for pattern, kind in ((_INTEGER, int), (_FLOAT, float)):
        if all(pattern.fullmatch(value) for value in values):
            distinct = {value for value in set(values) if not np.isnan(float(value))}
            if len({kind(value) for value in distinct}) == len(distinct):
                return np.array([kind(value) for value in values])
            break
    return np.array(values, dtype=object)


def labels_from_text(text, suffix, n_samples, where):
    """``(y, notes)`` from the text of a ``.csv`` or ``.txt`` labels file.

    Raises
    ------
    DataError
        If a line holds more than one value (other than a 0 .. n - 1 index column) or is
        empty; the message names ``where`` and the line.
    """
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # a final newline or blank lines at the end
    rows, separator = _rows(lines, suffix)
    notes, first_line = [], 1
    if rows and _header(rows, n_samples):
        notes.append(f"{where}: line 1 ({(separator or '').join(rows[0])!r}) read as a header")
        rows, first_line = rows[1:], 2
    elif len(rows) == n_samples + 1:
        raise DataError(
            f"{where}: {len(rows)} labels for {n_samples} rows in the spaces (if line 1, "
            f"{(separator or '').join(rows[0])!r}, is a header, remove it)"
        )
    if rows and all(len(row) == 2 for row in rows) and _is_index([row[0] for row in rows]):
        notes.append(f"{where}: the first column is the row number 0 .. {len(rows) - 1}: "
                     "the labels are read from the second")
        rows = [row[1:] for row in rows]
    for number, row in enumerate(rows, start=first_line):
        if len(row) > 1:
            raise DataError(
                f"{where}: line {number} holds {len(row)} values (separated by "
                f"{'whitespace' if separator == ' ' else repr(separator)}); "
                "a labels file holds one value per line (several target columns go in a "
                "2-D .npy)"
            )
        if row[0] == "":
            raise DataError(f"{where}: line {number} is empty; every sample needs a label")
    return _typed([row[0] for row in rows]), notes


def _has_nan(y):
    return y.dtype.kind in "fc" and not np.all(np.isfinite(y))  # refused by check_target


def labels_from_array(y, where):
    """``(y, notes)`` from the array of a ``.npy`` labels file: a 0 .. n - 1 first column of
    two is dropped (and said); several columns must be numbers to regress.

    Raises
    ------
    DataError
        If a 2-D array of several columns holds class labels (integers, strings, or floats
        that are all whole numbers), which no decoder takes.
    """
    notes = []
    if y.ndim == 2 and y.shape[1] == 2 and _is_index(y[:, 0]):
        notes.append(f"{where}: the first column is the row number 0 .. {y.shape[0] - 1}: the "
                     "labels are read from the second")
        y = y[:, 1]
    if y.ndim == 2 and y.shape[1] > 1 and y.size and not _has_nan(y):
        kind = "strings" if y.dtype.kind in "OUS" else type_of_target(y)
        if kind != "continuous-multioutput":
            raise DataError(
                f"{where}: holds {y.shape[1]} columns of class labels ({kind}, shape "
                f"{y.shape}); class labels are one per sample (a 1-D array), and a target of "
                "several columns must hold values to regress"
            )
    return y, notes
