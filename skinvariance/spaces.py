"""Multi-space input: several row-aligned latent spaces of the same samples.

A *multi-space* input is either an ordered mapping ``{name: array (n_samples, d_name)}`` whose
rows are the same samples in every space, or the equivalent :class:`pandas.DataFrame` with two
column levels ``(space, feature)``, as made by :func:`stack_spaces`. The DataFrame form is what
scikit-learn's model selection tools (``GridSearchCV``, ``cross_val_score``) can slice by rows.
DataFrames given as the values of a mapping are paired by row label (reordered to the first
one's index; refused when their labels differ), never by position.

:func:`check_spaces` is the one validator every function and estimator taking several spaces
uses; its errors name the space that is wrong.
"""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_array

from ._compat import InvalidParameterError, validate_params
from ._constraints import COUNT, NumberInterval
from ._validation import DataError

__all__ = ["check_spaces", "stack_spaces", "unstack_spaces"]

_FLOAT_DTYPES = (np.float64, np.float32)


def _type_error(spaces, input_name):
    return TypeError(
        f"{input_name} must be a mapping {{name: array of shape (n_samples, n_features)}} or a "
        "pandas DataFrame with two column levels (space, feature); got "
        f"{type(spaces).__name__} instead."
    )


def _blocks_from_frame(frame, input_name):
    """Split a DataFrame with (space, feature) columns into ``[(name, sub_frame), ...]``."""
    columns = frame.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels != 2:
        raise DataError(
            f"A DataFrame passed as {input_name} must have two column levels (space, feature), "
            f"as made by stack_spaces; got {columns.nlevels} column level(s)."
        )
    if columns.has_duplicates:
        duplicated = columns[columns.duplicated()][0]
        raise DataError(
            f"The columns of {input_name} must be unique (space, feature) pairs; "
            f"{duplicated!r} appears more than once."
        )
    level = columns.get_level_values(0)
    names = list(dict.fromkeys(level))  # order of first appearance
    return [(name, frame.loc[:, np.asarray(level == name)].droplevel(0, axis=1)) for name in names]


def _align_frames(items, input_name):
    """Rows of DataFrame spaces paired by index label, in the first DataFrame's order.

    A DataFrame whose index holds the first one's labels in another order is reordered to
    it (what pandas does when it aligns); one whose labels differ is refused, never paired
    by position. Arrays carry no labels: they are taken in the first DataFrame's order.
    """
    frames = [(name, X) for name, X in items if isinstance(X, pd.DataFrame)]
    if len(frames) < 2:
        return items
    first_name, first = frames[0]
    reference = first.index
    aligned = []
    for name, X in items:
        if isinstance(X, pd.DataFrame) and len(X) == len(reference) and not X.index.equals(
            reference
        ):
            labels = set(reference)
            if not (reference.is_unique and X.index.is_unique and set(X.index) == labels):
                extra = [label for label in X.index if label not in labels]
                example = f" (e.g. {extra[0]!r} is not in space {first_name!r})" if extra else ""
                raise DataError(
                    f"Spaces {first_name!r} and {name!r} of {input_name} are DataFrames whose "
                    f"indexes hold different row labels{example}; DataFrame spaces are paired "
                    "by row label, so each must hold the same unique labels (reset_index("
                    "drop=True) pairs them by position)."
                )
            X = X.loc[reference]
        aligned.append((name, X))
    return aligned


def _check_dtype(dtype):
    """Refuse, naming ``dtype``, what numpy cannot read as a dtype (or a list of them)."""
    try:
        for item in dtype if isinstance(dtype, (list, tuple)) else [dtype]:
            if item is not None:
                np.dtype(item)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            "The 'dtype' parameter of check_spaces must be a dtype, a list or tuple of dtypes, "
            f"or None. Got {dtype!r} instead."
        ) from None


