"""Speed and memory of the similarity measures against reference implementations.

Each comparison is measured in one run on the same machine and reported as ratios:

1. ``linear_cka`` (feature-space form, blocked) against the textbook formula
   ``HSIC = tr(K H L H)`` with explicit n x n Gram and centring matrices, at the largest n the
   latter holds within ``--gram-budget-gb``; then ``linear_cka`` alone at ``--n-cka`` rows.
2. ``knn_jaccard`` and ``mutual_knn`` against the same indices computed from scikit-learn's
   ``NearestNeighbors(algorithm="brute", metric="cosine")`` (itself chunked), at ``--n-knn``.
3. ``mean_reciprocal_rank`` against a full n x n cosine-similarity matrix, at the largest n
   that matrix holds within ``--gram-budget-gb``; then ``mean_reciprocal_rank`` alone at
   ``--n-knn``.
4. ``rsa`` (Spearman and Pearson, correlation distance) against
   ``scipy.spatial.distance.pdist`` + ``scipy.stats.spearmanr`` / ``pearsonr``, at ``--n-rsa``.
5. ``svcca`` and ``pwcca`` against a direct CCA: scikit-learn's ``PCA`` for the reduction, then
   the textbook formula (singular values of ``Cxx^-1/2 Cxy Cyy^-1/2``), at ``--n-cca``.
6. ``linear_regression_r2`` against scikit-learn's ``LinearRegression`` and ``Ridge``
   (fit, predict, ``r2_score(multioutput="variance_weighted")``), at ``--n-cca``.
7. ``cknna`` against the n x n formula (dense masks and U-centred Gram matrices), at the
   largest n that holds within ``--gram-budget-gb``.
8. ``permutation_test`` (``--n-permutations`` shuffles; linear CKA at ``--n-perm-cka`` x
   ``--d-cka``, Jaccard@k and RSA at ``--n-perm``) against the naive loop that re-runs the
   measure on every shuffle. The naive loop is timed over ``--naive-permutations`` shuffles
   and its time scaled to ``--n-permutations`` (it would take hours): the row says so.

Peak memory is the peak of Python-tracked allocations (``tracemalloc``, which numpy reports
to) above what was allocated before the call; BLAS work buffers and the compiled loops'
scratch arrays are not included. The compiled loops are compiled (or loaded from numba's disk
cache) before the first measurement. The inputs are float32 (the usual dtype of stored
embeddings) and exist before the measurement starts. The machine's load (``os.getloadavg``)
is recorded before and after the run: timings on a shared machine are only comparable within
one run. ``--blas-threads 1`` shows what busy-waiting BLAS threads cost on an oversubscribed
machine, where LAPACK's decompositions (SVD, least squares) slow down the most.

Run ``python benchmarks/bench_metrics.py`` for a quick small run, or, at the sizes of the
results file, the command written at its top. ``--tasks`` selects comparisons. The Markdown
table is printed and written to ``benchmarks/results/metrics.md`` (``--output``).
"""

import argparse
import os
import platform
import sys
import time
import tracemalloc
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.linalg import eigh
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr, spearmanr
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from skinvariance.metrics import (
    cknna,
    knn_jaccard,
    linear_cka,
    linear_regression_r2,
    mean_reciprocal_rank,
    mutual_knn,
    permutation_test,
    pwcca,
    rsa,
    svcca,
)

MIB = 2**20
TASKS = ("cka", "knn", "mrr", "rsa", "cca", "r2", "cknna", "permutation")


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


# -- reference implementations: the straightforward formulas ---------------------------------


def textbook_linear_cka(X, Y):
    """CKA with n x n Gram matrices and an explicit centring matrix H = I - 11'/n."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    n = X.shape[0]
    H = np.eye(n) - 1.0 / n
    Kc = H @ (X @ X.T) @ H
    Lc = H @ (Y @ Y.T) @ H
    return np.sum(Kc * Lc) / np.sqrt(np.sum(Kc * Kc) * np.sum(Lc * Lc))


def sklearn_neighbours(Z, k):
    Z = Z.astype(np.float64)  # the same precision as the measures, so ties agree
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine").fit(Z)
    return nn.kneighbors(return_distance=False)  # no query: each point is not its own


def shared_neighbours(X, Y, k):
    both = np.concatenate([sklearn_neighbours(X, k), sklearn_neighbours(Y, k)], axis=1)
    both.sort(axis=1)
    return np.count_nonzero(both[:, 1:] == both[:, :-1], axis=1)


def sklearn_knn_jaccard(X, Y, k):
    """Jaccard@k from scikit-learn's brute-force cosine neighbours (self left out)."""
    inter = shared_neighbours(X, Y, k)
    return float(np.mean(inter / (2 * k - inter)))


