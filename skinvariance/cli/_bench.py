"""``skinvariance bench``: the kernels' speed against scipy, scikit-learn and the matrix
product, as ratios measured in the same run."""

import time

from .._markdown import markdown_table
from ._common import (
    add_output_options,
    check_kernels,
    check_output,
    choices_list,
    comma_list,
    emit,
    output_format,
    positive_int,
    print_summary,
    seed,
    user_errors,
)
from ._kernel_speed import machine_description, run_kernel_benchmark
from ._render import render

__all__ = ["add_parser", "run"]


def add_parser(commands):
    """Add the ``bench`` subcommand to ``commands`` (an argparse subparsers object)."""
    bench = commands.add_parser(
        "bench",
        help="time the kernels against scipy, scikit-learn and the matrix product",
        description="Time each kernel's relative projection against scipy's cdist, "
        "scikit-learn's pairwise functions and the matrix product X @ A.T, in the same run, "
        "and print the ratios.",
    )
    bench.add_argument("--n-samples", type=positive_int, default=5_000, help="rows (5000)")
    bench.add_argument("--n-anchors", type=positive_int, default=1_280, help="anchors (1280)")
    bench.add_argument("--n-features", type=positive_int, default=768, help="features (768)")
    bench.add_argument(
        "--kernels",
        type=comma_list,
        default=["cosine", "euclidean", "l1", "linf"],
        metavar="KERNELS",
        help="comma-separated kernels (cosine,euclidean,l1,linf)",
    )
    bench.add_argument(
        "--dtype",
        type=choices_list(("float32", "float64")),
        default=["float32", "float64"],
        metavar="DTYPES",
        help="comma-separated dtypes (float32,float64)",
    )
    bench.add_argument("--repeat", type=positive_int, default=3, help="best of N timings (3)")
    bench.add_argument("--seed", type=seed, default=0, help="random seed (0)")
    add_output_options(bench)
    bench.set_defaults(handler=run)
    return bench


def run(args, messages):
    """Run ``skinvariance bench``; return the exit status."""
    check_kernels(args.kernels, "--kernels", aliases=False)
    fmt = output_format(args)
    output = check_output(args.output, args.overwrite, "--output")
    start = time.perf_counter()
    with user_errors():
        table = run_kernel_benchmark(
            args.n_samples,
            args.n_anchors,
            args.n_features,
            dtypes=tuple(args.dtype),
            kernels=tuple(args.kernels),
            repeat=args.repeat,
            random_state=args.seed,
            progress=messages.progress,
        )
    emit(render(table, fmt, markdown=markdown_table), output, overwrite=args.overwrite)
    summary = [
        f"{args.n_samples} samples x {args.n_anchors} anchors x {args.n_features} features on "
        f"{machine_description()}; took {time.perf_counter() - start:.1f} s.",
        "Ratios are measured in the same run: 'scipy x' and 'sklearn x' are how many times "
        "faster the projection is; 'vs matmul' is its time over the matrix product's.",
    ]
    print_summary(summary, fmt, output, args, messages)
    return 0