@validate_params(
    {
        "spaces": "no_validation",
        "min_spaces": [COUNT],
        "dtype": "no_validation",  # _check_dtype
        "copy": ["boolean"],
        "ensure_same_width": ["boolean"],
        "ensure_min_samples": [NumberInterval(Integral, 0, None, closed="left")],
        "input_name": [str],
    },
    prefer_skip_nested_validation=True,
)
def check_spaces(
    spaces,
    *,
    min_spaces=2,
    dtype=_FLOAT_DTYPES,
    copy=False,
    ensure_same_width=False,
    ensure_min_samples=1,
    input_name="spaces",
):
    """Validate a multi-space input and return it as a dict of arrays.

    Parameters
    ----------
    spaces : mapping of str to array-like of shape (n_samples, n_features_space) or DataFrame
        Row-aligned latent spaces of the same samples: an ordered mapping
        ``{name: array}``, or a :class:`pandas.DataFrame` with two column levels
        ``(space, feature)`` as made by :func:`stack_spaces`. Widths may differ between
        spaces; row counts may not. DataFrames in a mapping are paired by row label: one
        whose index holds the first DataFrame's labels in another order is reordered to it;
        one whose labels differ is refused (arrays are taken in the first DataFrame's order).
    min_spaces : int, default=2
        The smallest number of spaces accepted.
    dtype : dtype, tuple of dtypes or None, default=(np.float64, np.float32)
        Passed to :func:`sklearn.utils.check_array` for each space. The default keeps float32
        and float64 and converts anything else to float64.
    copy : bool, default=False
        Whether to force a copy of each space.
    ensure_same_width : bool, default=False
        Whether every space must have the same number of features.
    ensure_min_samples : int, default=1
        The smallest number of rows accepted.
    input_name : str, default="spaces"
        The argument's name, used in error messages.

    Returns
    -------
    spaces : dict of str to ndarray of shape (n_samples, n_features_space)
        The validated spaces, in the order given (the column order for a DataFrame). Every
        array is 2-D, finite and of a float dtype.

    Raises
    ------
    TypeError
        If ``spaces`` is neither a mapping nor a DataFrame, or a space name is not a string.
    ValueError
        If fewer than ``min_spaces`` spaces are given, a space is not a finite 2-D numeric
        array, or the spaces do not all have the same number of rows (a ``DataError``, which
        the command line reports in one line). The message names the space at fault.

    See Also
    --------
    stack_spaces : Make the DataFrame form from a mapping.
    unstack_spaces : Make a mapping from the DataFrame form.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.spaces import check_spaces
    >>> spaces = check_spaces({"a": np.ones((4, 3)), "b": np.zeros((4, 2), dtype=np.float32)})
    >>> {name: (X.shape, X.dtype.name) for name, X in spaces.items()}
    {'a': ((4, 3), 'float64'), 'b': ((4, 2), 'float32')}
    >>> check_spaces({"a": np.ones((4, 3)), "b": np.ones((5, 3))})
    Traceback (most recent call last):
        ...
    skinvariance.exceptions.DataError: All spaces must have the same number of rows (samples); space 'b' has 5 rows but space 'a' has 4.
    """  # noqa: E501
    _check_dtype(dtype)
    if isinstance(spaces, pd.DataFrame):
        items = _blocks_from_frame(spaces, input_name)
    elif isinstance(spaces, Mapping):
        items = list(spaces.items())
    else:
        raise _type_error(spaces, input_name)

    items = _align_frames(items, input_name)
    if len(items) < min_spaces:
        names = ", ".join(repr(name) for name, _ in items) or "none"
        raise DataError(
            f"{input_name} must hold at least {min_spaces} spaces; got {len(items)} ({names}) "
            f"(min_spaces={min_spaces})."
        )

    checked = {}
    first = None
    for name, X in items:
        if not isinstance(name, str):
            raise TypeError(
                f"Space names in {input_name} must be str; got {name!r} of type "
                f"{type(name).__name__}."
            )
        if name in checked:
            # A dict cannot repeat a key, but a custom Mapping's items() can: never let a
            # repeated name overwrite a space silently.
            raise DataError(f"Space names in {input_name} must be unique; got {name!r} twice.")
        try:
            array = check_array(
                X,
                dtype=dtype,
                copy=copy,
                ensure_2d=True,
                ensure_all_finite=True,
                ensure_min_samples=ensure_min_samples,
                input_name=f"space {name!r}",
            )
        except (TypeError, ValueError) as exc:
            error = TypeError if isinstance(exc, TypeError) else DataError
            raise error(f"Space {name!r} of {input_name} is invalid: {exc}") from exc
        if first is None:
            first = (name, array)
        else:
            first_name, first_array = first
            if array.shape[0] != first_array.shape[0]:
                raise DataError(
                    "All spaces must have the same number of rows (samples); space "
                    f"{name!r} has {array.shape[0]} rows but space {first_name!r} has "
                    f"{first_array.shape[0]}."
                )
            if ensure_same_width and array.shape[1] != first_array.shape[1]:
                raise DataError(
                    "All spaces must have the same number of features; space "
                    f"{name!r} has {array.shape[1]} features but space {first_name!r} has "
                    f"{first_array.shape[1]}."
                )
        checked[name] = array
    return checked


