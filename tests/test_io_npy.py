"""Out-of-core transforms: memmap streaming and on-disk .npy to .npy (transform_npy)."""

import errno
import re

import numpy as np
import pytest
from _helpers import save_npy
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist
from sklearn import config_context
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import ProductProjection, RelativeProjection
from skinvariance.io import _atomic as io_atomic
from skinvariance.io import _npy as io_npy
from skinvariance.io import transform_npy

# A budget of a few KiB makes blocks of a few dozen rows, so small files cross many blocks.
TINY_MIB = 0.02


def _tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


class _RecordingMemmap(np.memmap):
    """A memmap that records the rows of every read through indexing."""

    def __getitem__(self, key):
        if isinstance(key, slice) and self.ndim == 2 and getattr(self, "reads", None) is not None:
            self.reads.append(key)
        return super().__getitem__(key)


# ---------------------------------------------------------------------------------------------
# transform of a numpy.memmap
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,metric", [("l1", "cityblock"), ("euclidean", "euclidean")])
def test_memmap_transform_streams_blocks_and_matches_cdist(tmp_path, out_of_core_data, dtype,
                                                           kernel, metric):
    X, anchors = (a.astype(dtype) for a in out_of_core_data)
    path = save_npy(tmp_path, "X.npy", X)
    rel = RelativeProjection(kernel).fit(anchors)
    mapped = np.load(path, mmap_mode="r").view(_RecordingMemmap)
    mapped.reads = []
    with config_context(working_memory=TINY_MIB):
        R = rel.transform(mapped)
    assert type(R) is np.ndarray and R.dtype == dtype
    assert_allclose(
        R, cdist(X.astype(np.float64), anchors.astype(np.float64), metric), **_tolerance(dtype)
    )
    # Read in several row blocks covering every row once, never the whole file at once.
    blocks = [k for k in mapped.reads if k.stop is not None and k.stop - (k.start or 0) > 1]
    assert len(blocks) > 2
    assert max(key.stop - key.start for key in blocks) < len(X)
    covered = np.concatenate([np.arange(key.start, min(key.stop, len(X))) for key in blocks])
    assert np.array_equal(covered, np.arange(len(X)))


@pytest.mark.parametrize("aggregate", ["concat", "sum"])
def test_memmap_product_projection_equals_in_memory(tmp_path, out_of_core_data, aggregate):
    X, anchors = out_of_core_data
    prod = ProductProjection(["cosine", "euclidean", "l1", "linf"], aggregate=aggregate)
    prod.fit(anchors)
    mapped = np.load(save_npy(tmp_path, "X.npy", X), mmap_mode="r")
    with config_context(working_memory=TINY_MIB):
        R = prod.transform(mapped)
    assert_allclose(R, prod.transform(np.array(X)), rtol=1e-12, atol=1e-12)


