"""The ``skinvariance`` command.

``skinvariance compare`` compares invariances on latent spaces read from files (or, with no
file, on a model zoo trained on the fly) and prints the table of
:func:`~skinvariance.compare_invariances`; ``skinvariance bench`` prints the kernel speed table;
``skinvariance project`` projects an on-disk ``.npy`` matrix onto anchors out of core
(:func:`~skinvariance.io.transform_npy`).
Run ``skinvariance COMMAND --help`` for the options.

Conventions: tables go to standard output (or ``--output``); progress and messages go to
standard error, progress only when standard error is a terminal and ``--quiet`` is not given.
With ``--format csv`` or ``json``, standard output carries the table alone. A user mistake (a
missing or unreadable file, mismatched rows, an unknown kernel, an existing output without
``--overwrite``) prints one line naming the file or option and exits with status 2.
"""

import sys

from ._common import Messages, UsageError
from ._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv=None):
    """Run the ``skinvariance`` command; return its exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for a user mistake (reported in one line on standard error).

    Examples
    --------
    A user mistake is reported in one line on standard error, with exit status 2:

    >>> from skinvariance.cli import main
    >>> main(["compare", "missing.npy", "other.npy", "--labels", "y.npy"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    messages = Messages(args.quiet)
    try:
        return args.handler(args, messages)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
