"""The learned row of a comparison trained by L-BFGS against Adam, from 1,000 training rows.

    python benchmarks/bench_learned_solver.py
    python benchmarks/bench_learned_solver.py --rows 1400 2000 --seeds 3
    python benchmarks/bench_learned_solver.py --continuous --seeds 1 \
        --output learned_solver_continuous

``compare_invariances`` decodes its ``product_mlp_sum`` row by ``ProductClassifier(mlp_sum)``,
whose ``solver="auto"`` picks L-BFGS or Adam by the number of training rows. For each number of
rows (a quarter held out, so 1,400 rows train on 1,050), this compares that row alone with each
solver forced, with the library's defaults otherwise (``compare_invariances(spaces, y,
{row: (projection, decoder)}, metrics=["cka"], random_state=seed)``):

- five synthetic float32 spaces of 384 features (``bench_search.synthetic_spaces``, one draw
  per seed);
- the model zoo ``make_model_zoo("mnist_5k", random_state=0)`` (five classifiers differing in
  their initialisation; 2,500 held-out digits), a random subset of its rows per seed (needs the
  ``bench`` extra's MNIST loader, offline).

With ``--continuous``, the synthetic spaces alone, their target each row's class plus standard
normal noise (the learned row a ``ProductRegressor``; scores: negated mean squared error).

Reports the zero-shot stitching accuracy (mean over the ordered pairs of spaces), the
non-stitched accuracy and the seconds the row took, on the machine's defaults. Writes
benchmarks/results/learned_solver.md (and .csv). Never asserts anything.
"""

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scale_rows import report_header  # noqa: E402
from bench_search import synthetic_spaces  # noqa: E402

RESULTS = HERE / "results"
SOLVERS = ("lbfgs", "adam")


def learned_row(y, solver):
    """The comparison's ``product_mlp_sum`` row with its decoder's solver forced."""
    from sklearn.base import clone

    from skinvariance.stitching import default_invariances

    projection, decoder = default_invariances(y=y)["product_mlp_sum"]
    return {"product_mlp_sum": (projection, clone(decoder).set_params(solver=solver))}


def measure(data, spaces, y, seed):
    """One row per solver: stitching, non-stitched and seconds."""
    from sklearn.exceptions import ConvergenceWarning

    from skinvariance.stitching import compare_invariances

    rows = []
    for solver in SOLVERS:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            table = compare_invariances(spaces, y, learned_row(y, solver), metrics=["cka"],
                                        random_state=seed)
        rows.append({
            "data": data, "rows": len(y), "training rows": len(y) - math.ceil(0.25 * len(y)),
            "seed": seed, "solver": solver,
            "stitching": float(table["stitching_mean"].iloc[0]),
            "non_stitched": float(table["non_stitched_mean"].iloc[0]),
            "seconds": time.perf_counter() - start,
        })  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def synthetic_rows(sizes, seeds, continuous=False):
    rows = []
    for n in sizes:
        for seed in range(seeds):
            spaces, y = synthetic_spaces(5, n, 384, seed=seed)
            if continuous:
                y = y + np.random.default_rng(seed).normal(size=n)
            rows += measure("synthetic, continuous" if continuous else "synthetic", spaces, y,
                            seed)
    return rows


def zoo_rows(sizes, seeds):
    from skinvariance.datasets import make_model_zoo

    zoo = make_model_zoo("mnist_5k", factors="initialization", random_state=0)
    spaces, y = dict(zoo.spaces), np.asarray(zoo.target)
    rows = []
    for n in sizes:
        for seed in range(seeds):
            keep = np.sort(np.random.default_rng(seed).choice(len(y), min(n, len(y)), False))
            rows += measure("mnist_5k zoo", {k: v[keep] for k, v in spaces.items()}, y[keep],
                            seed)
    return rows


def summary(frame):
    """Per data and rows: the means over the seeds, Adam minus L-BFGS, and the time ratio."""
    mean = frame.groupby(["data", "rows", "training rows", "solver"], sort=False)[
        ["stitching", "non_stitched", "seconds"]].mean().unstack("solver")
    out = pd.DataFrame({
        "seeds": frame.groupby(["data", "rows", "training rows"], sort=False)["seed"].nunique(),
        "stitching, L-BFGS": mean[("stitching", "lbfgs")],
        "stitching, Adam": mean[("stitching", "adam")],
        "non-stitched, L-BFGS": mean[("non_stitched", "lbfgs")],
        "non-stitched, Adam": mean[("non_stitched", "adam")],
        "seconds, L-BFGS": mean[("seconds", "lbfgs")],
        "seconds, Adam": mean[("seconds", "adam")],
    })  # fmt: skip
    out["Adam / L-BFGS time"] = out["seconds, Adam"] / out["seconds, L-BFGS"]
    return out.reset_index().round(4)


def write(args, frame):
    from skinvariance._markdown import markdown_table

    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / f"{args.output}.csv", index=False)
    per_seed = frame.assign(**{c: frame[c].round(4) for c in ("stitching", "non_stitched")},
                            seconds=frame["seconds"].round(1))
    text = (
        report_header("The learned row's solver from 1,000 training rows",
                      "bench_learned_solver.py")
        + "The `product_mlp_sum` row of `compare_invariances` (the four kernels' product "
        "decoded by `ProductClassifier(mlp_sum)`, or `ProductRegressor` for a continuous "
        "target) alone, its solver forced to L-BFGS or to Adam (early stopping), the "
        "library's defaults otherwise, `random_state=seed`; a quarter of the rows held out. "
        "Stitching: zero-shot score (accuracy; negated mean squared error for a continuous "
        "target, the class plus standard normal noise), mean over the ordered pairs of five "
        "spaces; non-stitched: each decoder on its own space. Synthetic: five "
        "float32 spaces of 384 features (`bench_search.synthetic_spaces`, seed `seed`); "
        "mnist_5k zoo: `make_model_zoo(\"mnist_5k\", random_state=0)`, a random subset of "
        "its 2,500 held-out rows per seed. Seconds: the whole row, on the machine's defaults "
        "(L-BFGS fits in worker processes).\n\n"
        + markdown_table(summary(frame)) + "\n\nEvery run:\n\n" + markdown_table(per_seed)
        + "\n"
    )
    (RESULTS / f"{args.output}.md").write_text(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1400, 2000],
                        help="rows per space, a quarter held out (1400 2000)")
    parser.add_argument("--seeds", type=int, default=3, help="synthetic draws (3)")
    parser.add_argument("--zoo-seeds", type=int, default=2, help="zoo subsets (2)")
    parser.add_argument("--continuous", action="store_true",
                        help="a continuous target on the synthetic spaces (no zoo)")
    parser.add_argument("--output", default="learned_solver",
                        help="the results' file name in benchmarks/results (no suffix)")
    args = parser.parse_args()
    rows = synthetic_rows(args.rows, args.seeds, args.continuous)
    if args.zoo_seeds and not args.continuous:
        rows += zoo_rows(args.rows, args.zoo_seeds)
    write(args, pd.DataFrame(rows))


if __name__ == "__main__":
    main()
