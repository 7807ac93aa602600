"""A Dask LocalCluster (processes on this machine) behind joblib and on-disk arrays: the same
results as in this process, computed by the workers.

Every test of the cluster is in this module, so that one cluster is started, and torn down
before other modules run (a live Client is Dask's default scheduler).
"""

import os

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skinvariance import (
    ProductProjection,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    metrics,
)
from skinvariance.io import dask_from_npy, dask_to_npy

pytest.importorskip("distributed")  # the dask extra
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402


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


def test_on_disk_transform_on_a_cluster(client, tmp_path, dask_data):
    X, anchors = dask_data
    np.save(tmp_path / "X.npy", X)
    rel = RelativeProjection("linf").fit(anchors)
    dask_to_npy(
        rel.transform(dask_from_npy(tmp_path / "X.npy", chunk_rows=100)), tmp_path / "R.npy"
    )
    assert_allclose(np.load(tmp_path / "R.npy"), cdist(X, anchors, "chebyshev"), rtol=1e-12)
