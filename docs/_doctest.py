"""Run the pages' code as doctests, each printed decimal checked up to its last digit.

``python docs/_doctest.py FILE.rst ...`` runs the ``>>>`` examples of each file, as
``python -m doctest -o ELLIPSIS -o NORMALIZE_WHITESPACE`` does, with one difference: a
decimal number of the expected output matches a printed one that differs from it by at most
one unit of its last digit (``0.43`` matches ``0.44``, ``0.960`` matches ``0.959``), because
another CPU's BLAS kernels move the last bits of a fit, and a score that sits near a rounding
edge then prints one unit higher or lower. Everything else must match as written: the text,
the integers (shapes, counts, labels), the number of decimals, and every digit but the last.
docs/code_layout.rst ("Numbers that hold on any machine") says how to write such outputs.

Exit status 1 if an example fails, 2 on a usage error.
"""

import doctest
import re
import sys
from pathlib import Path

# A decimal number as Python, NumPy and pandas print it: 0.43, -1.5, 2.85e-05, 1e+300 is
# left out (no point), and so are integers, which must match exactly.
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.(\d+)(?:e[+-]?\d+)?(?![\w.])")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _last_digit_unit(text):
    """One unit of the last decimal written in ``text`` (``"0.43"`` -> 0.01)."""
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_match(want, got):
    """Whether the decimal ``got`` is ``want`` give or take one unit of ``want``'s last digit
    (with the same number of decimals, so that a shorter or longer print still fails)."""
    if len(DECIMAL.match(want).group(1)) != len(DECIMAL.match(got).group(1)):
        return False
    # 1.5 units, not 1: 0.44 - 0.43 is 0.010000000000000009 in binary floating point.
    return abs(float(want) - float(got)) <= 1.5 * _last_digit_unit(want)


class LastDigitChecker(doctest.OutputChecker):
    """doctest's checker, letting the last digit of each printed decimal move by one."""

    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        wanted = [m.group() for m in DECIMAL.finditer(want)]
        printed = [m.group() for m in DECIMAL.finditer(got)]
        if not wanted or len(wanted) != len(printed):
            return False
        if not all(numbers_match(w, g) for w, g in zip(wanted, printed)):
            return False
        # The rest must match: each number replaced by the expected one, then compared as is.
        numbers = iter(wanted)
        return super().check_output(
            want, DECIMAL.sub(lambda _: next(numbers), got), optionflags
        )


def run(paths):
    """Run the examples of every file in ``paths``; return the number of failures."""
    failures = 0
    parser = doctest.DocTestParser()
    for path in map(Path, paths):
        test = parser.get_doctest(
            path.read_text(encoding="utf-8"), {"__name__": "__main__"}, path.name, str(path), 0
        )
        runner = doctest.DocTestRunner(checker=LastDigitChecker(), optionflags=FLAGS)
        result = runner.run(test)
        failures += result.failed
    return failures


def main(argv):
    if len(argv) < 2:
        print(f"usage: python {argv[0]} FILE.rst ...", file=sys.stderr)
        return 2
    return 1 if run(argv[1:]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
