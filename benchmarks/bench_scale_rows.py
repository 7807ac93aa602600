"""How a comparison's cost grows with the number of rows.

    python benchmarks/bench_scale_rows.py                      # 3k, 6k, 12k, 24k, 48k rows
    python benchmarks/bench_scale_rows.py --rows 3000 12000    # a subset
    python benchmarks/bench_scale_rows.py --no-naive           # the library alone
    python benchmarks/bench_scale_rows.py --rows 24000 48000 --width 768 --no-naive
    python benchmarks/bench_scale_rows.py --spaces 2 --rows 20000 --width 1024 --no-naive
    python benchmarks/bench_scale_rows.py --spaces 2 --rows 4000 --width 1024 --no-naive \
        --working-memory 32 --trace --output memory_trace   # what the peak is made of

For five synthetic float32 spaces of 384 features (``--spaces``, ``--width``; noisy linear
images of one labelled latent space, ``bench_search.synthetic_spaces``) at each number of rows,
in a fresh process each:

- ``compare_invariances(spaces, y, random_state=0)`` with the defaults, from Python: the
  time, the CPU time and the cores it kept busy (CPU over wall time), the share of the CPU
  time spent in the similarity measures, the decoders (fits and scores) and the projections
  and alignments (fits and transforms), timed around the library's units of work
  (``skinvariance.stitching._work``, each unit's own thread; with up to 1,000 training
  rows the learned row's L-BFGS fits run in worker processes, whose CPU time counts in the
  CPU time and the decoders' share), and the peak resident memory of this process (not of
  its workers) above the memory after the data were loaded and the package imported,
  against the input's size (``--working-memory`` sets scikit-learn's ``working_memory``
  around the call; ``--trace`` also traces NumPy's allocations with ``tracemalloc`` and
  lists the largest blocks alive at the traced peak);
- the plain scikit-learn / SciPy script a user would write for the same table
  (``bench_search.naive_compare``: ten of the eleven rows, pair by pair), in the same run, with
  the default threads; skipped above ``--naive-max`` rows (it grows as rows squared).

Writes benchmarks/results/scale_rows.md (and .csv): seconds, ratios to the 3,000-row time and
to the plain script, measured in one run. Never asserts anything.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_search import load, load_average, save, synthetic_spaces  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results"
ROWS = (3000, 6000, 12000, 24000, 48000)


class timed:
    """``function``, adding the CPU seconds of each call's thread to ``spent[kind]``.

    CPU time of the calling thread, not wall time: the library runs its units of work on
    several threads at once (one BLAS thread each, so a unit's products run in its own
    thread), and their wall times would add up to more than the run took. Sent to a worker
    process (the learned decoders' L-BFGS fits), a copy times into its own ``spent``, which
    the caller never sees: those fits count in :func:`cpu_seconds`, not in ``spent``.
    ``lock`` guards ``spent``: give every timer of one ``spent`` the same lock (several add
    to the same key, from several threads); None gives the timer its own. Neither a lock
    nor a module-level one may be pickled (a class of the script run as ``__main__`` is
    pickled by value, with the globals its methods read): a copy gets a lock of its own.
    """

    def __init__(self, function, kind, spent, lock=None):
        self.function, self.kind, self.spent = function, kind, spent
        self.lock = threading.Lock() if lock is None else lock

    def __call__(self, *args, **kwargs):
        start = time.thread_time()
        try:
            return self.function(*args, **kwargs)
        finally:
            used = time.thread_time() - start
            with self.lock:
                self.spent[self.kind] += used

    def __reduce__(self):
        return type(self), (self.function, self.kind, dict.fromkeys(self.spent, 0.0))


def worker_cpu_seconds():
    """The CPU seconds this process's live worker processes have used so far (user and
    system): the library sends them the learned decoders' L-BFGS fits alone."""
    import psutil

    return sum(sum(child.cpu_times()[:2])
               for child in psutil.Process().children(recursive=True))


