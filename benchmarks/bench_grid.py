"""GridSearchCV over a product against the loop a user would write, and where its time goes.

    python benchmarks/bench_grid.py                       # five 3,000 x 384 float32 spaces
    python benchmarks/bench_grid.py --rows 1500 --repeat 1

In one run, alternating fresh processes (``--repeat`` rounds), on five synthetic float32
spaces (``bench_search.synthetic_spaces``):

- ``GridSearchCV`` over ``StitchingEvaluator(ProductProjection([cosine, euclidean, l1,
  linf], memory=DIR), StandardScaler + LogisticRegression(max_iter=1000), anchors=300)``,
  2 aggregations x 2 normalisations, ``StratifiedKFold(3)``, refit, with the library's defaults
  (no thread limit set by hand; ``DIR`` a fresh cache directory); the same without
  ``memory``; and the same with ``memory`` and the library's probe,
  ``LogisticClassifier(max_iter=1000)``, for ``LogisticRegression``: the way the grid-search
  guide shows;
- the naive loop (``bench_search._naive_loop``): every candidate and fold fitted from scratch
  and scored, then the best refitted, under ``threadpool_limits(1)``, no ``memory``, with
  ``LogisticRegression`` (the plain script) and with the probe (the same decoder as the
  search that uses it).

For the search with ``memory``, the cores it kept busy (CPU over wall time) and the share of
its CPU time inside the decoders' fits and scores, inside the projections' transforms and the
rest, timed around the library's units of work (each unit's own thread). Writes
benchmarks/results/grid.md: seconds and the ratios of the medians, measured in one run.
Never asserts anything.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scale_rows import cpu_seconds, report_header, timed  # noqa: E402
from bench_search import GRID, load, load_average, save, synthetic_spaces  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results"
TASKS = ("grid-probe", "grid-memory", "grid", "naive-loop", "naive-loop-probe")


def _timed_units():
    """Wrap the evaluator's decoder fits and scores and the projections' transforms."""
    from skinvariance.stitching import _evaluator, _work

    spent, lock = {"decoders": 0.0, "transforms": 0.0}, threading.Lock()

    transform = _work._transform
    _work._transform = timed(transform, "transforms", spent, lock)
    decoder_fit, decoder_score = _work.fit_decoder, _work.score
    for module in (_work, _evaluator):
        if hasattr(module, "fit_decoder"):
            module.fit_decoder = timed(decoder_fit, "decoders", spent, lock)
        if hasattr(module, "score"):
            module.score = timed(decoder_score, "decoders", spent, lock)
    return spent


def worker(task, directory):
    import warnings

    from bench_search import _grid_search, _naive_loop

    warnings.simplefilter("ignore")
    spaces, y = load(Path(directory))
    spent = {}
    if task.startswith("grid"):
        memory = tempfile.mkdtemp(dir=directory) if task != "grid" else None
        search, stacked = _grid_search(spaces, y, GRID, memory=memory,
                                       probe=task == "grid-probe")
        spent = _timed_units()
        start, cpu_start = time.perf_counter(), cpu_seconds()
        search.fit(stacked, y)
    else:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        _naive_loop(spaces, y, GRID, probe=task == "naive-loop-probe")
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "cpu seconds": cpu_seconds() - cpu_start, **spent}))


def run_worker(task, directory):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", task,
                           str(directory)], capture_output=True, text=True, env=env,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = save(Path(tmp) / "spaces", *synthetic_spaces(n_samples=args.rows))
        for round_ in range(args.repeat):
            for task in TASKS:
                print(f"... {task}, round {round_ + 1} (load {load_average()})",
                      file=sys.stderr, flush=True)
                result = run_worker(task, directory)
                records.append({"round": round_ + 1, "task": task, **result,
                                "load": load_average()})
    write(args, pd.DataFrame(records))


def write(args, runs):
    from skinvariance._markdown import markdown_table

    median = runs.groupby("task")["seconds"].median()
    memory = runs[runs["task"] == "grid-memory"]
    summary = pd.DataFrame([{
        "GridSearchCV, memory, LogisticClassifier s": median["grid-probe"],
        "GridSearchCV, memory s": median["grid-memory"],
        "GridSearchCV, no memory s": median["grid"],
        "naive loop, 1 thread s": median["naive-loop"],
        "grid (memory, LogisticClassifier) / naive": median["grid-probe"] / median["naive-loop"],
        "grid (memory) / naive": median["grid-memory"] / median["naive-loop"],
        "grid (no memory) / naive": median["grid"] / median["naive-loop"],
        "naive loop with LogisticClassifier, 1 thread s": median["naive-loop-probe"],
        "grid (memory, LogisticClassifier) / naive with LogisticClassifier":
            median["grid-probe"] / median["naive-loop-probe"],
        "cores busy (memory)": float(np.median(memory["cpu seconds"] / memory["seconds"])),
        "decoders share (memory)": float(np.median(memory["decoders"]
                                                   / memory["cpu seconds"])),
        "transforms share (memory)": float(np.median(memory["transforms"]
                                                     / memory["cpu seconds"])),
    }])
    RESULTS.mkdir(exist_ok=True)
    text = (
        report_header("GridSearchCV over a product against the naive loop", "bench_grid.py")
        + f"Five synthetic float32 spaces of {args.rows:,} x 384; `GridSearchCV("
        "StitchingEvaluator(ProductProjection([cosine, euclidean, l1, linf], memory=DIR), "
        "StandardScaler + LogisticRegression(max_iter=1000), anchors=300, random_state=0), "
        "{aggregate: [concat, sum], normalize: [layer, l2]}, cv=StratifiedKFold(3))` with the "
        "library's defaults (no thread limit set by hand), with and without `memory`, and with "
        "`memory` and the library's probe (`LogisticClassifier(max_iter=1000)` for "
        "`LogisticRegression`, as the grid-search guide shows), against "
        "the naive loop (every candidate and fold fitted from scratch, then the best refitted, "
        "under `threadpool_limits(1)`, no `memory`, `LogisticRegression`: the plain script; "
        "and the same loop with the probe, the search's own decoder). "
        "Fresh processes, alternating, "
        f"{args.repeat} round(s); ratios of the medians. `cores busy`: CPU over wall time. "
        "Shares, of the search with `memory`: its CPU time inside the decoders' fits and "
        "scores and inside the projections' transforms.\n\n"
        f"{markdown_table(summary)}\n\nEvery run:\n\n"
        f"{markdown_table(runs)}\n"
    )
    (RESULTS / "grid.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