def sklearn_mutual_knn(X, Y, k):
    """Mutual k-NN from scikit-learn's brute-force cosine neighbours (self left out)."""
    return float(shared_neighbours(X, Y, k).mean() / k)


def full_matrix_mrr(X, Y):
    """MRR from the full n x n cosine-similarity matrix (pessimistic ties)."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    S = Xn.astype(np.float64) @ Yn.T.astype(np.float64)
    ranks = np.count_nonzero(S >= np.diag(S)[:, None], axis=1)
    return float(np.mean(1.0 / ranks))


def scipy_rsa(X, Y, method):
    """RDMs by ``pdist`` (float64), compared by ``spearmanr`` or ``pearsonr``."""
    dx = pdist(X.astype(np.float64), "correlation")
    dy = pdist(Y.astype(np.float64), "correlation")
    return float((spearmanr if method == "spearman" else pearsonr)(dx, dy)[0])


def _whitened_cca(A, B):
    """Canonical correlations (and A's whitening rotation) by the textbook formula."""
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)

    def inverse_sqrt(C):
        values, vectors = eigh(C)
        return vectors @ np.diag(values**-0.5) @ vectors.T

    Wa, Wb = inverse_sqrt(A.T @ A), inverse_sqrt(B.T @ B)
    U, rho, _ = np.linalg.svd(Wa @ (A.T @ B) @ Wb)
    return rho, A, Wa @ U[:, : rho.size]


def textbook_svcca(X, Y):
    """scikit-learn's PCA to 99% of the variance, then the textbook CCA."""
    reduced = [PCA(0.99, svd_solver="full").fit_transform(Z.astype(np.float64)) for Z in (X, Y)]
    return float(_whitened_cca(*reduced)[0].mean())


def textbook_pwcca(X, Y):
    """Textbook CCA; variates of the narrower side orthonormalised, L1 weights."""
    A, B = (X, Y) if X.shape[1] <= Y.shape[1] else (Y, X)
    rho, Ac, rotation = _whitened_cca(A.astype(np.float64), B.astype(np.float64))
    Q, _ = np.linalg.qr(Ac @ rotation)
    weights = np.abs(Q.T @ Ac).sum(axis=1)
    return float(weights @ rho / weights.sum())


def sklearn_r2(X, Y, alpha=0.0):
    model = Ridge(alpha=alpha) if alpha else LinearRegression()
    fitted = model.fit(X, Y).predict(X)
    return float(r2_score(Y, fitted, multioutput="variance_weighted"))


def dense_cknna(X, Y, k):
    """CKNNA with n x n masks and U-centred Gram matrices."""
    n = X.shape[0]

    def parts(Z):
        Z = Z.astype(np.float64)
        U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
        S = U @ U.T
        np.fill_diagonal(S, -np.inf)
        mask = np.zeros((n, n))
        mask[np.arange(n)[:, None], np.argpartition(-S, k, axis=1)[:, :k]] = 1.0
        del S, U
        K = Z @ Z.T
        np.fill_diagonal(K, 0.0)
        r = K.sum(axis=1)
        K -= (r[:, None] + r[None, :]) / (n - 2)
        K += r.sum() / ((n - 1) * (n - 2))
        np.fill_diagonal(K, 0.0)
        return mask, K

    ax, Kt = parts(X)
    ay, Lt = parts(Y)
    return float(np.sum(ax * ay * Kt * Lt) / np.sqrt(np.sum(ax * Kt**2) * np.sum(ay * Lt**2)))


