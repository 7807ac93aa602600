"""Wide spaces (few rows, many features): the thin forms against the dense formulas.

    python benchmarks/bench_wide.py

Part 1, for 100 rows (``--rows``) of 4,000 and 20,000 features (``--features``), float32, one
BLAS thread, in one run: ``procrustes_similarity`` (thin QR of each space) against the dense
formula (the ``d x d`` cross-covariance and its singular values),
``OrthogonalAlignment(standardize=True)`` (``fit`` and ``transform`` of the rows, the map in
low-rank form) against scipy's ``orthogonal_procrustes`` on the standard-scaled anchors
(a ``d x d`` map), and ``AffineAlignment(alpha="auto")`` (``fit``, the dual form) against
scikit-learn's ``RidgeCV`` on the same grid (a ``d x d`` coefficient matrix). Times are the best of
``--repeat`` runs, peak memory is what NumPy reports to ``tracemalloc`` beyond the inputs; both
are given as ratios to the dense computation, with the largest difference of the results. A
dense computation whose ``d x d`` float64 matrices would exceed ``--dense-limit`` MiB is not
run (the table says how much it would need).

Part 2: ``compare_invariances({"a": X, "b": Y}, y, random_state=0)`` with the defaults, each
shape in a fresh process (``--compare``, rows x features, float32; binary labels): its time,
its peak resident memory beyond the process with the data loaded (``/proc/self/statm``,
sampled every 20 ms by a thread, which also samples the stacks of the other threads), the
share of the threads' samples at work (in ``skinvariance`` code other than the dispatcher
waiting for its workers) in each task (the outermost ``skinvariance`` function, below
``compare_invariances`` on the calling thread) and in each innermost ``skinvariance``
function, and the stacks at work at the peak of memory. The machine's load is recorded:
timings on a shared machine are only comparable within one run.

Writes ``benchmarks/results/wide.md`` (``--output``).
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.linalg import orthogonal_procrustes, svdvals
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skinvariance import AffineAlignment, OrthogonalAlignment
from skinvariance.cli._kernel_speed import machine_description
from skinvariance.metrics import procrustes_similarity

RESULTS = Path(__file__).resolve().parent / "results"
MiB = 2**20


def _spaces(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    Y = (X[:, ::-1] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)
    return X, Y


def _measure(function, repeat):
    """``(best time, peak traced bytes, result)`` of ``function()``."""
    tracemalloc.start()
    try:
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), peak, result


def _dense_procrustes(X, Y):
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
    Yc = Y.astype(np.float64) - Y.astype(np.float64).mean(0)
    cross = Xc.T @ Yc
    return svdvals(cross).sum() / (np.linalg.norm(Xc) * np.linalg.norm(Yc))


def _dense_orthogonal(X, Y):
    """The map of scipy on standard-scaled anchors: fit (a d x d rotation) and transform."""
    sx, sy = StandardScaler().fit(X), StandardScaler().fit(Y)
    R = orthogonal_procrustes(sx.transform(X), sy.transform(Y))[0]
    return sy.inverse_transform(sx.transform(X) @ R)


def _ours_orthogonal(X, Y):
    return OrthogonalAlignment(standardize=True).fit(X, Y).transform(X)


def _row(operation, d, ours, dense, dense_bytes, limit, repeat):
    t_ours, m_ours, r_ours = _measure(ours, repeat)
    row = {"operation": operation, "features": d, "ours (s)": t_ours,
           "ours peak (MiB)": m_ours / MiB}
    if dense_bytes > limit * MiB:
        row.update({"dense (s)": "not run", "dense peak (MiB)": f"> {dense_bytes / MiB:,.0f}",
                    "time ratio": "", "memory ratio": "", "largest difference": ""})
        return row
    t_dense, m_dense, r_dense = _measure(dense, repeat)
    difference = float(np.max(np.abs(np.asarray(r_ours, np.float64) - r_dense)))
    row.update({"dense (s)": t_dense, "dense peak (MiB)": m_dense / MiB,
                "time ratio": t_ours / t_dense, "memory ratio": m_ours / m_dense,
                "largest difference": f"{difference:.2g}"})
    return row


def _operations(X, Y):
    """``(name, ours, dense, bytes of the dense d x d float64 matrices)`` for one shape."""
    square = 8 * X.shape[1] ** 2
    grid = AffineAlignment(alpha="auto").fit(X, Y).alphas_

    def ours_affine():
        return AffineAlignment(alpha="auto").fit(X, Y).transform(X)

    def dense_affine():
        return RidgeCV(alphas=grid).fit(X.astype(np.float64), Y).predict(X)

    return [
        ("procrustes_similarity", lambda: procrustes_similarity(X, Y),
         lambda: _dense_procrustes(X, Y), 2 * square),
        ("OrthogonalAlignment(standardize=True) fit + transform",
         lambda: _ours_orthogonal(X, Y), lambda: _dense_orthogonal(X, Y), 3 * square),
        ('AffineAlignment(alpha="auto") fit + transform', ours_affine, dense_affine,
         2 * square),
    ]


def run_operations(n, features, repeat, limit):
    rows = []
    for d in features:
        for name, ours, dense, dense_bytes in _operations(*_spaces(n, d)):
            rows.append(_row(name, d, ours, dense, dense_bytes, limit, repeat))
    return rows


# -- part 2: compare_invariances in a fresh process ---------------------------------------------


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


#: Frames that only wrap a task of a batch (``_parallel.run_small_tasks``): not a task.
WRAPPERS = {"_parallel.task"}


def _stack(frame):
    """The ``skinvariance`` functions of a stack, outermost first (wrappers left out)."""
    names = []
    while frame is not None:
        code = frame.f_code
        if "skinvariance" in code.co_filename and "bench_wide" not in code.co_filename:
            name = f"{Path(code.co_filename).stem}.{code.co_name}"
            if name not in WRAPPERS:
                names.append(name)
        frame = frame.f_back
    return names[::-1]


def child_compare(n, d):
    """Run compare_invariances once; print a JSON summary."""
    from skinvariance import compare_invariances

    X, Y = _spaces(n, d)
    y = (X[:, 0] > 0).astype(int)
    samples, done = [], threading.Event()

    def sample():
        me = threading.get_ident()
        while not done.wait(0.02):
            stacks = [_stack(frame) for ident, frame in sys._current_frames().items()
                      if ident != me]
            # A thread at work runs skinvariance code below the dispatcher (the dispatcher
            # alone is the calling thread waiting for its workers).
            busy = [stack for stack in stacks
                    if stack and stack[-1] != "_parallel.run_small_tasks"]
            samples.append((_rss(), busy))

    base = _rss()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    compare_invariances({"a": X, "b": Y}, y, random_state=0)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    phases, inner = collections.Counter(), collections.Counter()
    for _, busy in samples:
        for stack in busy:
            below = stack[1:] if stack[0].endswith("compare_invariances") else stack
            phases[below[0] if below else stack[0]] += 1
            inner[stack[-1]] += 1
    peak_rss, peak_busy = max(samples, key=lambda s: s[0]) if samples else (base, [])
    total = max(sum(len(busy) for _, busy in samples), 1)
    print(json.dumps({
        "rows": n, "features": d, "input MiB": 2 * X.nbytes / MiB, "seconds": elapsed,
        "peak MiB": (peak_rss - base) / MiB,
        "peak stacks": [stack[-3:] for stack in peak_busy],
        "phases": [(k, v / total) for k, v in phases.most_common(6)],
        "innermost": [(k, v / total) for k, v in inner.most_common(6)],
    }))


def run_compare(shapes):
    out = []
    for n, d in shapes:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()),
                                                           os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(n), str(d)],
            capture_output=True, text=True, check=True, env=env,
        )
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def _fmt(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def write_report(path, operations, compares, args, loads):
    lines = [
        "# Wide spaces: thin forms against the dense formulas",
        "",
        f"Command: `{' '.join(['python benchmarks/bench_wide.py', *sys.argv[1:]])}`  ",
        f"Machine: {machine_description()}; load average (1 min) {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end  ",
        f"{args.rows} rows, float32, one BLAS thread; best of {args.repeat}; peak memory as "
        "NumPy reports it to tracemalloc, beyond the inputs. Dense computations needing more "
        "than "
        f"{args.dense_limit:,} MiB are not run.",
        "",
    ]
    if operations:
        header = list(operations[0])
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_fmt(row.get(k, "")) for k in header) + " |"
                  for row in operations]
        lines.append("")
    for c in compares:
        lines += [
            f"## compare_invariances, 2 x {c['rows']:,} x {c['features']:,} float32 "
            f"({c['input MiB']:.0f} MiB of input)",
            "",
            f"Time {c['seconds']:.1f} s; peak resident memory +{c['peak MiB']:.0f} MiB "
            f"({c['peak MiB'] / c['input MiB']:.1f} x the input), the threads at work then in "
            + ("; ".join(f"`{' > '.join(stack)}`" for stack in c["peak stacks"]) or "none")
            + ".",
            "",
            "| task (share of the threads' time at work) | | innermost function | |",
            "|---|---|---|---|",
        ]
        for (p, ps), (f, fs) in zip(c["phases"], c["innermost"], strict=False):
            lines.append(f"| `{p}` | {ps:.0%} | `{f}` | {fs:.0%} |")
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--features", type=int, nargs="+", default=[4000, 20000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dense-limit", type=int, default=2048,
                        help="MiB of d x d matrices a dense reference may use")
    parser.add_argument("--compare", nargs="*", default=["100x20000", "20000x1024"],
                        help="rows x features of the compare_invariances runs")
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS / "wide.md")
    args = parser.parse_args(argv)
    if args.child:
        child_compare(*args.child)
        return
    start_load = os.getloadavg()[0]
    with threadpool_limits(1):  # a shared machine: two BLAS threads spin against the load
        operations = run_operations(args.rows, args.features, args.repeat, args.dense_limit)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.compare]
    compares = run_compare(shapes)
    write_report(args.output, operations, compares, args, (start_load, os.getloadavg()[0]))
    print(args.output.read_text())


if __name__ == "__main__":
    main()
