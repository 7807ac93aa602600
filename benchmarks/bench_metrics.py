"""Speed and memory of the similarity measures against reference implementations.

Three comparisons, each measured in one run on the same machine, reported as ratios:

1. ``linear_cka`` (feature-space form, blocked) against the textbook formula
   ``HSIC = tr(K H L H)`` with explicit n x n Gram and centring matrices, at the largest n the
   latter holds within ``--gram-budget-gb``; then ``linear_cka`` alone at ``--n-cka`` rows.
2. ``knn_jaccard`` against the same Jaccard index computed from scikit-learn's
   ``NearestNeighbors(algorithm="brute", metric="cosine")`` (itself chunked), at ``--n-knn``.
3. ``mean_reciprocal_rank`` against a full n x n cosine-similarity matrix, at the largest n
   that matrix holds within ``--gram-budget-gb``; then ``mean_reciprocal_rank`` alone at
   ``--n-knn``.

Peak memory is the peak of Python-tracked allocations (``tracemalloc``, which numpy reports
to) above what was allocated before the call; BLAS work buffers are not included. The inputs
are float32 (the usual dtype of stored embeddings) and exist before the measurement starts.

Run ``python benchmarks/bench_metrics.py`` for a quick small run, or, at the sizes of the
issue, ``python benchmarks/bench_metrics.py --n-cka 50000 --n-knn 50000``. The Markdown
table is printed and written to ``benchmarks/results/metrics.md`` (``--output``).
"""

import argparse
import os
import platform
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.neighbors import NearestNeighbors

from skinvariance.metrics import knn_jaccard, linear_cka, mean_reciprocal_rank

MIB = 2**20


def measure(func, *args, **kwargs):
    """Return ``(result, seconds, peak MiB)`` of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    result = func(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return result, seconds, peak / MIB


def textbook_linear_cka(X, Y):
    """CKA with n x n Gram matrices and an explicit centring matrix H = I - 11'/n."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    n = X.shape[0]
    H = np.eye(n) - 1.0 / n
    Kc = H @ (X @ X.T) @ H
    Lc = H @ (Y @ Y.T) @ H
    return np.sum(Kc * Lc) / np.sqrt(np.sum(Kc * Kc) * np.sum(Lc * Lc))


def sklearn_knn_jaccard(X, Y, k):
    """Jaccard@k from scikit-learn's brute-force cosine neighbours (self left out)."""

    def neighbours(Z):
        Z = Z.astype(np.float64)  # the same precision as knn_jaccard, so ties agree
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine").fit(Z)
        return nn.kneighbors(return_distance=False)  # no query: each point is not its own

    nx, ny = neighbours(X), neighbours(Y)
    both = np.concatenate([nx, ny], axis=1)
    both.sort(axis=1)
    inter = np.count_nonzero(both[:, 1:] == both[:, :-1], axis=1)
    return float(np.mean(inter / (2 * k - inter)))


def full_matrix_mrr(X, Y):
    """MRR from the full n x n cosine-similarity matrix (pessimistic ties)."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    S = Xn.astype(np.float64) @ Yn.T.astype(np.float64)
    ranks = np.count_nonzero(S >= np.diag(S)[:, None], axis=1)
    return float(np.mean(1.0 / ranks))


def make_pair(n, d_x, d_y, seed):
    """Two related float32 spaces: Y is a noisy linear map of X."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d_x), dtype=np.float32)
    W = rng.standard_normal((d_x, d_y), dtype=np.float32) / np.sqrt(d_x)
    Y = X @ W + rng.standard_normal((n, d_y), dtype=np.float32)
    return X, Y


def largest_n(budget_gb, n_square_matrices, cap):
    """Largest n whose ``n_square_matrices`` float64 n x n matrices fit in the budget."""
    return int(min(np.sqrt(budget_gb * 1e9 / (8 * n_square_matrices)), cap))


