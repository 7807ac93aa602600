"""``skinvariance project``: an on-disk ``.npy`` matrix projected onto anchors, out of core
(:func:`~skinvariance.io.transform_npy`)."""

import time
from pathlib import Path

from .._compat import InvalidParameterError
from .._validation import DataError
from ..io import read_matrix, transform_npy
from ..io._files import check_input_file
from ..projection import RelativeProjection
from ._common import UsageError, check_kernels, check_output, positive_int, user_errors

__all__ = ["add_parser", "run"]


def add_parser(commands):
    """Add the ``project`` subcommand to ``commands`` (an argparse subparsers object)."""
    project = commands.add_parser(
        "project",
        help="project an on-disk .npy matrix onto anchors, out of core",
        description="Project the rows of IN (a float32 or float64 .npy matrix, read one block "
        "at a time, never whole) onto the anchors in ANCHORS with a relative kernel, and "
        "write the (n_samples, n_anchors) result to OUT (.npy, the input's dtype). OUT is "
        "written to a temporary file renamed on success: a failed run leaves no OUT behind.",
    )
    project.add_argument(
        "anchors_file", metavar="ANCHORS", help="the anchors, a .npy matrix (anchors x features)"
    )
    project.add_argument("input_file", metavar="IN", help="the samples, a .npy matrix")
    project.add_argument("output_file", metavar="OUT", help="where to write the .npy result")
    project.add_argument(
        "--kernel",
        default="cosine",
        help="relative kernel: cosine, euclidean, l1, linf, angular, minkowski or an alias "
        "(default cosine)",
    )
    project.add_argument(
        "--working-memory",
        type=positive_int,
        metavar="MIB",
        help="memory budget of one block of rows, in MiB (default: scikit-learn's "
        "working_memory, 1024)",
    )
    project.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    project.add_argument(
        "--quiet", action="store_true", help="no progress and no messages on standard error"
    )
    project.set_defaults(handler=run)
    return project


def run(args, messages):
    """Run ``skinvariance project``; return the exit status."""
    check_kernels([args.kernel], "--kernel")
    anchors_path, input_path = Path(args.anchors_file), Path(args.input_file)
    output = Path(args.output_file)
    with user_errors():
        check_input_file(input_path, (".npy",), f"{input_path}")
        anchors = read_matrix(anchors_path, "the anchors")
    if output.suffix.lower() != ".npy":
        raise UsageError(
            f"{output}: unsupported file type {output.suffix or '(none)'!r} for "
            "the output; expected .npy"
        )
    check_output(output, args.overwrite, None)
    with user_errors(f"{anchors_path}: "):
        projection = RelativeProjection(args.kernel).fit(anchors)
    start = time.perf_counter()
    try:
        shape = transform_npy(projection, input_path, output, overwrite=args.overwrite,
                              working_memory=args.working_memory,
                              progress=messages.progress_enabled)
    except FileExistsError:
        raise UsageError(
            f"{output}: the file appeared during the run; it was left as it is (pass "
            "--overwrite to replace it)"
        ) from None
    except (DataError, InvalidParameterError, OSError) as exc:
        # An OSError's own text leads with "[Errno N]": its strerror is the message.
        message = (getattr(exc, "strerror", None) or str(exc)).splitlines()[0]
        # A failed write is about OUT, a reading or data error about IN.
        culprit = output if isinstance(exc, OSError) and not _reading(exc, input_path) \
            else input_path
        named = str(input_path) in message or str(output) in message
        raise UsageError(message if named else f"{culprit}: {message}") from None
    messages.info(
        f"Wrote {output}: {shape[0]:,} rows x {shape[1]:,} {args.kernel} anchor values in "
        f"{time.perf_counter() - start:.1f} s."
    )
    return 0


def _reading(exc, input_path):
    """Whether an OSError is about the input file (e.g. it vanished or cannot be opened)."""
    filename = getattr(exc, "filename", None)
    return filename is not None and Path(filename) == input_path