def test_memmap_of_integers_is_converted_per_block(tmp_path, rng):
    X = rng.integers(-5, 5, size=(300, 4)).astype(np.int16)
    rel = RelativeProjection("l1").fit(X[:10])
    with config_context(working_memory=TINY_MIB):
        R = rel.transform(np.load(save_npy(tmp_path, "X.npy", X), mmap_mode="r"))
    assert R.dtype == np.float64
    assert_allclose(R, cdist(X, X[:10], "cityblock"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_memmap_non_finite_value_names_its_block(tmp_path, out_of_core_data, bad):
    X, anchors = out_of_core_data
    X = X.copy()
    X[613, 2] = bad
    mapped = np.load(save_npy(tmp_path, "X.npy", X), mmap_mode="r")
    rel = RelativeProjection().fit(anchors)
    what = "NaN" if np.isnan(bad) else "infinity"
    with config_context(working_memory=TINY_MIB):
        with pytest.raises(ValueError, match=rf"contains {what} in the block of rows") as info:
            rel.transform(mapped)
    start, stop, first = map(
        int, re.search(r"rows (\d+) to (\d+) \(first at row (\d+)", str(info.value)).groups()
    )
    assert first == 613 and 0 < start <= 613 <= stop < len(X) - 1


def test_memmap_width_mismatch_is_the_usual_error(tmp_path, out_of_core_data):
    X, anchors = out_of_core_data
    rel = RelativeProjection().fit(anchors[:, :4])
    mapped = np.load(save_npy(tmp_path, "X.npy", X), mmap_mode="r")
    message = "X has 6 features, but RelativeProjection is expecting 4"
    with pytest.raises(ValueError, match=message):
        rel.transform(mapped)


# ---------------------------------------------------------------------------------------------
# transform_npy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_npy_writes_the_projection(tmp_path, out_of_core_data, dtype):
    X, anchors = (a.astype(dtype) for a in out_of_core_data)
    source = save_npy(tmp_path, "X.npy", X)
    rel = RelativeProjection("l1").fit(anchors)
    shape = transform_npy(rel, source, tmp_path / "R.npy", working_memory=TINY_MIB, progress=False)
    R = np.load(tmp_path / "R.npy")
    assert shape == R.shape == (len(X), len(anchors))
    assert R.dtype == dtype
    assert_allclose(
        R,
        cdist(X.astype(np.float64), anchors.astype(np.float64), "cityblock"),
        **_tolerance(dtype),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R.npy", "X.npy"]


def test_transform_npy_product_and_any_transformer(tmp_path, out_of_core_data):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    prod = ProductProjection(["cosine", "linf"], normalize="l2").fit(anchors)
    transform_npy(prod, source, tmp_path / "P.npy", working_memory=TINY_MIB, progress=False)
    assert_allclose(np.load(tmp_path / "P.npy"), prod.transform(X), rtol=1e-12, atol=1e-12)
    scaler = make_pipeline(StandardScaler()).fit(X)
    transform_npy(scaler, source, tmp_path / "S.npy", working_memory=TINY_MIB, progress=False)
    assert_allclose(np.load(tmp_path / "S.npy"), (X - X.mean(0)) / X.std(0), atol=1e-12)


def test_transform_npy_fortran_ordered_input(tmp_path, out_of_core_data):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", np.asfortranarray(X))
    rel = RelativeProjection("euclidean").fit(anchors)
    transform_npy(rel, source, tmp_path / "R.npy", working_memory=TINY_MIB, progress=False)
    assert_allclose(np.load(tmp_path / "R.npy"), cdist(X, anchors), rtol=1e-12, atol=1e-12)


def test_transform_npy_blocks_stay_within_the_budget(tmp_path, out_of_core_data, monkeypatch):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    rel = RelativeProjection().fit(anchors)
    heights = []
    read_rows = io_npy._read_rows

    def recording(file, info, start, buffer):
        heights.append(len(buffer))
        return read_rows(file, info, start, buffer)

    monkeypatch.setattr(io_npy, "_read_rows", recording)
    budget_mib = 0.05
    transform_npy(rel, source, tmp_path / "R.npy", working_memory=budget_mib, progress=False)
    # One-row probe, then blocks whose input and output alone fit in the budget.
    blocks = heights[1:]
    assert len(blocks) > 2 and sum(blocks) == len(X)
    block_bytes = max(blocks) * 8 * (X.shape[1] + len(anchors))
    assert block_bytes <= budget_mib * 2**20


def test_transform_npy_progress(tmp_path, out_of_core_data, capsys):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    rel = RelativeProjection().fit(anchors)
    calls = []
    transform_npy(
        rel,
        source,
        tmp_path / "A.npy",
        working_memory=TINY_MIB,
        progress=lambda done, total: calls.append((done, total)),
    )
    done = [d for d, _ in calls]
    assert len(calls) > 2 and done == sorted(done) and done[-1] == len(X)
    assert {total for _, total in calls} == {len(X)}

    transform_npy(rel, source, tmp_path / "B.npy", progress=True)
    err = capsys.readouterr().err
    assert f"{len(X):,} / {len(X):,} rows (100%" in err
    transform_npy(rel, source, tmp_path / "C.npy", progress=False)
    assert capsys.readouterr() == ("", "")


def test_transform_npy_refuses_an_existing_output(tmp_path, out_of_core_data):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    target = save_npy(tmp_path, "R.npy", np.arange(3))
    rel = RelativeProjection().fit(anchors)
    with pytest.raises(FileExistsError, match="R.npy' exists; pass overwrite=True"):
        transform_npy(rel, source, target, progress=False)
    assert np.array_equal(np.load(target), np.arange(3))
    transform_npy(rel, source, target, overwrite=True, progress=False)
    assert_allclose(np.load(target), rel.transform(X), rtol=1e-12)
    with pytest.raises(ValueError, match="is the input file"):
        transform_npy(rel, source, source, overwrite=True, progress=False)


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros((20, 6), dtype=np.int64), "holds int64 values; out-of-core transforms need"),
        (np.zeros((20, 6), dtype=np.float16), "holds float16 values"),
        (
            np.zeros((20, 5)),
            r"has 5 features \(shape \(20, 5\)\), but RelativeProjection is "
            r"expecting 6 features as input \(the anchors have shape \(15, 6\)\)",
        ),
        (np.zeros(20), r"must hold a 2-D matrix .* shape \(20,\)"),
        (np.zeros((0, 6)), "holds no rows"),
    ],
)
def test_transform_npy_bad_input(tmp_path, out_of_core_data, array, message):
    rel = RelativeProjection().fit(out_of_core_data[1])
    source = save_npy(tmp_path, "X.npy", array)
    with pytest.raises(ValueError, match=message):
        transform_npy(rel, source, tmp_path / "R.npy", progress=False)
    assert not (tmp_path / "R.npy").exists()


