"""The pages' doctest checker (docs/_doctest.py): a printed decimal may differ from the page by
one unit of its last digit, as on another CPU, and nothing else may differ."""

import doctest
import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "docs" / "_doctest.py"
_SPEC = importlib.util.spec_from_file_location("docs_doctest", _PATH)
docs_doctest = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(docs_doctest)

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
TABLE = """\
                    stitching   std
relative_l1              {:s}  {:s}
"""


@pytest.mark.parametrize(
    "want, got, ok",
    [
        ("0.43", "0.44", True),  # the flip seen between two machines
        ("0.44", "0.43", True),
        ("0.960", "0.959", True),
        ("-0.024", "-0.025", True),
        ("2.85e-05", "2.86e-05", True),
        ("0.43", "0.45", False),  # two units: a real change
        ("0.960", "0.958", False),
        ("0.43", "0.4", False),  # another number of decimals
        ("0.43", "0.430", False),
        ("0.43", "1.43", False),
    ],
)
def test_numbers_match_within_one_unit_of_the_last_digit(want, got, ok):
    assert docs_doctest.numbers_match(want, got) is ok
    checker = docs_doctest.LastDigitChecker()
    assert checker.check_output(TABLE.format(want, "0.26"), TABLE.format(got, "0.26"),
                                FLAGS) is ok


@pytest.mark.parametrize(
    "want, got",
    [
        ("(899, 32)\n", "(899, 33)\n"),  # integers match exactly
        ("'affine_ridge' 0.96\n", "'orthogonal' 0.96\n"),  # so does the text
        ("0.43 0.26\n", "0.44\n"),  # and the count of numbers
    ],
)
def test_everything_but_the_last_digit_must_match(want, got):
    assert not docs_doctest.LastDigitChecker().check_output(want, got, FLAGS)


def test_run_reports_a_failure_and_passes_a_moved_digit(tmp_path, capsys):
    moved = tmp_path / "moved.rst"
    moved.write_text("Text.\n\n>>> round(0.436, 2)\n0.43\n")
    wrong = tmp_path / "wrong.rst"
    wrong.write_text(">>> round(0.436, 2)\n0.41\n")
    assert docs_doctest.run([moved]) == 0
    assert docs_doctest.run([wrong]) == 1
    assert "0.41" in capsys.readouterr().out
