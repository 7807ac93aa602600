"""Dask I/O and lazy transforms: projections of Dask arrays, on-disk arrays, Dask missing.

Dask is an extra: a test that needs it asks for the ``da`` fixture (skipped without Dask),
and the package itself must work without it (the last test).
"""

import errno
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _helpers import chunked
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist

from skinvariance import ProductProjection, RelativeProjection, metrics
from skinvariance.io import _dask_npy as io_dask_npy
from skinvariance.io import dask_from_npy, dask_to_npy

#: For the tests that use Dask only through the helpers (skipped without it).
needs_dask = pytest.mark.usefixtures("da")


# ---------------------------------------------------------------------------------------------
# transform
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "projection",
    [
        RelativeProjection("l1"),
        RelativeProjection("cosine", center=True, scale=True, normalize="layer"),
        ProductProjection(["cosine", "euclidean", "l1", "linf"]),
        ProductProjection(["cosine", "l1"], aggregate="sum", normalize="l2"),
    ],
    ids=["l1", "cosine-standardised", "product-concat", "product-sum"],
)
def test_transform_is_lazy_and_equals_numpy(da, dask_data, dtype, projection):
    X, anchors = (a.astype(dtype) for a in dask_data)
    projection.fit(anchors)
    R = projection.transform(chunked(X))
    assert isinstance(R, da.Array)
    assert R.numblocks == (6, 1) and R.chunks[0] == (90,) * 5 + (50,)
    assert R.dtype == dtype
    computed = R.compute()
    assert computed.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(computed, projection.transform(X), rtol=tolerance, atol=tolerance)


@needs_dask
def test_transform_matches_cdist(dask_data):
    X, anchors = dask_data
    R = RelativeProjection("euclidean").fit(anchors).transform(chunked(X)).compute()
    assert_allclose(R, cdist(X, anchors), rtol=1e-12, atol=1e-12)


@needs_dask
def test_fitted_estimator_is_one_graph_key_and_frozen(dask_data):
    X, anchors = dask_data
    rel = RelativeProjection("l1").fit(anchors)
    R = rel.transform(chunked(X))
    graph = dict(R.__dask_graph__())
    holders = [
        key
        for key, value in graph.items()
        if isinstance(getattr(value, "value", value), RelativeProjection)
    ]
    assert len(holders) == 1  # broadcast once, not embedded in every task
    tasks = [key for key in graph if isinstance(key, tuple) and key[0] == R.name]
    assert len(tasks) == R.numblocks[0]
    assert all(holders[0] in graph[key].dependencies for key in tasks)
    # Refitting after building the graph does not change the lazy result.
    rel.fit(anchors[:3])
    assert_allclose(R.compute(), cdist(X, anchors, "cityblock"), rtol=1e-12)


@needs_dask
def test_unknown_chunk_sizes(dask_data):
    X, anchors = dask_data
    rel = RelativeProjection().fit(anchors)
    Xd = chunked(X)
    filtered = Xd[Xd[:, 0] > 0]
    with pytest.raises(
        ValueError,
        match=r"unknown chunk sizes \(shape \(nan, 7\)\).*"
        r"compute_chunk_sizes\(\)",
    ):
        rel.transform(filtered)
    filtered = filtered.compute_chunk_sizes()
    assert_allclose(
        rel.transform(filtered).compute(), rel.transform(X[X[:, 0] > 0]), rtol=1e-12, atol=1e-12
    )
    with pytest.raises(ValueError, match=r"unknown chunk sizes"):
        metrics.linear_cka(Xd[Xd[:, 0] > 0], Xd[Xd[:, 0] > 0])


def test_transform_bad_input(da, dask_data):
    X, anchors = dask_data
    rel = RelativeProjection().fit(anchors)
    with pytest.raises(
        ValueError, match="X has 4 features, but RelativeProjection is expecting 7"
    ):
        rel.transform(chunked(X[:, :4]))  # eager: before any task runs
    with pytest.raises(ValueError, match=r"Expected a 2-D Dask array .* shape \(500,\)"):
        rel.transform(da.from_array(X[:, 0], chunks=100))
    bad = X.copy()
    bad[321, 5] = np.nan
    R = rel.transform(chunked(bad))  # lazy: the chunk's task reports it, naming its rows
    with pytest.raises(
        ValueError, match=r"NaN in the block of rows 270 to 359 \(first at row 321"
    ):
        R.compute()