@validate_params(
    {"spaces": "no_validation", "index": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def stack_spaces(spaces, *, index=None):
    """Stack row-aligned spaces into one DataFrame with (space, feature) columns.

    The result is the DataFrame form of a multi-space input: scikit-learn's model selection
    tools can slice it by rows, and every function taking several spaces accepts it.

    Parameters
    ----------
    spaces : mapping of str to array-like of shape (n_samples, n_features_space) or DataFrame
        Row-aligned spaces (validated by :func:`check_spaces` with ``min_spaces=1``). Features
        of a space given as a DataFrame keep their column names (as strings); those of an
        array are named by position, ``"0"``, ``"1"``, ...
    index : array-like of shape (n_samples,), default=None
        Row labels of the result. By default the index of the first space given as a
        DataFrame (or of ``spaces`` itself if it is a DataFrame), else a RangeIndex. The
        rows of the other DataFrame spaces are paired with it by label, as in
        :func:`check_spaces`.

    Returns
    -------
    frame : DataFrame of shape (n_samples, sum of the widths)
        Columns are a MultiIndex with levels ``("space", "feature")``, spaces in the order
        given.

    See Also
    --------
    unstack_spaces : The inverse operation.
    check_spaces : The validator.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import stack_spaces
    >>> frame = stack_spaces({"a": np.arange(4.0).reshape(2, 2), "b": np.ones((2, 1))})
    >>> frame
    space    a         b
    feature  0    1    0
    0        0.0  1.0  1.0
    1        2.0  3.0  1.0
    >>> list(frame.columns.names)
    ['space', 'feature']
    """
    if index is None:
        if isinstance(spaces, pd.DataFrame):
            index = spaces.index
        elif isinstance(spaces, Mapping):
            index = next((X.index for X in spaces.values() if isinstance(X, pd.DataFrame)), None)
    checked = check_spaces(spaces, min_spaces=1)
    if isinstance(spaces, pd.DataFrame):
        feature_names = {
            name: [str(f) for f in block.columns]
            for name, block in _blocks_from_frame(spaces, "spaces")
        }
    else:
        feature_names = {
            name: [str(f) for f in X.columns] if isinstance(X, pd.DataFrame) else None
            for name, X in spaces.items()
        }
    tuples = []
    for name, X in checked.items():
        names = feature_names[name] or [str(j) for j in range(X.shape[1])]
        tuples.extend((name, feature) for feature in names)
    columns = pd.MultiIndex.from_tuples(tuples, names=["space", "feature"])
    if columns.has_duplicates:
        duplicated = columns[columns.duplicated()][0]
        raise ValueError(
            f"Feature names must be unique within a space; {duplicated!r} appears more than once."
        )
    n_samples = next(iter(checked.values())).shape[0]
    if index is not None and len(index) != n_samples:
        raise ValueError(
            f"index has {len(index)} entries but the spaces have {n_samples} rows (samples)."
        )
    blocks = [
        pd.DataFrame(X, columns=columns[columns.get_level_values(0) == name], index=index)
        for name, X in checked.items()
    ]
    return pd.concat(blocks, axis=1)


@validate_params(
    {"frame": "no_validation", "min_spaces": [COUNT]}, prefer_skip_nested_validation=True
)
def unstack_spaces(frame, *, min_spaces=1):
    """Split a DataFrame with (space, feature) columns into a dict of arrays.

    Parameters
    ----------
    frame : DataFrame
        Columns with two levels ``(space, feature)``, as made by :func:`stack_spaces`. A mapping
        is accepted too and validated the same way.
    min_spaces : int, default=1
        The smallest number of spaces accepted.

    Returns
    -------
    spaces : dict of str to ndarray of shape (n_samples, n_features_space)
        One validated float array per space, in column order.

    See Also
    --------
    stack_spaces : The inverse operation.
    check_spaces : The validator.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import stack_spaces, unstack_spaces
    >>> spaces = {"a": np.arange(4.0).reshape(2, 2), "b": np.ones((2, 1))}
    >>> back = unstack_spaces(stack_spaces(spaces))
    >>> list(back), back["a"]
    (['a', 'b'], array([[0., 1.],
           [2., 3.]]))
    """
    return check_spaces(frame, min_spaces=min_spaces, input_name="frame")