def cpu_seconds():
    """The CPU seconds this process and its live worker processes have used so far (every
    thread, user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + worker_cpu_seconds()


def _timed_units():
    """Wrap the library's units of work with timers: ``{kind: seconds}``."""
    from skinvariance.stitching import _compare, _evaluator, _measures_only, _work

    spent, lock = {"measures": 0.0, "decoders": 0.0}, threading.Lock()

    decoders = timed(_work.fit_decoder, "decoders", spent, lock)
    scores = timed(_work.score, "decoders", spent, lock)
    measures = timed(_work.measure, "measures", spent, lock)
    for module in (_work, _evaluator, _measures_only, _compare):
        if hasattr(module, "fit_decoder"):
            module.fit_decoder = decoders
        if hasattr(module, "score"):
            module.score = scores
        if hasattr(module, "measure"):
            module.measure = measures
    return spent


class PeakTrace:
    """NumPy's allocations traced (``tracemalloc``) while inside, and a snapshot taken each
    time they grow 3 % beyond the last one: what the traced peak is made of."""

    def __enter__(self):
        import threading
        import tracemalloc

        self.snapshot, self.largest = None, 0
        self._stop = threading.Event()
        tracemalloc.start(40)
        self.base = tracemalloc.get_traced_memory()[0]
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        import tracemalloc

        while not self._stop.is_set():
            current = tracemalloc.get_traced_memory()[0]
            if current > 1.03 * self.largest + 2**20:
                self.largest, self.snapshot = current, tracemalloc.take_snapshot()
            time.sleep(0.01)

    def __exit__(self, *exc_info):
        import tracemalloc

        self._stop.set()
        self._thread.join()
        self.peak = tracemalloc.get_traced_memory()[1] - self.base
        tracemalloc.stop()

    def parts(self, top=10):
        """``[(MiB, where)]``: the largest blocks alive at the last snapshot, ``where`` the
        innermost frames of the package (and of scikit-learn) that allocated them."""
        parts = []
        for stat in self.snapshot.statistics("traceback")[:top]:
            frames = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
                      for f in stat.traceback
                      if "skinvariance" in f.filename or "sklearn" in f.filename]
            parts.append((stat.size / 2**20, " > ".join(frames[-4:])))
        return parts


def worker(task, directory, working_memory=None):
    import warnings
    from contextlib import nullcontext

    import sklearn
    from bench_search import naive_compare  # noqa: F401

    import skinvariance  # noqa: F401  (imported before the baseline: not counted in the peak)

    warnings.simplefilter("ignore")
    spaces, y = load(Path(directory))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {}
    start, cpu_start, workers_start = time.perf_counter(), cpu_seconds(), worker_cpu_seconds()
    if task.startswith("library"):
        spent = _timed_units()
        from skinvariance import compare_invariances

        context = (nullcontext() if working_memory is None
                   else sklearn.config_context(working_memory=working_memory))
        trace = PeakTrace() if task == "library-traced" else nullcontext()
        with context, trace:
            compare_invariances(spaces, y, random_state=0)
        spent["decoders"] += worker_cpu_seconds() - workers_start
        result.update(spent)
        if task == "library-traced":
            result["traced peak MiB"] = trace.peak / 2**20
            result["traced parts"] = trace.parts()
    else:
        from bench_search import naive_compare

        naive_compare(spaces, y)
    result["seconds"] = time.perf_counter() - start
    result["cpu seconds"] = cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak MiB above the data"] = (peak - base) / 1024
    result["input MiB"] = sum(X.nbytes for X in spaces.values()) / 2**20
    print(json.dumps(result))