def test_fit_accepts_dask_arrays(da, dask_data, rng):
    X, _ = dask_data
    y = rng.integers(0, 3, size=len(X))
    rel = RelativeProjection().fit(chunked(X[:20]))
    assert type(rel.anchors_) is np.ndarray
    assert_allclose(rel.anchors_, X[:20])
    params = {"n_anchors": 9, "anchor_selection": "stratified", "random_state": 0}
    lazy = ProductProjection(["cosine", "l1"], **params).fit(chunked(X), da.from_array(y, 50))
    eager = ProductProjection(["cosine", "l1"], **params).fit(X, y)
    assert np.array_equal(lazy.anchor_indices_, eager.anchor_indices_)
    assert_allclose(lazy.transform(X), eager.transform(X))


# ---------------------------------------------------------------------------------------------
# on-disk arrays
# ---------------------------------------------------------------------------------------------


@needs_dask
def test_dask_from_npy_and_to_npy(tmp_path, dask_data):
    X, anchors = dask_data
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    Xd = dask_from_npy(tmp_path / "X.npy", chunk_rows=64)
    assert Xd.chunks == ((64,) * 7 + (52,), (7,)) and Xd.dtype == np.float32
    prod = ProductProjection(["cosine", "linf"]).fit(anchors)
    shape = dask_to_npy(prod.transform(Xd), tmp_path / "R.npy")
    R = np.load(tmp_path / "R.npy")
    assert shape == R.shape == (500, 24) and R.dtype == np.float32
    assert_allclose(R, prod.transform(X.astype(np.float32)), rtol=1e-5, atol=1e-5)
    with pytest.raises(FileExistsError, match="R.npy' exists; pass overwrite=True"):
        dask_to_npy(Xd, tmp_path / "R.npy")
    dask_to_npy(Xd, tmp_path / "R.npy", overwrite=True)
    assert np.array_equal(np.load(tmp_path / "R.npy"), X.astype(np.float32))
    with pytest.raises(TypeError, match="X must be a dask.array.Array; got ndarray"):
        dask_to_npy(X, tmp_path / "S.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R.npy", "X.npy"]


def test_dask_to_npy_disk_full_leaves_nothing(tmp_path, dask_data, monkeypatch):
    dask = pytest.importorskip("dask")
    X, _ = dask_data
    calls = []
    setitem = io_dask_npy._NpyRowWriter.__setitem__

    def failing(self, key, value):
        calls.append(key)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        setitem(self, key, value)

    monkeypatch.setattr(io_dask_npy._NpyRowWriter, "__setitem__", failing)
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(OSError, match=r"R.npy' failed: the disk is full"),
    ):
        dask_to_npy(chunked(X, 50, 7), tmp_path / "R.npy")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Dask missing
# ---------------------------------------------------------------------------------------------


def test_without_dask_everything_else_works(tmp_path):
    """A fresh interpreter where importing dask fails, as when the extra is not installed."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["dask"] = None  # makes "import dask" raise ImportError
        import numpy as np
        from skinvariance import RelativeProjection, metrics
        from skinvariance.io import dask_from_npy, transform_npy

        X = np.random.default_rng(0).normal(size=(50, 4))
        rel = RelativeProjection("l1").fit(X[:5])
        np.save({str(tmp_path / "X.npy")!r}, X)
        transform_npy(rel, {str(tmp_path / "X.npy")!r}, {str(tmp_path / "R.npy")!r},
                      progress=False)
        assert np.allclose(np.load({str(tmp_path / "R.npy")!r}), rel.transform(X))
        assert 0.99 < metrics.linear_cka(X, 2 * X) <= 1.0
        try:
            dask_from_npy({str(tmp_path / "X.npy")!r})
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert "dask_from_npy needs Dask" in result.stdout
    assert 'pip install "skinvariance[dask]"' in result.stdout
