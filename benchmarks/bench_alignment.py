"""Speed of ``AffineAlignment(alpha="auto")`` against scikit-learn's ``RidgeCV`` on one grid.

    python benchmarks/bench_alignment.py

For each shape (anchors x source features x target features, float64, one BLAS thread), in one
run: ``AffineAlignment(alpha="auto")`` (its own leave-one-out from one SVD; default grid of 29
strengths), ``RidgeCV`` on the same grid (``gcv_mode=None``, which picks the eigendecomposition
of the smaller Gram matrix, and ``gcv_mode="svd"``), and ``AffineAlignment`` with one fixed
strength (the cost of a single ridge fit). Each time is the best of ``--repeat`` runs; the
table reports them as ratios to ``RidgeCV``'s, and whether the chosen strengths agree and how
far the coefficients are apart. The machine's load (``os.getloadavg``) is recorded: timings on a
shared machine are only comparable within one run.

Writes ``benchmarks/results/alignment.md`` (``--output``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from threadpoolctl import threadpool_limits

from skinvariance import AffineAlignment
from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description

RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = [(300, 64, 64), (300, 768, 768), (1280, 768, 768), (1280, 1280, 1280)]


def _best(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n, d, t, repeat, rng):
    """One row: the times and the agreement of the choices for one shape."""
    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, t)) / np.sqrt(d) + rng.normal(size=(n, t))
    ours = AffineAlignment(alpha="auto").fit(X, Y)
    grid = ours.alphas_
    reference = RidgeCV(alphas=grid).fit(X, Y)
    times = {
        "auto": _best(lambda: AffineAlignment(alpha="auto").fit(X, Y), repeat),
        "RidgeCV": _best(lambda: RidgeCV(alphas=grid).fit(X, Y), repeat),
        "RidgeCV svd": _best(lambda: RidgeCV(alphas=grid, gcv_mode="svd").fit(X, Y), repeat),
        "fixed": _best(lambda: AffineAlignment(alpha=ours.alpha_).fit(X, Y), repeat),
    }
    return {
        "anchors": n, "source features": d, "target features": t,
        "auto (s)": times["auto"], "RidgeCV (s)": times["RidgeCV"],
        "auto / RidgeCV": times["auto"] / times["RidgeCV"],
        "auto / RidgeCV svd": times["auto"] / times["RidgeCV svd"],
        "auto / one fixed-alpha fit": times["auto"] / times["fixed"],
        "same alpha": bool(ours.alpha_ == reference.alpha_),
        "largest coef difference": float(np.abs(ours.coef_ - reference.coef_).max()),
    }  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of (3)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    load_start = os.getloadavg()[0]
    with threadpool_limits(limits=1, user_api="blas"):
        rows = []
        for shape in SHAPES:
            print(f"... {shape}", file=sys.stderr, flush=True)
            rows.append(measure(*shape, args.repeat, rng))
    command = "python benchmarks/bench_alignment.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = (
        "# Leave-one-out ridge: AffineAlignment(alpha=\"auto\") and RidgeCV\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine_description()}; one BLAS thread; load average (1 min) "
        f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end  \n"
        f"Best of {args.repeat}; 29 strengths (the default grid); float64.\n\n"
        f"{markdown_table(pd.DataFrame(rows))}\n"
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "alignment.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