def naive_permutations(X, Y, func, n_permutations, seed=0):
    """The measure re-run on every shuffle of Y's rows (the statistic, for checking)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_permutations):
        func(X, Y[rng.permutation(len(Y))])
    return func(X, Y)


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


# -- the comparisons -------------------------------------------------------------------------


class Recorder:
    """Rows of the time table and ratios at equal n."""

    def __init__(self):
        self.rows, self.ratios = [], []

    def add(self, task, method, n, d, result):
        value, seconds, peak = result
        self.rows.append((task, method, n, d, seconds, peak, value))
        print(f"  {task:<22} {method:<40} n={n:<7} {seconds:8.2f} s {peak:9.1f} MiB", flush=True)
        return seconds, peak

    def compare(self, task, n, d, reference, ours, compared, *, time_scale=1.0):
        """Run the reference then ours on the same inputs; ``reference = (name, f, args)``."""
        t_ref, m_ref = self.add(task, reference[0], n, d, measure(*reference[1:]))
        t_our, m_our = self.add(task, ours[0], n, d, measure(*ours[1:]))
        self.ratios.append((task, n, time_scale * t_ref / t_our, m_ref / m_our, compared))


def run_cka(rec, args):
    d = args.d_cka
    n_gram = args.n_gram or largest_n(args.gram_budget_gb, 6, args.n_cka)
    X, Y = make_pair(n_gram, d, d, 0)
    rec.compare("linear CKA", n_gram, d,
                ("textbook n x n Gram + H", textbook_linear_cka, X, Y),
                ("linear_cka", linear_cka, X, Y), "textbook / linear_cka")
    if args.n_cka > n_gram:
        X, Y = make_pair(args.n_cka, d, d, 0)
        rec.add("linear CKA", "linear_cka", args.n_cka, d, measure(linear_cka, X, Y))


def run_knn(rec, args):
    n, d, k = args.n_knn, args.d_knn, args.k
    X, Y = make_pair(n, d, d, 1)
    rec.compare(f"Jaccard@{k}", n, d,
                ("scikit-learn NearestNeighbors", sklearn_knn_jaccard, X, Y, k),
                ("knn_jaccard", lambda X, Y: knn_jaccard(X, Y, k=k), X, Y),
                "scikit-learn / knn_jaccard")
    rec.compare(f"mutual k-NN@{k}", n, d,
                ("scikit-learn NearestNeighbors", sklearn_mutual_knn, X, Y, k),
                ("mutual_knn", lambda X, Y: mutual_knn(X, Y, k=k), X, Y),
                "scikit-learn / mutual_knn")


def run_mrr(rec, args):
    n, d = args.n_knn, args.d_knn
    X, Y = make_pair(n, d, d, 1)
    n_full = min(largest_n(args.gram_budget_gb, 2, n), n)
    rec.compare("MRR", n_full, d,
                ("full n x n cosine matrix", full_matrix_mrr, X[:n_full], Y[:n_full]),
                ("mean_reciprocal_rank", mean_reciprocal_rank, X[:n_full], Y[:n_full]),
                "full matrix / mean_reciprocal_rank")
    if n > n_full:
        rec.add("MRR", "mean_reciprocal_rank", n, d, measure(mean_reciprocal_rank, X, Y))


def run_rsa(rec, args):
    n, d = args.n_rsa, args.d_knn
    X, Y = make_pair(n, d, d, 2)
    for method in ("spearman", "pearson"):
        rec.compare(f"RSA ({method})", n, d,
                    (f"pdist + scipy.stats.{method}r", scipy_rsa, X, Y, method),
                    (f"rsa(method='{method}')", lambda X, Y, m=method: rsa(X, Y, method=m), X, Y),
                    f"scipy / rsa ({method})")


def run_cca(rec, args):
    n, d = args.n_cca, args.d_cka
    X, Y = make_pair(n, d, d // 2, 3)
    rec.compare("SVCCA (99% variance)", n, d,
                ("scikit-learn PCA + textbook CCA", textbook_svcca, X, Y),
                ("svcca", svcca, X, Y), "direct / svcca")
    rec.compare("PWCCA", n, d,
                ("textbook CCA + QR weights", textbook_pwcca, X, Y),
                ("pwcca", pwcca, X, Y), "direct / pwcca")


def run_r2(rec, args):
    n, d = args.n_cca, args.d_cka
    X, Y = make_pair(n, d, d, 4)
    rec.compare("linear R2", n, d,
                ("LinearRegression + r2_score", sklearn_r2, X, Y),
                ("linear_regression_r2", linear_regression_r2, X, Y),
                "scikit-learn / linear_regression_r2")
    rec.compare("ridge R2 (alpha=10)", n, d,
                ("Ridge + r2_score", sklearn_r2, X, Y, 10.0),
                ("linear_regression_r2(alpha=10)",
                 lambda X, Y: linear_regression_r2(X, Y, alpha=10.0), X, Y),
                "scikit-learn / linear_regression_r2")


def run_cknna(rec, args):
    n = largest_n(args.gram_budget_gb, 8, args.n_knn)
    d, k = args.d_knn, args.k
    X, Y = make_pair(n, d, d, 5)
    rec.compare(f"CKNNA@{k}", n, d,
                ("n x n masks + U-centred Grams", dense_cknna, X, Y, k),
                ("cknna", lambda X, Y: cknna(X, Y, k=k), X, Y), "dense / cknna")


def run_permutation(rec, args):
    B, b = args.n_permutations, args.naive_permutations
    cases = [
        ("linear CKA", "linear_cka", {}, linear_cka, args.n_perm_cka, args.d_cka),
        (f"Jaccard@{args.k}", "knn_jaccard", {"k": args.k},
         lambda X, Y: knn_jaccard(X, Y, k=args.k), args.n_perm, args.d_knn),
        ("RSA (spearman)", "rsa", {}, rsa, args.n_perm, args.d_knn),
    ]
    for label, name, params, func, n, d in cases:
        X, Y = make_pair(n, d, d, 6)
        task = f"{B} permutations, {label}"
        t_ref, m_ref = rec.add(task, f"naive loop ({b} shuffles timed)", n, d,
                               measure(naive_permutations, X, Y, func, b))
        result, t_our, m_our = measure(permutation_test, X, Y, name, n_permutations=B,
                                       random_state=0, metric_params=params)
        rec.add(task, "permutation_test", n, d, (result.statistic, t_our, m_our))
        rec.ratios.append((task, n, t_ref * B / b / t_our, m_ref / m_our,
                           f"naive loop (time x {B}/{b}) / permutation_test"))


RUNNERS = {"cka": run_cka, "knn": run_knn, "mrr": run_mrr, "rsa": run_rsa, "cca": run_cca,
           "r2": run_r2, "cknna": run_cknna, "permutation": run_permutation}


def warm_up():
    """Compile (or load from numba's cache) the loops first: compilation is not the measure."""
    X, Y = make_pair(40, 4, 3, 7)
    for name in ("linear_cka", "knn_jaccard", "rsa", "cknna"):
        permutation_test(X, Y, name, n_permutations=9, random_state=0,
                         metric_params={"k": 3} if name in ("knn_jaccard", "cknna") else None)


def run(args):
    warm_up()
    rec = Recorder()
    for task in args.tasks:
        RUNNERS[task](rec, args)
    return rec.rows, rec.ratios


def to_markdown(rows, ratios, command, loads):
    import sklearn

    lines = [
        "# Similarity measures: time and peak memory",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, shared with other work while measuring: load average "
        f"(1, 5, 15 min, as `uptime` shows it) {loads[0]} at the start and {loads[1]} at the "
        "end, so timings are noisy and only comparable within this run; "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        "Inputs are float32; peak memory is tracemalloc's peak above the inputs (numpy "
        "allocations; BLAS work buffers and compiled loops' scratch excluded). `value` is the "
        "measure's result, for checking that both methods agree. A naive permutation loop is "
        "timed over a few shuffles only; its ratio scales that time to the full count.",
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


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--n-cka", type=int, default=4000, help="rows for linear CKA")
    add("--d-cka", type=int, default=768, help="width for CKA, CCA, R2 and the CKA permutations")
    add("--n-gram", type=int, default=None,
        help="rows for the textbook Gram formula (default: the largest within the budget)")
    add("--gram-budget-gb", type=float, default=0.5,
        help="memory budget of the n x n references, in GB (3 for the full run)")
    add("--n-knn", type=int, default=4000, help="rows for Jaccard@k, mutual k-NN and MRR")
    add("--d-knn", type=int, default=300, help="width for the neighbour measures and RSA")
    add("--k", type=int, default=10, help="neighbours for Jaccard@k, mutual k-NN and CKNNA")
    add("--n-rsa", type=int, default=2000, help="rows for RSA")
    add("--n-cca", type=int, default=4000, help="rows for SVCCA, PWCCA and R2")
    add("--n-permutations", type=int, default=999, help="shuffles of a permutation test")
    add("--naive-permutations", type=int, default=10, help="shuffles timed in the naive loop")
    add("--n-perm-cka", type=int, default=5000, help="rows for the linear CKA permutations")
    add("--n-perm", type=int, default=2000, help="rows for the Jaccard and RSA permutations")
    add("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="comparisons to run")
    add("--blas-threads", type=int, default=None,
        help="limit BLAS to this many threads (default: the libraries' own setting)")
    add("--output", type=Path,
        default=Path(__file__).resolve().parent / "results" / "metrics.md",
        help="where to write the Markdown table")
    return parser.parse_args(argv)


def _load():
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv=None):
    args = parse(argv)
    command = "python benchmarks/bench_metrics.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    start_load = _load()
    limit = threadpool_limits(args.blas_threads) if args.blas_threads else nullcontext()
    with limit:
        rows, ratios = run(args)
    table = to_markdown(rows, ratios, command.strip(), (start_load, _load()))
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
