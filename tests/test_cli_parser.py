"""The ``skinvariance`` command itself: its parser's one-line errors and its entry points."""

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from skinvariance.cli import main


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["compare", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["compare", "--anchors", "-1"], "argument --anchors: expected an integer of at least 0"),
        (["compare", "--factors", "depth"], "argument --factors: unknown value 'depth'"),
        (["compare", "--n-models", "1"], "argument --n-models: expected an integer of at least 2"),
        (["bench", "--dtype", "float16"], "argument --dtype: unknown value 'float16'"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
    ],
)
def test_bad_options_are_one_line_and_status_2(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err


def test_console_script_and_module_entry_points():
    (script,) = entry_points(group="console_scripts", name="skinvariance")
    assert script.value == "skinvariance.cli:main"
    done = subprocess.run(
        [sys.executable, "-m", "skinvariance", "compare", "missing.npy", "x.npy", "--labels", "y"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "skinvariance compare: error: missing.npy: no such file\n"