def run_worker(task, directory, working_memory=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", task, str(directory)]
    if working_memory is not None:
        command += ["--working-memory", str(working_memory)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--naive-max", type=int, default=12000)
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--spaces", type=int, default=5)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--working-memory", type=float, default=None,
                        help="scikit-learn's working_memory (MiB) around the comparison")
    parser.add_argument("--trace", action="store_true",
                        help="trace NumPy's allocations: the traced peak and its parts")
    parser.add_argument("--output", default="scale_rows",
                        help="the results' file name in benchmarks/results (no suffix)")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.working_memory)
        return
    records, traced_parts = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n_rows in args.rows:
            directory = save(Path(tmp) / str(n_rows), *synthetic_spaces(
                n_spaces=args.spaces, n_samples=n_rows, width=args.width))
            print(f"... {n_rows} rows (load {load_average()})", file=sys.stderr, flush=True)
            library = run_worker("library-traced" if args.trace else "library", directory,
                                 args.working_memory)
            record = {"rows": n_rows, "library s": library["seconds"],
                      "CPU s": library["cpu seconds"],
                      "cores busy": library["cpu seconds"] / library["seconds"]}
            for kind in ("measures", "decoders"):
                record[f"{kind} share"] = library[kind] / library["cpu seconds"]
            # the rest: the invariances' fits and transforms
            record["projections share"] = 1.0 - record["measures share"] \
                - record["decoders share"]
            record["peak MiB above the data"] = library["peak MiB above the data"]
            record["input MiB"] = library["input MiB"]
            record["peak / input"] = record["peak MiB above the data"] / record["input MiB"]
            if args.trace:
                record["traced peak MiB"] = library["traced peak MiB"]
                traced_parts[n_rows] = library["traced parts"]
            if not args.no_naive and n_rows <= args.naive_max:
                naive = run_worker("naive", directory)
                record["plain script s"] = naive["seconds"]
                record["library / plain"] = library["seconds"] / naive["seconds"]
            record["load"] = load_average()
            records.append(record)
            shutil.rmtree(directory)  # five spaces of 48,000 x 768 float32: 700 MiB on disk
    table = pd.DataFrame(records)
    first = table["library s"].iloc[0]
    table.insert(2, f"t / t({table['rows'].iloc[0]})", table["library s"] / first)
    write(args, table, traced_parts)


def report_header(title, script):
    """A results page's first lines: its title, the command that wrote it (this run's
    arguments) and the machine."""
    from skinvariance.cli._kernel_speed import machine_description

    command = f"python benchmarks/{script} " + " ".join(sys.argv[1:])
    return (f"# {title}\n\n"
            f"Command: `{command.strip()}`  \n"
            f"Machine: {machine_description()}\n\n")


def write(args, table, traced_parts):
    from skinvariance._markdown import markdown_table

    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / f"{args.output}.csv", index=False)
    text = (
        report_header("A comparison's cost against the number of rows", "bench_scale_rows.py")
        + f"{args.spaces} synthetic float32 spaces of {args.width} features; "
        "`compare_invariances(spaces, y, random_state=0)` with the defaults (a quarter of the "
        "rows held out for the scores and measures), in a fresh process per size. `cores "
        "busy`: CPU time over wall time. Shares, of the CPU time: inside the similarity "
        "measures, inside the decoders' fits and scores (each unit's own thread), and the "
        "rest (projections and alignments, fitted and applied); up to 1,000 training rows the "
        "learned row's L-BFGS fits run in worker processes, counted in the CPU time and the "
        "decoders' share. `peak MiB above the data`: the peak resident memory (of the calling "
        "process, not of its workers) minus that after loading the spaces and importing the "
        "package "
        f"(working_memory: {args.working_memory or 'the default'}). `plain script`: the same "
        "table the plain scikit-learn / SciPy way (bench_search.naive_compare), default "
        "threads.\n\n"
        f"{markdown_table(table)}\n"
    )
    for n_rows, parts in traced_parts.items():
        text += (f"\nAt {n_rows} rows, the largest blocks alive at the traced peak (MiB, "
                 "where they were allocated):\n\n"
                 + "".join(f"- {size:.1f}: `{where}`\n" for size, where in parts))
    (RESULTS / f"{args.output}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
