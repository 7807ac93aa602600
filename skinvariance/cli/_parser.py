"""The argument parser of the ``skinvariance`` command: one sub-parser per subcommand."""

from .. import __version__
from . import _bench, _compare, _project
from ._common import Parser

__all__ = ["SUBCOMMANDS", "build_parser"]

#: The subcommands, in help order; each module adds its sub-parser and sets its handler.
SUBCOMMANDS = (_compare, _bench, _project)


def build_parser():
    """The argument parser of the ``skinvariance`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Its parsed arguments carry ``handler(args, messages)``, the subcommand to run.
    """
    parser = Parser(
        prog="skinvariance",
        description="Latent space communication: compare invariances between latent spaces, "
        "stitch them zero-shot, time the kernels.",
    )
    parser.add_argument("--version", action="version", version=f"skinvariance {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for subcommand in SUBCOMMANDS:
        subcommand.add_parser(commands)
    return parser
