import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.model_selection import KFold

from skinvariance import stack_spaces, unstack_spaces
from skinvariance.spaces import check_spaces


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def spaces(rng):
    return {
        "enc_b": rng.normal(size=(7, 3)),
        "enc_a": rng.normal(size=(7, 5)).astype(np.float32),
        "enc_c": rng.integers(0, 9, size=(7, 2)),
    }


def test_check_spaces_mapping_keeps_order_dtype_and_values(spaces):
    checked = check_spaces(spaces)
    assert list(checked) == ["enc_b", "enc_a", "enc_c"]
    assert checked["enc_b"].dtype == np.float64
    assert checked["enc_a"].dtype == np.float32
    assert checked["enc_c"].dtype == np.float64  # integers become float64
    for name, X in spaces.items():
        assert_array_equal(checked[name], np.asarray(X, dtype=checked[name].dtype))


def test_check_spaces_accepts_list_and_dataframe_values(rng):
    X = rng.normal(size=(4, 2))
    checked = check_spaces({"a": X.tolist(), "b": pd.DataFrame(X, columns=["u", "v"])})
    assert_array_equal(checked["a"], X)
    assert_array_equal(checked["b"], X)


def test_stack_unstack_round_trip(spaces):
    frame = stack_spaces(spaces)
    assert isinstance(frame.columns, pd.MultiIndex)
    assert list(frame.columns.names) == ["space", "feature"]
    assert frame.shape == (7, 3 + 5 + 2)
    assert list(dict.fromkeys(frame.columns.get_level_values(0))) == list(spaces)
    back = unstack_spaces(frame)
    assert list(back) == list(spaces)
    for name, X in spaces.items():
        assert back[name].shape == np.shape(X)
        assert_array_equal(back[name], np.asarray(X, dtype=float))
    # float32 survives the round trip
    assert back["enc_a"].dtype == np.float32
    # the DataFrame form validates to the same arrays as the mapping form
    direct = check_spaces(frame)
    for name in spaces:
        assert_array_equal(direct[name], check_spaces(spaces)[name])


def test_stack_keeps_feature_names_and_index(rng):
    X = pd.DataFrame(rng.normal(size=(3, 2)), columns=["x", "y"], index=[10, 11, 12])
    frame = stack_spaces({"a": X, "b": rng.normal(size=(3, 1))})
    assert list(frame.columns) == [("a", "x"), ("a", "y"), ("b", "0")]
    assert list(frame.index) == [10, 11, 12]
    assert_array_equal(frame["a"].to_numpy(), X.to_numpy())
    frame = stack_spaces({"a": X}, index=["p", "q", "r"])
    assert list(frame.index) == ["p", "q", "r"]


def test_stack_of_a_stacked_frame_is_identity(spaces):
    frame = stack_spaces(spaces)
    again = stack_spaces(frame)
    pd.testing.assert_frame_equal(again, frame)


def test_non_contiguous_columns_are_grouped_by_space(rng):
    X = rng.normal(size=(5, 4))
    columns = pd.MultiIndex.from_tuples([("a", "0"), ("b", "0"), ("a", "1"), ("b", "1")])
    checked = check_spaces(pd.DataFrame(X, columns=columns))
    assert list(checked) == ["a", "b"]
    assert_array_equal(checked["a"], X[:, [0, 2]])
    assert_array_equal(checked["b"], X[:, [1, 3]])


def test_row_slicing_as_model_selection_does(spaces):
    """Slicing the DataFrame form by rows slices every space by the same rows."""
    frame = stack_spaces(spaces)
    for _train, test in KFold(3, shuffle=True, random_state=0).split(frame):
        part = check_spaces(frame.iloc[test], min_spaces=1)
        for name, X in spaces.items():
            assert_array_equal(part[name], np.asarray(X, dtype=float)[test])


def test_ensure_same_width(rng):
    same = {"a": rng.normal(size=(3, 2)), "b": rng.normal(size=(3, 2))}
    assert len(check_spaces(same, ensure_same_width=True)) == 2
    with pytest.raises(ValueError, match="space 'b' has 4 features but space 'a' has 2"):
        check_spaces(
            {"a": rng.normal(size=(3, 2)), "b": rng.normal(size=(3, 4))}, ensure_same_width=True
        )


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ({"a": np.ones((3, 2)), "b": np.ones((4, 2))}, ValueError, "space 'b' has 4 rows"),
        ({"a": np.ones((3, 2))}, ValueError, r"at least 2 spaces; got 1 \('a'\)"),
        ({}, ValueError, r"at least 2 spaces; got 0 \(none\)"),
        ({"a": np.ones((3, 2)), "b": np.ones(3)}, ValueError, "Space 'b' of spaces is invalid"),
        (
            {"a": np.ones((3, 2)), "b": [[0.0, np.nan]] * 3},
            ValueError,
            "Space 'b' of spaces is invalid.*NaN",
        ),
        (
            {"a": np.full((3, 2), np.inf), "b": np.ones((3, 2))},
            ValueError,
            "Space 'a' of spaces is invalid.*infinity",
        ),
        ({"a": np.ones((3, 2)), "b": np.ones((3, 0))}, ValueError, "Space 'b'.*0 feature"),
        ({"a": np.ones((3, 2)), "b": [["x", "y"]] * 3}, ValueError, "Space 'b'"),
        ({"a": np.ones((3, 2)), 1: np.ones((3, 2))}, TypeError, "names in spaces must be str"),
        ([np.ones((3, 2)), np.ones((3, 2))], TypeError, "got list instead"),
        (np.ones((3, 2)), TypeError, "got ndarray instead"),
        (pd.DataFrame(np.ones((3, 2))), ValueError, "two column levels.*got 1"),
    ],
)
def test_check_spaces_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        check_spaces(bad)


