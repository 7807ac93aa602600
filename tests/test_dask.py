"""Dask: lazy transforms, blockwise metrics, on-disk arrays, a LocalCluster, Dask missing."""

import errno
import os
import subprocess
import sys
import textwrap

import dask
import dask.array as da
import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group, pearsonr
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skinvariance import (
    ProductProjection,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    metrics,
)
from skinvariance.io import _dask_npy as io_dask_npy
from skinvariance.outofcore import dask_from_npy, dask_to_npy


@pytest.fixture
def data(rng):
    X = rng.normal(size=(500, 7))
    return X, X[rng.choice(500, size=12, replace=False)]


def _chunked(X, rows=90, cols=3):
    return da.from_array(X, chunks=(rows, cols))


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
def test_transform_is_lazy_and_equals_numpy(data, dtype, projection):
    X, anchors = (a.astype(dtype) for a in data)
    projection.fit(anchors)
    R = projection.transform(_chunked(X))
    assert isinstance(R, da.Array)
    assert R.numblocks == (6, 1) and R.chunks[0] == (90,) * 5 + (50,)
    assert R.dtype == dtype
    computed = R.compute()
    assert computed.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(computed, projection.transform(X), rtol=tolerance, atol=tolerance)


def test_transform_matches_cdist(data):
    X, anchors = data
    R = RelativeProjection("euclidean").fit(anchors).transform(_chunked(X)).compute()
    assert_allclose(R, cdist(X, anchors), rtol=1e-12, atol=1e-12)


def test_fitted_estimator_is_one_graph_key_and_frozen(data):
    X, anchors = data
    rel = RelativeProjection("l1").fit(anchors)
    R = rel.transform(_chunked(X))
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


def test_unknown_chunk_sizes(data):
    X, anchors = data
    rel = RelativeProjection().fit(anchors)
    Xd = _chunked(X)
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


def test_transform_bad_input(data):
    X, anchors = data
    rel = RelativeProjection().fit(anchors)
    with pytest.raises(
        ValueError, match="X has 4 features, but RelativeProjection is expecting 7"
    ):
        rel.transform(_chunked(X[:, :4]))  # eager: before any task runs
    with pytest.raises(ValueError, match=r"Expected a 2-D Dask array .* shape \(500,\)"):
        rel.transform(da.from_array(X[:, 0], chunks=100))
    bad = X.copy()
    bad[321, 5] = np.nan
    R = rel.transform(_chunked(bad))  # lazy: the chunk's task reports it, naming its rows
    with pytest.raises(
        ValueError, match=r"NaN in the block of rows 270 to 359 \(first at row 321"
    ):
        R.compute()


def test_fit_accepts_dask_arrays(data, rng):
    X, _ = data
    y = rng.integers(0, 3, size=len(X))
    rel = RelativeProjection().fit(_chunked(X[:20]))
    assert type(rel.anchors_) is np.ndarray
    assert_allclose(rel.anchors_, X[:20])
    params = {"n_anchors": 9, "anchor_selection": "stratified", "random_state": 0}
    lazy = ProductProjection(["cosine", "l1"], **params).fit(_chunked(X), da.from_array(y, 50))
    eager = ProductProjection(["cosine", "l1"], **params).fit(X, y)
    assert np.array_equal(lazy.anchor_indices_, eager.anchor_indices_)
    assert_allclose(lazy.transform(X), eager.transform(X))


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------


def _reference_linear_cka(X, Y):
    """The Gram-matrix definition: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), n x n."""
    n = len(X)
    H = np.eye(n) - 1.0 / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.vdot(K, L) / np.sqrt(np.vdot(K, K) * np.vdot(L, L))


def test_metrics_reduce_dask_arrays_blockwise(rng):
    X = rng.normal(size=(400, 9))
    Y = np.tanh(X @ rng.normal(size=(9, 9))) + 0.3 * rng.normal(size=(400, 9))
    Xd, Yd = _chunked(X, 70, 4), da.from_array(Y, chunks=(55, 9))  # misaligned chunks
    assert metrics.linear_cka(Xd, Yd) == pytest.approx(_reference_linear_cka(X, Y), rel=1e-10)
    assert metrics.linear_cka(Xd, Y, debiased=True) == pytest.approx(
        metrics.linear_cka(X, Y, debiased=True), rel=1e-10
    )
    cosine = np.mean(1.0 - np.diag(cdist(X, Y, "cosine")))
    assert metrics.mean_cosine_similarity(Xd, Yd) == pytest.approx(cosine, rel=1e-10)
    pearson = np.mean([pearsonr(x, y)[0] for x, y in zip(X, Y)])
    assert metrics.pearson_similarity(X, Yd) == pytest.approx(pearson, rel=1e-10)