def run(args):
    rows = []

    def add(task, method, n, d, result):
        value, seconds, peak = result
        rows.append((task, method, n, d, seconds, peak, value))
        print(f"  {task:<22} {method:<34} n={n:<7} {seconds:8.2f} s {peak:9.1f} MiB", flush=True)
        return seconds, peak

    ratios = []
    # 1. Linear CKA.
    d = args.d_cka
    n_gram = args.n_gram or largest_n(args.gram_budget_gb, 6, args.n_cka)
    X, Y = make_pair(n_gram, d, d, 0)
    t_ref, m_ref = add(
        "linear CKA", "textbook n x n Gram + H", n_gram, d, measure(textbook_linear_cka, X, Y)
    )
    t_our, m_our = add("linear CKA", "linear_cka", n_gram, d, measure(linear_cka, X, Y))
    ratios.append(("linear CKA", n_gram, t_ref / t_our, m_ref / m_our, "textbook / linear_cka"))
    if args.n_cka > n_gram:
        X, Y = make_pair(args.n_cka, d, d, 0)
        add("linear CKA", "linear_cka", args.n_cka, d, measure(linear_cka, X, Y))
    del X, Y

    # 2. Jaccard@k.
    n, d = args.n_knn, args.d_knn
    X, Y = make_pair(n, d, d, 1)
    t_ref, m_ref = add(
        f"Jaccard@{args.k}",
        "scikit-learn NearestNeighbors",
        n,
        d,
        measure(sklearn_knn_jaccard, X, Y, args.k),
    )
    t_our, m_our = add(
        f"Jaccard@{args.k}", "knn_jaccard", n, d, measure(knn_jaccard, X, Y, k=args.k)
    )
    ratios.append(
        (f"Jaccard@{args.k}", n, t_ref / t_our, m_ref / m_our, "scikit-learn / knn_jaccard")
    )

    # 3. MRR.
    n_full = min(largest_n(args.gram_budget_gb, 2, n), n)
    t_ref, m_ref = add(
        "MRR",
        "full n x n cosine matrix",
        n_full,
        d,
        measure(full_matrix_mrr, X[:n_full], Y[:n_full]),
    )
    t_our, m_our = add(
        "MRR",
        "mean_reciprocal_rank",
        n_full,
        d,
        measure(mean_reciprocal_rank, X[:n_full], Y[:n_full]),
    )
    ratios.append(
        ("MRR", n_full, t_ref / t_our, m_ref / m_our, "full matrix / mean_reciprocal_rank")
    )
    if n > n_full:
        add("MRR", "mean_reciprocal_rank", n, d, measure(mean_reciprocal_rank, X, Y))
    return rows, ratios


def to_markdown(rows, ratios, command):
    import sklearn

    lines = [
        "# Similarity measures: time and peak memory",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared with other work while measuring: timings are noisy); "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        "Inputs are float32; peak memory is tracemalloc's peak above the inputs (numpy "
        "allocations; BLAS work buffers excluded). `value` is the measure's result, for "
        "checking that both methods agree.",
        "",
        "| task | method | n | d | time (s) | peak memory (MiB) | value |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for task, method, n, d, seconds, peak, value in rows:
        lines.append(
            f"| {task} | {method} | {n:,} | {d} | {seconds:.2f} | {peak:,.1f} | {value:.6f} |"
        )
    lines += [
        "",
        "Ratios at equal n (reference / skinvariance; above 1 means skinvariance is faster or "
        "smaller):",
        "",
        "| task | n | time ratio | memory ratio | compared |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for task, n, t_ratio, m_ratio, what in ratios:
        lines.append(f"| {task} | {n:,} | {t_ratio:.1f} | {m_ratio:.1f} | {what} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cka", type=int, default=4000, help="rows for linear CKA")
    parser.add_argument("--d-cka", type=int, default=768, help="width for linear CKA")
    parser.add_argument(
        "--n-gram",
        type=int,
        default=None,
        help="rows for the textbook Gram formula (default: the largest within the budget)",
    )
    parser.add_argument(
        "--gram-budget-gb",
        type=float,
        default=0.5,
        help="memory budget of the n x n references, in GB (3 for the full run)",
    )
    parser.add_argument("--n-knn", type=int, default=4000, help="rows for Jaccard@k and MRR")
    parser.add_argument("--d-knn", type=int, default=300, help="width for Jaccard@k and MRR")
    parser.add_argument("--k", type=int, default=10, help="neighbours for Jaccard@k")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "metrics.md",
        help="where to write the Markdown table",
    )
    args = parser.parse_args(argv)
    command = "python benchmarks/bench_metrics.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    rows, ratios = run(args)
    table = to_markdown(rows, ratios, command.strip())
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
