"""The spectral map against seeded refinement, with few known pairs.

    python benchmarks/bench_spectral.py [--quick] [--speed]

The honest protocol of ``bench_anchors.py`` (its ``Split``: train rows of X and of Y shuffled
independently, the known pairs the only link), on its datasets (the digits and MNIST-5k
architecture zoos, the synthetic spaces), with 1, 5, 10 and 30 known pairs. For each method —
``match_spaces(method="seeded")``, the spectral map's own pairs (``spectral_pairs``: mutual
nearest neighbours of ``Phi_X C^T`` and ``Phi_Y``), and ``match_spaces(method="spectral")``
(those pairs starting the seeded refinement) — it reports the pair precision (exact and
same-class; known pairs excluded), the stitching of an affine alignment (``alpha="auto"``)
fitted on the pairs, and the time.

Writes ``benchmarks/results/spectral.md`` and ``spectral.csv`` (``--output``); ``--quick``
takes one pair of spaces per dataset. ``--speed`` instead times seeded and spectral matching on
2,000 and 10,000 rows of the synthetic spaces (384 features, 5 known pairs) and writes
``spectral_speed.md``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from skinvariance import match_spaces
from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description
from skinvariance.matching._match import _single
from skinvariance.matching._seeded import centred_units
from skinvariance.matching._spectral import spectral_pairs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_anchors import Split, measure_all  # noqa: E402
from bench_search import synthetic_spaces  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COUNTS = (1, 5, 10, 30)


def _spectral_alone(X, Y, known):
    U, V = centred_units(_single(X)), centred_units(_single(Y))
    return spectral_pairs(U, V, known)[0]


METHODS = {
    "seeded": lambda X, Y, known: match_spaces(X, Y, known, method="seeded"),
    "spectral map alone": _spectral_alone,
    "spectral -> seeded": lambda X, Y, known: match_spaces(X, Y, known, method="spectral"),
}


def measure(dataset, source, target, X, Y, y, seed):
    split = Split(X, Y, y, seed)
    rows = []
    for k in COUNTS:
        known = split.known(k)
        for method, find in METHODS.items():
            start = time.perf_counter()
            pairs = find(split.X_train, split.Y_train, known)
            seconds = time.perf_counter() - start
            exact, same_class = split.precision(pairs, k)
            rows.append({
                "dataset": dataset, "source": source, "target": target, "known pairs": k,
                "method": method, "pairs found": len(pairs) - k, "exact precision": exact,
                "same-class precision": same_class,
                "stitching (affine)": split.stitch("affine", pairs) if len(pairs) > 1
                else np.nan,
                "seconds": seconds,
            })  # fmt: skip
            print(f"... {dataset} {source} -> {target} k={k} {method}: {len(pairs) - k} pairs, "
                  f"precision {exact:.2f} / {same_class:.2f}, stitching "
                  f"{rows[-1]['stitching (affine)']:.3f}, {seconds:.1f} s",
                  file=sys.stderr, flush=True)
    return rows


def speed(width=384, k=5):
    lines = []
    for n_rows in (2_000, 10_000):
        spaces, _ = synthetic_spaces(n_spaces=2, n_samples=n_rows, width=width)
        X, Y = spaces["model_0"], spaces["model_1"]
        order = np.random.default_rng(0).permutation(n_rows)
        Y, truth = Y[order], np.argsort(order)
        known = np.column_stack([np.arange(k), truth[:k]])
        for method in ("seeded", "spectral"):
            load = os.getloadavg()[0]
            start = time.perf_counter()
            pairs = match_spaces(X, Y, known, method=method)
            seconds = time.perf_counter() - start
            exact = float(np.mean(truth[pairs[k:, 0]] == pairs[k:, 1]))
            lines.append(f"- {n_rows:,} x {n_rows:,} rows, method={method!r}: {seconds:.1f} s "
                         f"(load average {load:.1f} before), {len(pairs)} pairs, exact "
                         f"precision {exact:.3f}")
            print(lines[-1], file=sys.stderr, flush=True)
    return (f"match_spaces with {k} known pairs, rows of {width} features:\n\n"
            + "\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair of spaces per dataset")
    parser.add_argument("--speed", action="store_true", help="only time 2,000 and 10,000 rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    command = "python benchmarks/bench_spectral.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    args.output.mkdir(parents=True, exist_ok=True)
    header = f"Command: `{command.strip()}`  \nMachine: {machine_description()}"
    if args.speed:
        text = f"# Seeded and spectral matching at scale\n\n{header}\n\n{speed()}"
        (args.output / "spectral_speed.md").write_text(text)
        print(text)
        return
    load_start = os.getloadavg()[0]
    table = measure_all(measure, args.quick, args.seed)
    table.to_csv(args.output / "spectral.csv", index=False)
    columns = ["pairs found", "exact precision", "same-class precision",
               "stitching (affine)", "seconds"]
    means = table.groupby(["dataset", "known pairs", "method"], sort=False)[columns].mean()
    text = (
        "# The spectral map against seeded refinement\n\n"
        f"{header}; load average (1 min) {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end  \n"
        "The mean over the ordered pairs of spaces (per pair: `spectral.csv`); precision of "
        "the pairs found, known pairs excluded; zero-shot stitching accuracy of an affine "
        "alignment fitted on the pairs (test rows).\n\n"
        f"{markdown_table(means.reset_index())}\n"
    )
    (args.output / "spectral.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
