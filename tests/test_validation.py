"""The checks every layer shares (skinvariance._validation): each error names the argument at
fault and the value received, and data errors are DataError (a ValueError)."""

import re

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import RelativeProjection
from skinvariance._compat import InvalidParameterError
from skinvariance._validation import (
    DataError,
    check_count,
    check_finite_rows,
    check_output_path,
    check_paired_arrays,
    check_paired_shapes,
    check_target,
    error_class,
    final_step,
    is_classification_target,
)

# -- check_target ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["y", "the labels"])
@pytest.mark.parametrize(
    ("y", "n_samples", "kwargs", "reason"),
    [
        (None, 3, {}, r"is required: one value per sample; got {name}=None"),
        ([0.0, 1.0, np.nan], 3, {}, r"is invalid: Input {name} contains NaN"),
        ([0.0, np.inf, 1.0], 3, {}, r"is invalid: Input {name} contains infinity"),
        (np.array([0, "a", 1], dtype=object), 3, {},
         r"mixes value types \(number, str\); labels must be all strings or all numbers"),
        (np.array([0, 1, None], dtype=object), 3, {}, r"mixes value types \(number, other\)"),
        (np.array([0.0, 1.0, np.nan], dtype=object), 3, {}, "is invalid: Input contains NaN"),
        (np.array([0.0, 1.0, -np.inf], dtype=object), 3, {}, "contains NaN or infinity"),
        ([1, 1, 1], 3, {}, r"holds a single class \(.*1.*\); at least two classes are needed"),
        ([1.5, 1.5], 2, {"classification": True}, "holds a single class"),
        (["a", "a"], 2, {}, "holds a single class"),
        ([0, 1, 0], 4, {}, r"has 3 rows but the spaces have 4 rows \(samples\)"),
        (np.zeros((3, 2)), 2, {}, r"has 3 rows but the spaces have 2 rows"),
        (np.zeros((3, 2, 2)), 3, {}, r"is invalid: Found array with dim 3"),
        (5, 1, {}, r"must be 1-D or 2-D; got an array of shape \(\)"),
    ],
)
def test_check_target_errors_name_the_target(y, n_samples, kwargs, reason, name):
    pattern = "^" + re.escape(name) + " " + reason.replace("{name}", re.escape(name))
    with pytest.raises(DataError, match=pattern):
        check_target(y, n_samples, name=name, **kwargs)


@pytest.mark.parametrize(
    ("y", "classification"),
    [
        ([0, 1, 1], None),
        (["cat", "dog", "cat"], None),
        (np.array(["cat", "dog", "cat"], dtype=object), None),
        (np.array([0.5, 1.5, 1.5], dtype=object), None),
        ([True, False, True], None),
        ([0.5, 0.5, 0.5], None),  # a constant continuous target: nothing to classify
        ([0.5, 0.5, 0.5], False),
        (np.arange(6.0).reshape(3, 2), None),
    ],
)
def test_check_target_accepts_labels_and_values(y, classification):
    got = check_target(y, 3, classification=classification)
    assert got.shape[0] == 3
    np.testing.assert_array_equal(got, np.asarray(y))


def test_is_classification_target_is_scikit_learns_decision():
    assert is_classification_target([0, 1, 0]) and is_classification_target(["a", "b", "c"])
    assert not is_classification_target([0.5, 1.5, 2.5])
    assert not is_classification_target(np.eye(3, dtype=int))  # multilabel indicator


# -- paired spaces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_shape", "y_shape", "kwargs", "match"),
    [
        ((5, 2), (4, 2), {},
         r"^X and Y must have the same number of rows .* X with shape \(5, 2\) and Y with "
         r"shape \(4, 2\)"),
        ((1, 2), (1, 3), {}, "^measure needs at least 2 samples; got X and Y with n_samples=1"),
        ((3, 2), (3, 2), {"min_samples": 4}, "^measure needs at least 4 samples"),
        ((3, 2), (3, 4), {"same_width": True},
         r"^measure compares X and Y feature by feature, so they must have the same number of "
         r"features; got X with shape \(3, 2\) and Y with shape \(3, 4\)"),
    ],
)
def test_check_paired_shapes(x_shape, y_shape, kwargs, match):
    with pytest.raises(DataError, match=match):
        check_paired_shapes(x_shape, y_shape, "measure", **kwargs)


def test_check_paired_shapes_accepts_paired_rows():
    assert check_paired_shapes((3, 2), (3, 7), "measure") is None
    assert check_paired_shapes((3, 2), (3, 2), "measure", same_width=True) is None


