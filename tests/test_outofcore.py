"""``skinvariance.outofcore``: the deprecated path of ``skinvariance.io``'s out-of-core names."""

import importlib
import inspect
import warnings

import pytest

import skinvariance
from skinvariance import io, outofcore

NAMES = ["dask_from_npy", "dask_to_npy", "transform_npy"]


@pytest.mark.parametrize("name", NAMES)
def test_each_name_warns_and_is_the_io_one(name):
    with pytest.warns(FutureWarning, match=rf"import {name} from skinvariance\.io instead"):
        moved = getattr(outofcore, name)
    assert moved is getattr(io, name)


def test_from_import_warns_at_the_callers_line():
    with pytest.warns(FutureWarning, match="skinvariance.outofcore is deprecated") as record:
        from skinvariance.outofcore import transform_npy
    assert transform_npy is io.transform_npy
    assert [w.filename for w in record] == [__file__]


def test_star_import_brings_every_name_with_a_warning_each():
    namespace = {}
    with pytest.warns(FutureWarning) as record:
        exec("from skinvariance.outofcore import *", namespace)
    assert sorted(name for name in namespace if not name.startswith("__")) == NAMES
    assert len(record) == len(NAMES)


def test_importing_and_inspecting_the_module_do_not_warn():
    """Only a moved name warns: not the import, nor ``dir`` and the attributes it lists
    (what pytest's collection and an editor's completion read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(outofcore)
        assert skinvariance.outofcore.__name__ == "skinvariance.outofcore"
        members = dict(inspect.getmembers(outofcore))
    assert not set(NAMES) & set(members)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'skinvariance.outofcore' has no attribute 'read'"):
        outofcore.read  # noqa: B018
    assert "read_spaces" in io.__all__ and "read_spaces" not in outofcore.__all__