def test_metrics_dask_errors(rng):
    X = rng.normal(size=(300, 5))
    Xd = _chunked(X, 64, 5)
    with pytest.raises(ValueError, match=r"same number of rows .* \(300, 5\) .* \(200, 5\)"):
        metrics.linear_cka(Xd, X[:200])
    with pytest.raises(ValueError, match="mean_cosine_similarity compares X and Y feature by"):
        metrics.mean_cosine_similarity(Xd, X[:, :4])
    bad = X.copy()
    bad[130, 1] = np.inf
    with pytest.raises(ValueError, match=r"Input Y contains infinity .* rows 128 to 191"):
        metrics.pearson_similarity(Xd, _chunked(bad, 64, 5))
    with pytest.raises(ValueError, match="CKA is undefined"):
        metrics.linear_cka(Xd, da.ones((300, 5), chunks=100))


# ---------------------------------------------------------------------------------------------
# on-disk arrays
# ---------------------------------------------------------------------------------------------


def test_dask_from_npy_and_to_npy(tmp_path, data):
    X, anchors = data
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


def test_dask_to_npy_disk_full_leaves_nothing(tmp_path, data, monkeypatch):
    X, _ = data
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
        dask_to_npy(_chunked(X, 50, 7), tmp_path / "R.npy")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# a LocalCluster: processes on this machine
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def test_similarity_matrix_on_a_cluster_equals_serial(client, rng):
    spaces = {f"s{i}": rng.normal(size=(60, 5)) @ rng.normal(size=(5, 5)) for i in range(4)}
    serial = metrics.similarity_matrix(spaces, "linear_cka")
    worker_pids = set(client.run(os.getpid).values())
    with joblib.parallel_config(backend="dask"):
        distributed = metrics.similarity_matrix(spaces, "linear_cka")
        # Which process evaluated each pair: the workers, not this one.
        pids = metrics.similarity_matrix(spaces, lambda X, Y: float(os.getpid()))
    assert_allclose(distributed.to_numpy(), serial.to_numpy(), rtol=1e-12)
    assert list(distributed.index) == list(serial.index)
    assert set(pids.to_numpy().ravel().astype(int)) <= worker_pids
    assert os.getpid() not in worker_pids


def _zoo(rng, n_spaces=3, n_samples=90):
    """Rotated, rescaled, noisy copies of one labelled space: a tiny stand-in for a zoo."""
    base = rng.normal(size=(n_samples, 5))
    y = (base[:, 0] + base[:, 1] > 0).astype(int)
    spaces = {
        f"model{i}": (1 + i) * base @ ortho_group.rvs(5, random_state=i)
        + 0.05 * rng.normal(size=base.shape)
        for i in range(n_spaces)
    }
    return spaces, y


def test_stitching_evaluator_on_a_cluster_equals_serial(client, rng):
    spaces, y = _zoo(rng)
    evaluator = StitchingEvaluator(
        ProductProjection(["cosine", "l1"]),
        LogisticRegression(max_iter=300),
        anchors=20,
        random_state=0,
    )
    serial = clone(evaluator).fit(spaces, y).stitching_matrix(spaces, y)
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        distributed = clone(evaluator).fit(spaces, y).stitching_matrix(spaces, y)
    assert_frame_equal(distributed, serial)
    assert len(stream.data) > 0  # the fits and scores ran as tasks on the workers
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])


def test_compare_invariances_on_a_cluster_equals_serial(client, rng):
    spaces, y = _zoo(rng)
    params = {
        "invariances": {"absolute": None, "cosine": RelativeProjection("cosine")},
        "metrics": ["cka", "cosine"],
        "anchors": 20,
        "random_state": 0,
    }
    serial = compare_invariances(spaces, y, **params)
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        distributed = compare_invariances(spaces, y, **params)
    assert_frame_equal(distributed, serial)
    assert len(stream.data) > 0


def test_on_disk_transform_on_a_cluster(client, tmp_path, data):
    X, anchors = data
    np.save(tmp_path / "X.npy", X)
    rel = RelativeProjection("linf").fit(anchors)
    dask_to_npy(
        rel.transform(dask_from_npy(tmp_path / "X.npy", chunk_rows=100)), tmp_path / "R.npy"
    )
    assert_allclose(np.load(tmp_path / "R.npy"), cdist(X, anchors, "chebyshev"), rtol=1e-12)


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
        from skinvariance.outofcore import dask_from_npy, transform_npy

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