def test_check_paired_arrays_dtypes_and_names():
    X, Y = check_paired_arrays(np.ones((3, 2), dtype=np.float32), [[1, 2], [3, 4], [5, 6]], "m")
    assert X.dtype == np.float32 and Y.dtype == np.float64
    with pytest.raises(ValueError, match="Input Y contains NaN"):
        check_paired_arrays(np.ones((2, 2)), [[1.0, np.nan], [0.0, 1.0]], "m")


# -- check_finite_rows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_rows", "value", "what"), [([3], np.nan, "NaN"), ([1, 4], np.inf, "infinity"),
                                    ([0], -np.inf, "infinity")],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_finite_rows_names_the_rows(bad_rows, value, what, dtype):
    block = np.ones((6, 3), dtype=dtype)
    block[bad_rows, 1] = value
    message = (
        rf"^Input Z contains {what} in the block of rows 100 to 105 \(first at row "
        rf"{100 + bad_rows[0]}; {len(bad_rows)} row\(s\) of this block affected\)"
    )
    with pytest.raises(DataError, match=message):
        check_finite_rows(block, 100, "Z")


def test_check_finite_rows_passes_finite_and_integer_blocks():
    assert check_finite_rows(np.ones((4, 2)), 0) is None
    assert check_finite_rows(np.arange(8).reshape(4, 2), 0) is None


# -- check_output_path -------------------------------------------------------------------------


def test_check_output_path(tmp_path):
    source = tmp_path / "in.npy"
    source.write_bytes(b"x")
    new = tmp_path / "out.npy"
    assert check_output_path(str(new), overwrite=False) == new
    assert check_output_path(source, overwrite=True) == source
    with pytest.raises(FileExistsError, match=r"The output '.*in.npy' exists; pass overwrite"):
        check_output_path(source, overwrite=False)
    with pytest.raises(IsADirectoryError, match=r"The result '.*' is a directory"):
        check_output_path(tmp_path, overwrite=True, name="result")
    with pytest.raises(FileNotFoundError,
                       match=r"The directory of the output '.*no.out.npy' does not exist"):
        check_output_path(tmp_path / "no" / "out.npy", overwrite=True)
    # The input itself (also through a link), with or without overwrite: never written over.
    (tmp_path / "link.npy").symlink_to(source)
    for path in (source, tmp_path / "link.npy"):
        for overwrite in (False, True):
            with pytest.raises(DataError, match=r"The output '.*' is the input file; choose"):
                check_output_path(path, overwrite=overwrite, input_path=source)
    assert check_output_path(new, overwrite=False, input_path=source) == new


# -- estimators and counts ---------------------------------------------------------------------


def test_final_step():
    relative = RelativeProjection()
    assert final_step(relative) is relative
    assert final_step(make_pipeline(StandardScaler(), relative)) is relative
    # A final step that does nothing is skipped: the projection is what the Pipeline ends in.
    assert final_step(make_pipeline(relative, "passthrough")) is relative
    assert final_step(make_pipeline(StandardScaler(), relative, None)) is relative
    only_passthrough = make_pipeline("passthrough")
    assert final_step(only_passthrough) is only_passthrough
    assert final_step(None) is None


@pytest.mark.parametrize("value", [True, False, 2.0, "3", None, 0, -1, np.float64(2.0)])
def test_check_count_refuses_non_counts(value):
    match = (
        r"^The 'anchors' parameter of compare_invariances must be an int in the range "
        rf"\[1, inf\). Got {re.escape(repr(value))} instead.$"
    )
    with pytest.raises(InvalidParameterError, match=match) as info:
        check_count(value, "anchors", "compare_invariances")
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_check_count_accepts_ints_from_low():
    assert check_count(np.int64(3), "n", "f") == 3
    assert type(check_count(np.int64(3), "n", "f")) is int
    assert check_count(2, "n", "f", low=2) == 2
    with pytest.raises(InvalidParameterError, match=r"range \[2, inf\). Got 1 instead"):
        check_count(1, "n", "f", low=2)


class _OwnDataError(DataError):
    pass


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (DataError("bad data"), DataError),
        (_OwnDataError("bad data"), _OwnDataError),
        (InvalidParameterError("bad parameter"), InvalidParameterError),
        (ValueError("a bug"), ValueError),
        (TypeError("a bug"), ValueError),
        (KeyError("a bug"), ValueError),
    ],
)
def test_error_class_keeps_user_mistakes_and_nothing_else(exc, expected):
    assert error_class(exc) is expected
    with pytest.raises(expected, match="^context: ") as info:
        raise error_class(exc)(f"context: {exc}") from exc
    assert type(info.value) is expected