def test_transform_npy_bad_files(tmp_path, out_of_core_data):
    rel = RelativeProjection().fit(out_of_core_data[1])
    np.savez(tmp_path / "X.npz", X=out_of_core_data[0])
    with pytest.raises(ValueError, match="is not a .npy array file"):
        transform_npy(rel, tmp_path / "X.npz", tmp_path / "R.npy", progress=False)
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="Cannot read .*text.npy' as a .npy array"):
        transform_npy(rel, tmp_path / "text.npy", tmp_path / "R.npy", progress=False)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        transform_npy(rel, tmp_path / "missing.npy", tmp_path / "R.npy", progress=False)
    source = save_npy(tmp_path, "X.npy", out_of_core_data[0])
    with pytest.raises(FileNotFoundError, match="directory of the output .* does not exist"):
        transform_npy(rel, source, tmp_path / "no" / "R.npy", progress=False)
    with pytest.raises(TypeError, match="'estimator' parameter of transform_npy"):
        transform_npy("cosine", source, tmp_path / "R.npy")


def test_transform_npy_non_finite_block_leaves_no_output(tmp_path, out_of_core_data):
    X, anchors = out_of_core_data
    X = X.copy()
    X[450, 0] = np.nan
    source = save_npy(tmp_path, "X.npy", X)
    rel = RelativeProjection().fit(anchors)
    message = r"NaN in the block of rows \d+ to \d+ \(first at row 450"
    with pytest.raises(ValueError, match=message):
        transform_npy(rel, source, tmp_path / "R.npy", working_memory=TINY_MIB, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy"]


@pytest.mark.parametrize("existing", [False, True])
def test_transform_npy_disk_full_mid_write(tmp_path, out_of_core_data, monkeypatch, existing):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    target = tmp_path / "R.npy"
    if existing:
        np.save(target, np.arange(4))
    rel = RelativeProjection().fit(anchors)
    write_block = io_npy._write_block
    calls = []

    def failing(file, block):
        calls.append(len(block))
        if len(calls) == 4:  # the header, then blocks: fail in the middle
            raise OSError(errno.ENOSPC, "No space left on device")
        write_block(file, block)

    monkeypatch.setattr(io_npy, "_write_block", failing)
    with pytest.raises(OSError, match=r"R.npy' failed after \d+ of 700 rows: the disk is full"):
        transform_npy(
            rel, source, target, overwrite=existing, working_memory=TINY_MIB, progress=False
        )
    expected = ["R.npy", "X.npy"] if existing else ["X.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected  # no partial file left
    if existing:
        assert np.array_equal(np.load(target), np.arange(4))  # the old output is intact


def test_transform_npy_temporary_file_cannot_be_created(tmp_path, out_of_core_data, monkeypatch):
    X, anchors = out_of_core_data
    source = save_npy(tmp_path, "X.npy", X)
    monkeypatch.setattr(io_atomic, "temporary_path", lambda path: tmp_path / "gone" / "t.part")
    with pytest.raises(OSError, match=r"Writing the output .*R.npy' failed after 0 of 700 rows"):
        transform_npy(RelativeProjection().fit(anchors), source, tmp_path / "R.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy"]
