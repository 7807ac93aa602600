"""What every subcommand shares: the one-line usage error, messages on standard error,
option types, output files and the table's summary lines."""

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from .._compat import InvalidParameterError
from .._validation import DataError, check_output_path
from ..io._atomic import atomic_output
from ..kernels import available_kernels
from ..metrics import available_measures

__all__ = [
    "FORMATS",
    "Messages",
    "Parser",
    "UsageError",
    "add_output_options",
    "at_least_two",
    "cannot_write",
    "check_kernels",
    "check_measures",
    "check_output",
    "choices_list",
    "comma_list",
    "emit",
    "n_jobs",
    "non_negative_int",
    "output_format",
    "positive_int",
    "print_summary",
    "seed",
    "user_errors",
    "write_file",
]

FORMATS = ("markdown", "csv", "json")
_FORMAT_BY_SUFFIX = {".md": "markdown", ".csv": "csv", ".json": "json"}


class UsageError(Exception):
    """A mistake in the command line or its files: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the option (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class Messages:
    """Progress (terminal only, not --quiet) and messages (not --quiet) on standard error."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.progress_enabled = not quiet and sys.stderr.isatty()

    def progress(self, message):
        if self.progress_enabled:
            print(message, file=sys.stderr, flush=True)

    def info(self, message):
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


@contextmanager
def user_errors(prefix=""):
    """Report the library's errors about the user's data or parameters as usage errors.

    Only :class:`~skinvariance._validation.DataError` and scikit-learn's
    ``InvalidParameterError`` are user mistakes; any other exception is a bug and keeps its
    traceback.
    """
    try:
        yield
    except (DataError, InvalidParameterError) as exc:
        message = str(exc).splitlines()[0]
        raise UsageError(f"{prefix}{message}") from None


# -- option types ------------------------------------------------------------------------------


def comma_list(value):
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {value!r}")
    return items


def choices_list(choices):
    def parse(value):
        items = comma_list(value)
        for item in items:
            if item not in choices:
                raise argparse.ArgumentTypeError(
                    f"unknown value {item!r}; choose among {', '.join(choices)}"
                )
        return items

    return parse


def check_kernels(names, option, *, aliases=True):
    """Raise a usage error naming ``option`` if a name in ``names`` is not a kernel."""
    known = set(available_kernels(aliases=aliases))
    for name in names:
        if name not in known:
            raise UsageError(
                f"{option}: unknown kernel {name!r}; choose among {', '.join(sorted(known))}"
            )
    return names


def check_measures(names, option):
    """Raise a usage error naming ``option`` if a name in ``names`` is not a measure."""
    known = available_measures(aliases=True)
    for name in names:
        if name not in known:
            raise UsageError(
                f"{option}: unknown measure {name!r}; choose among {', '.join(known)}"
            )
    return names


def _integer(value, expected, accept):
    """``int(value)`` if ``accept`` says so, else argparse's error (which names the option)."""
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not accept(number):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
    return number


def positive_int(value):
    return _integer(value, "a positive integer", lambda n: n >= 1)


def non_negative_int(value):
    return _integer(value, "an integer of at least 0", lambda n: n >= 0)


def n_jobs(value):
    """joblib's ``n_jobs``: a positive count, or a negative one counting down from all the
    processors (-1: all); 0 means nothing."""
    return _integer(value, "a nonzero integer (-1 for all processors)", lambda n: n != 0)


def seed(value):
    """A seed of numpy's ``RandomState``."""
    return _integer(value, f"an integer from 0 to {2**32 - 1}", lambda n: 0 <= n < 2**32)


def at_least_two(value):
    number = positive_int(value)
    if number < 2:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 2, got {value!r}")
    return number


# -- output ------------------------------------------------------------------------------------


def add_output_options(parser):
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="table format (default: from the --output suffix .md/.csv/.json, else markdown); "
        "with csv or json, standard output carries the table alone",
    )
    parser.add_argument("--output", metavar="FILE", help="write the table to FILE")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output/--plot file"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress and no messages on standard error"
    )


def check_output(path, overwrite, option):
    """The output file given to ``option`` (None: a positional argument), or a usage error
    saying why it cannot be written."""
    if path is None:
        return None
    path = Path(path)
    where = f"{option} {path}" if option else f"{path}"
    try:
        return check_output_path(path, overwrite=overwrite)
    except FileExistsError:
        raise UsageError(f"{where}: the file exists; pass --overwrite to replace it") from None
    except IsADirectoryError:
        raise UsageError(f"{where}: is a directory") from None
    except FileNotFoundError:
        raise UsageError(f"{where}: no such directory {path.parent}") from None


def output_format(args):
    if args.format is not None:
        return args.format
    if args.output is not None:
        return _FORMAT_BY_SUFFIX.get(Path(args.output).suffix.lower(), "markdown")
    return "markdown"


def emit(text, output, option="--output", *, overwrite=False):
    """Write ``text`` to standard output, or to the ``output`` file (given to ``option``)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with write_file(output, overwrite, option) as temporary:
        temporary.write_bytes(text.encode("utf-8"))


@contextmanager
def write_file(path, overwrite, option=None):
    """Yield a temporary path to write ``path``'s content to; it becomes ``path`` only once
    complete (:func:`~skinvariance.io._atomic.atomic_output`). A failure is a usage error
    naming the file; the old file, if any, is left intact and no temporary remains."""
    try:
        with atomic_output(path, overwrite=overwrite) as temporary:
            yield temporary
    except FileExistsError:
        where = f"{option} {path}" if option else f"{path}"
        raise UsageError(
            f"{where}: the file appeared during the run; it was left as it is "
            "(pass --overwrite to replace it)"
        ) from None
    except OSError as exc:
        raise cannot_write(path, exc, option) from None


def cannot_write(path, exc, option=None):
    """The usage error of a write that failed: it names the file (and the option) and says
    *write*."""
    reason = exc.strerror or str(exc)
    where = f"{option} {path}" if option else f"{path}"
    return UsageError(f"{where}: cannot write the file ({reason})")


def print_summary(lines, fmt, output, args, messages):
    """Summary lines after the table: on standard output after a Markdown table printed there,
    else on standard error (so that csv/json output stays machine-readable)."""
    if fmt == "markdown" and output is None:
        if not args.quiet:
            print("\n" + "\n".join(lines))
    else:
        for line in lines:
            messages.info(line)
