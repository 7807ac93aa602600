"""Writes that never destroy (issue 18, part 5): every output goes to a temporary file next
to it and is moved into place only once complete.

A full disk is simulated by a write that puts part of the data down and then raises
``ENOSPC``, as a real one does; the oracle is the file system itself: the old file's bytes are
unchanged, nothing new appears under the output's name, and no temporary is left.
"""

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from _helpers import run_cli

import skinvariance.cli._compare as cli_compare
from skinvariance.io import transform_npy
from skinvariance.io._atomic import atomic_output
from skinvariance.projection import RelativeProjection

FAST = ["--invariances", "absolute,relative_cosine", "--metrics", "cka", "--anchors", "10",
        "--quiet"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    np.save(tmp_path / "a.npy", X)
    np.save(tmp_path / "b.npy", X @ np.linalg.qr(rng.normal(size=(4, 4)))[0])
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(int))
    np.save(tmp_path / "anchors.npy", X[:6])
    monkeypatch.chdir(tmp_path)
    return tmp_path


COMPARE = ["compare", "a.npy", "b.npy", "--labels", "y.npy", *FAST]


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _partial_then_full(real):
    """A writer that puts down the first 4,096 bytes, then finds the disk full."""

    def write(path, data):
        real(path, data[:4096])
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


# -- the helper --------------------------------------------------------------------------------


