"""Kernel speed: RelativeProjection against scipy, scikit-learn and the matrix product.

    python benchmarks/bench_kernels.py                  # the paper's shape: 20,000 x 1,280 x 768
    python benchmarks/bench_kernels.py --quick          # 2,000 samples, for a quick look

Writes benchmarks/results/kernels.md (and .csv): times in seconds and ratios measured in the
same run. Never asserts anything: speed is reported, not tested.
"""

import argparse
import sys
import time
from pathlib import Path

from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description, run_kernel_benchmark

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--anchors", type=int, default=1_280)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 samples")
    parser.add_argument("--output", type=Path, default=RESULTS / "kernels")
    args = parser.parse_args(argv)
    samples = 2_000 if args.quick else args.samples

    start = time.perf_counter()
    table = run_kernel_benchmark(
        samples, args.anchors, args.features, repeat=args.repeat,
        progress=lambda message: print(f"... {message}", file=sys.stderr, flush=True),
    )
    elapsed = time.perf_counter() - start
    command = "python benchmarks/bench_kernels.py " + " ".join(argv or sys.argv[1:])
    text = (
        f"# Kernel speed\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine_description()}  \n"
        f"Shape: {samples:,} samples x {args.anchors:,} anchors x {args.features} features; "
        f"best of {args.repeat} (references: best of 1); total {elapsed:.0f} s.\n\n"
        f"`vs matmul`: projection time / `X @ A.T` time. `scipy x`, `sklearn x`: how many times "
        f"faster the projection is than `scipy.spatial.distance.cdist` and "
        f"`sklearn.metrics.pairwise_distances` (`cosine_similarity` for cosine). "
        f"`extra MiB`: peak memory of one transform beyond its output.\n\n"
        f"{markdown_table(table)}\n"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(text)
    table.to_csv(args.output.with_suffix(".csv"), index=False)
    print(text)


if __name__ == "__main__":
    main()
