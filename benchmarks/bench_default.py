"""The main job's time: the default comparison on the embedded default data.

    python benchmarks/bench_default.py               # two rounds
    python benchmarks/bench_default.py --repeat 3

In one run, alternating fresh processes (``--repeat`` rounds), on the model zoo
``skinvariance compare`` trains by default (five classifiers on digits, differing in their
initialisation, ``make_model_zoo(random_state=0)``):

- ``skinvariance compare``, the whole command (interpreter start, imports, training the zoo,
  the comparison, printing the table), with the defaults;
- from Python, ``compare_invariances(zoo.spaces, zoo.target, random_state=0)`` with the
  defaults (timing the comparison only): the learned aggregation's L-BFGS fits in worker
  processes, the other small fits on threads;
- the same with every fit on threads (the learned decoders' fits too, where the GIL makes
  them take turns): the default before those fits went to processes;
- the same with ``n_jobs=1``: every fit one after the other.

Writes benchmarks/results/default.md: the medians, their ratios, and whether the three
Python tables are identical. Never asserts anything.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scale_rows import report_header  # noqa: E402
from bench_search import load_average  # noqa: E402

RESULTS = HERE / "results"
VARIANTS = ("default", "threads", "serial")


def worker(variant):
    import warnings

    import joblib

    from skinvariance import compare_invariances
    from skinvariance.datasets import make_model_zoo
    from skinvariance.stitching import _work

    warnings.simplefilter("ignore")
    zoo = make_model_zoo(random_state=0)
    options = {"n_jobs": 1} if variant == "serial" else {}
    if variant == "threads":
        _work.MIN_ELEMENTS_IN_PROCESSES = float("inf")
    start = time.perf_counter()
    table = compare_invariances(zoo.spaces, zoo.target, random_state=0, **options)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "table": joblib.hash(table.to_numpy())}))


def run_python(variant):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", variant]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_command():
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "skinvariance", "compare"], capture_output=True,
                   check=True)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    runs = []
    for round_ in range(1, args.repeat + 1):
        for variant in VARIANTS:
            print(f"... round {round_}: {variant}", file=sys.stderr, flush=True)
            found = run_python(variant)
            runs.append({"round": round_, "task": f"python, {variant}",
                         "seconds": found["seconds"], "table": found["table"][:12],
                         "load": load_average()})
        print(f"... round {round_}: the command", file=sys.stderr, flush=True)
        runs.append({"round": round_, "task": "skinvariance compare",
                     "seconds": run_command(), "load": load_average()})
    write(pd.DataFrame(runs))


def write(runs):
    from skinvariance._markdown import markdown_table

    median = runs.groupby("task")["seconds"].median()
    python = {variant: median[f"python, {variant}"] for variant in VARIANTS}
    tables = runs.dropna(subset=["table"])["table"]
    summary = pd.DataFrame([{
        "skinvariance compare s": median["skinvariance compare"],
        "python, default s": python["default"],
        "python, all on threads s": python["threads"],
        "python, n_jobs=1 s": python["serial"],
        "default / all on threads": python["default"] / python["threads"],
        "default / n_jobs=1": python["default"] / python["serial"],
        "identical tables": tables.nunique() == 1,
    }])
    text = (
        report_header("The default comparison's time", "bench_default.py")
        + "The model zoo `skinvariance compare` trains by default (five digits classifiers "
        "differing in their initialisation). `skinvariance compare`: the whole command "
        "(interpreter, imports, training the zoo, the comparison, the table). `python`: "
        "`compare_invariances(zoo.spaces, zoo.target, random_state=0)` alone, in a fresh "
        "process each: `default` (the learned aggregation's L-BFGS fits in worker processes, "
        "the other small fits on threads), `all on threads` (those fits on threads too), "
        "`n_jobs=1` (one fit after the other). Medians over the rounds; `identical tables`: "
        "the three variants' tables hash the same.\n\n"
        f"{markdown_table(summary)}\n\nEvery run:\n\n{markdown_table(runs)}\n"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "default.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