class _RepeatingMapping(Mapping):
    """A Mapping whose items() repeats a name (a dict cannot)."""

    def __init__(self, items):
        self._items = items

    def __getitem__(self, key):
        return dict(self._items)[key]

    def __iter__(self):
        return (key for key, _ in self._items)

    def __len__(self):
        return len(self._items)


def test_repeated_names_are_refused():
    repeated = _RepeatingMapping([("a", np.ones((2, 2))), ("a", np.zeros((2, 2)))])
    with pytest.raises(ValueError, match="must be unique; got 'a' twice"):
        check_spaces(repeated)


def test_duplicated_columns_are_refused():
    columns = pd.MultiIndex.from_tuples([("a", "0"), ("a", "0"), ("b", "0")])
    with pytest.raises(ValueError, match=r"\('a', '0'\) appears more than once"):
        check_spaces(pd.DataFrame(np.ones((2, 3)), columns=columns))


@pytest.mark.parametrize("min_spaces", [0, -1, 1.5, "2", True])
def test_min_spaces_is_validated(min_spaces):
    with pytest.raises(ValueError, match="'min_spaces' parameter of check_spaces"):
        check_spaces({"a": np.ones((2, 2))}, min_spaces=min_spaces)


def test_min_spaces_one_accepts_a_single_space():
    assert list(check_spaces({"a": np.ones((2, 2))}, min_spaces=1)) == ["a"]


def test_input_name_is_used_in_errors():
    with pytest.raises(ValueError, match="Space 'b' of spaces_test is invalid"):
        check_spaces({"a": np.ones((2, 2)), "b": np.ones(2)}, input_name="spaces_test")


def test_stack_bad_index_length():
    with pytest.raises(ValueError, match="index has 2 entries but the spaces have 3 rows"):
        stack_spaces({"a": np.ones((3, 2))}, index=[0, 1])


def test_copy_parameter(rng):
    X = rng.normal(size=(3, 2))
    assert check_spaces({"a": X}, min_spaces=1)["a"] is X
    copied = check_spaces({"a": X}, min_spaces=1, copy=True)["a"]
    assert copied is not X
    assert_array_equal(copied, X)


# -- DataFrame spaces are paired by row label (issue 18) ---------------------------------------


def test_dataframe_spaces_in_another_row_order_are_aligned_by_label(rng):
    """They were paired by position: linear CKA 0.03 between a space and itself."""
    from skinvariance.metrics import linear_cka

    X = rng.normal(size=(30, 4))
    labels = [f"s{i}" for i in range(30)]
    order = rng.permutation(30)
    first = pd.DataFrame(X, index=labels)
    shuffled = pd.DataFrame(X[order] @ np.diag([1.0, 2.0, 3.0, 4.0]),
                            index=[labels[i] for i in order])
    checked = check_spaces({"a": first, "b": shuffled})
    assert_array_equal(checked["b"], X @ np.diag([1.0, 2.0, 3.0, 4.0]))  # the oracle: X
    assert linear_cka(checked["a"], X) == pytest.approx(1.0)
    # An array beside them is taken in the first DataFrame's order.
    checked = check_spaces({"a": first, "b": shuffled, "c": X})
    assert_array_equal(checked["c"], X)
    # stack_spaces keeps the first index and pairs the second's rows with it.
    frame = stack_spaces({"a": first, "b": shuffled})
    assert list(frame.index) == labels
    assert_array_equal(frame["b"].to_numpy(), X @ np.diag([1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize(
    "index, example",
    [
        ([f"s{i}" for i in range(1, 7)], " (e.g. 's6' is not in space 'a')"),
        (["s0", "s0", "s1", "s2", "s3", "s4"], ""),
    ],
)
def test_dataframe_spaces_with_other_row_labels_are_refused(rng, index, example):
    first = pd.DataFrame(rng.normal(size=(6, 2)), index=[f"s{i}" for i in range(6)])
    other = pd.DataFrame(rng.normal(size=(6, 2)), index=index)
    message = ("Spaces 'a' and 'b' of spaces are DataFrames whose indexes hold different row "
               f"labels{example}; DataFrame spaces are paired by row label")
    with pytest.raises(ValueError, match=re.escape(message)):
        check_spaces({"a": first, "b": other})
    with pytest.raises(ValueError, match=re.escape(message)):
        stack_spaces({"a": first, "b": other})
    # reset_index(drop=True) pairs them by position, as the message says
    checked = check_spaces({"a": first.reset_index(drop=True),
                            "b": other.reset_index(drop=True)})
    assert_array_equal(checked["b"], other.to_numpy())