def test_atomic_output_moves_a_complete_file_into_place(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with atomic_output(target, overwrite=True) as temporary:
        assert temporary.parent == tmp_path and not temporary.exists()
        temporary.write_bytes(b"new content")
        assert target.read_bytes() == b"old"  # not yet
    assert target.read_bytes() == b"new content"
    assert _listing(tmp_path) == ["t.bin"]


def test_atomic_output_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_output(target, overwrite=True) as temporary:
        temporary.write_bytes(b"new")
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("overwrite", [False, True])
def test_atomic_output_error_keeps_the_old_file_and_no_temporary(tmp_path, overwrite):
    target = tmp_path / "t.bin"
    if overwrite:
        target.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        with atomic_output(target, overwrite=overwrite) as temporary:
            _partial_then_full(Path.write_bytes)(temporary, b"x" * 10_000)
    assert _listing(tmp_path) == (["t.bin"] if overwrite else [])
    if overwrite:
        assert target.read_bytes() == b"old"


def test_atomic_output_without_overwrite_never_replaces_a_new_file(tmp_path):
    target = tmp_path / "t.bin"
    with pytest.raises(FileExistsError):
        with atomic_output(target, overwrite=False) as temporary:
            temporary.write_bytes(b"ours")
            target.write_bytes(b"someone else's")  # appeared meanwhile
    assert target.read_bytes() == b"someone else's"
    assert _listing(tmp_path) == ["t.bin"]


@pytest.mark.parametrize("appeared", [False, True])
def test_atomic_output_without_hard_links(tmp_path, monkeypatch, appeared):
    """A file system without hard links: the name is reserved exclusively instead."""

    def no_link(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "t.bin"
    if appeared:
        with pytest.raises(FileExistsError):
            with atomic_output(target, overwrite=False) as temporary:
                temporary.write_bytes(b"ours")
                target.write_bytes(b"theirs")
        assert target.read_bytes() == b"theirs"
    else:
        with atomic_output(target, overwrite=False) as temporary:
            temporary.write_bytes(b"ours")
        assert target.read_bytes() == b"ours"
    assert _listing(tmp_path) == ["t.bin"]


# -- compare --output / --plot -----------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_full_disk_on_output_keeps_the_old_table(workdir, capsys, monkeypatch, overwrite):
    if overwrite:
        (workdir / "table.json").write_text('{"old": "table"}')
    before = _listing(workdir)
    monkeypatch.setattr(Path, "write_bytes", _partial_then_full(Path.write_bytes))
    argv = [*COMPARE, "--output", "table.json", *(["--overwrite"] if overwrite else [])]
    status, out, err = run_cli(argv, capsys)
    assert status == 2 and out == ""
    assert err == ("skinvariance compare: error: --output table.json: cannot write the file "
                   "(No space left on device)\n")
    assert _listing(workdir) == before  # no 0-byte file, no temporary
    if overwrite:
        assert json.loads((workdir / "table.json").read_text()) == {"old": "table"}


def test_full_disk_on_plot_keeps_the_old_png(workdir, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    old = b"\x89PNG\r\n\x1a\n" + b"old picture"
    (workdir / "bars.png").write_bytes(old)
    real = Figure.savefig

    def savefig(self, fname, **kwargs):
        real(self, fname, **kwargs)  # a complete PNG, then the disk fills up: cut it
        Path(fname).write_bytes(Path(fname).read_bytes()[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", savefig)
    status, out, err = run_cli([*COMPARE, "--plot", "bars.png", "--overwrite",
                                "--format", "csv"], capsys)
    assert status == 2
    assert "--plot bars.png: cannot write the file (No space left on device)" in err
    assert (workdir / "bars.png").read_bytes() == old
    assert _listing(workdir) == ["a.npy", "anchors.npy", "b.npy", "bars.png", "y.npy"]


@pytest.mark.parametrize("option, name", [("--output", "table.md"), ("--plot", "bars.png")])
def test_a_file_created_during_the_run_is_not_overwritten(workdir, capsys, monkeypatch,
                                                          option, name):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    real = cli_compare.compare_invariances

    def compare_then_someone_writes(*args, **kwargs):
        (workdir / name).write_bytes(b"written meanwhile")
        return real(*args, **kwargs)

    monkeypatch.setattr(cli_compare, "compare_invariances", compare_then_someone_writes)
    status, _, err = run_cli([*COMPARE, option, name], capsys)
    assert status == 2
    assert err == (f"skinvariance compare: error: {option} {name}: the file appeared during "
                   "the run; it was left as it is (pass --overwrite to replace it)\n")
    assert (workdir / name).read_bytes() == b"written meanwhile"
    assert not [p for p in workdir.iterdir() if p.name.endswith(".part")]


def test_plot_keeps_its_format_through_the_temporary(workdir, capsys):
    pytest.importorskip("matplotlib")
    assert run_cli([*COMPARE, "--plot", "bars.svg"], capsys)[0] == 0
    assert (workdir / "bars.svg").read_text().lstrip().startswith("<?xml")
    assert _listing(workdir) == ["a.npy", "anchors.npy", "b.npy", "bars.svg", "y.npy"]


# -- project -----------------------------------------------------------------------------------


def test_project_full_disk_keeps_the_old_output(workdir, capsys, monkeypatch):
    old = np.arange(3.0)
    np.save(workdir / "out.npy", old)
    before = _listing(workdir)

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    status, out, err = run_cli(["project", "anchors.npy", "a.npy", "out.npy", "--overwrite"],
                               capsys)
    assert status == 2
    assert "Writing the output 'out.npy' failed after 40 of 40 rows: the disk is full" in err
    np.testing.assert_array_equal(np.load(workdir / "out.npy"), old)
    assert _listing(workdir) == before


@pytest.mark.parametrize("step", ["create", "rename"])
def test_project_to_a_read_only_directory_names_the_output(workdir, capsys, monkeypatch, step):
    (workdir / "ro").mkdir()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    if step == "create":
        real_open = open

        def guarded_open(file, mode="r", *args, **kwargs):
            if "x" in mode:
                read_only()
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr("builtins.open", guarded_open)
    else:
        monkeypatch.setattr(os, "link", read_only)
    status, out, err = run_cli(["project", "anchors.npy", "a.npy", "ro/emb_rel.npy"], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert "'ro/emb_rel.npy'" in err and "Read-only file system" in err
    assert "a.npy" not in err  # the input is not at fault
    assert _listing(workdir / "ro") == []


def test_transform_npy_refuses_an_output_that_appeared(workdir, monkeypatch):
    projection = RelativeProjection().fit(np.load(workdir / "anchors.npy"))
    real_link = os.link

    def link_after_someone_wrote(source, target):
        Path(target).write_bytes(b"theirs")
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_someone_wrote)
    with pytest.raises(FileExistsError, match="'out.npy' appeared while it was being written"):
        transform_npy(projection, "a.npy", "out.npy", progress=False)
    assert (workdir / "out.npy").read_bytes() == b"theirs"
    assert not [p for p in workdir.iterdir() if p.name.endswith(".part")]


def test_project_refuses_an_output_that_appeared(workdir, capsys, monkeypatch):
    real_link = os.link

    def link_after_someone_wrote(source, target):
        Path(target).write_bytes(b"theirs")
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_someone_wrote)
    status, out, err = run_cli(["project", "anchors.npy", "a.npy", "out.npy"], capsys)
    assert status == 2
    assert err == ("skinvariance project: error: out.npy: the file appeared during the run; it "
                   "was left as it is (pass --overwrite to replace it)\n")
    assert (workdir / "out.npy").read_bytes() == b"theirs"
    assert not [p for p in workdir.iterdir() if p.name.endswith(".part")]
