"""Search speed: what users wait for when they ask "which invariance?", with the defaults.

    python benchmarks/bench_search.py                      # idle, then loaded (about an hour
                                                           # on a shared 2-core machine)
    python benchmarks/bench_search.py --quick              # smaller data, no scaling runs
    python benchmarks/bench_search.py --previous PATH      # also time the code checked out at
                                                           # PATH (e.g. a worktree of d2bc6aa)

In one run, on the digits model zoo and on five synthetic spaces of 3,000 x 384 float32
(noisy linear images of one labelled latent space):

1. ``compare_invariances(spaces, y, random_state=0)`` from Python, with the defaults, against
   the command line on the same data (``python -m skinvariance compare FILES --labels ...``)
   and against a plain scikit-learn / SciPy script doing the same pairs naively (relative
   representations with ``cdist``, one decoder per space, Procrustes and least squares per
   pair, the five measures written out); each in a fresh process, timing the comparison only.
2. ``GridSearchCV`` over a product of four kernels (2 aggregations x 2 normalisations,
   3 folds) with the defaults, against the naive loop: the same evaluator fitted and scored
   for every candidate and fold, one after the other, under a one-BLAS-thread limit, then
   refitted on every row as GridSearchCV does; each with and without the product's ``memory``
   (a fresh joblib cache directory: each fold's kernels computed once); and, with
   ``--previous``, GridSearchCV with the previous code.
3. The fused product of four kernels against the four single projections.
4. How the times grow with the number of spaces, rows and grid candidates.

Everything runs twice: on the machine as it is ("idle": its load average is printed), then
with a second process per core started by this script, each spinning a one-thread NumPy
matrix product ("loaded"). Writes benchmarks/results/search.md (and .csv): times in seconds
and ratios measured in the same run. Never asserts anything: speed is reported, not tested.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FOUR = ["cosine", "euclidean", "l1", "linf"]
GRID = {"projection__aggregate": ["concat", "sum"], "projection__normalize": ["layer", "l2"]}
LOAD_CODE = (
    "import numpy as np\n"
    "from threadpoolctl import threadpool_limits\n"
    "a = np.random.default_rng(0).normal(size=(400, 400))\n"
    "with threadpool_limits(1):\n"
    "    while True:\n"
    "        a = np.tanh(a @ a)\n"
)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def synthetic_spaces(n_spaces=5, n_samples=3000, width=384, *, latent=32, n_classes=10,
                     seed=0):
    """Noisy linear images of one latent space whose classes overlap; labels from it.

    With these settings a linear probe scores about 0.84 on each space, the relative
    representations stitch at about 0.75 and the alignments at about 0.82: neither trivial nor
    hopeless, like real embeddings of a 10-class problem.
    """
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(1.0 + np.arange(latent))
    means = 2.0 * rng.normal(size=(n_classes, latent)) * spectrum
    y = rng.integers(n_classes, size=n_samples)
    Z = means[y] + 4.0 * rng.normal(size=(n_samples, latent)) * spectrum
    spaces = {}
    for i in range(n_spaces):
        W = rng.normal(size=(latent, width)) / np.sqrt(latent)
        noise = 0.6 * np.sqrt(latent / width) * rng.normal(size=(n_samples, width))
        spaces[f"model_{i}"] = (Z @ W + rng.normal(size=width) + noise).astype(np.float32)
    return spaces, y


def digits_zoo():
    from skinvariance.datasets import make_model_zoo

    zoo = make_model_zoo(factors="architecture", random_state=0)
    return dict(zoo.spaces), np.asarray(zoo.target)


def save(directory, spaces, y):
    directory.mkdir(parents=True, exist_ok=True)
    for name, X in spaces.items():
        np.save(directory / f"{name}.npy", X)
    np.save(directory / "labels.npy", y)
    return directory


def load(directory):
    names = sorted(p.stem for p in directory.glob("*.npy") if p.stem != "labels")
    return {name: np.load(directory / f"{name}.npy") for name in names}, \
        np.load(directory / "labels.npy")


# ---------------------------------------------------------------------------------------------
# The plain scikit-learn script (what the library's table is made of, done pair by pair)
# ---------------------------------------------------------------------------------------------


def _relative(X, A, kernel, center=False):
    from scipy.spatial.distance import cdist

    if center:
        mean = A.mean(axis=0)
        X, A = X - mean, A - mean
    if kernel == "cosine":
        return 1.0 - cdist(X, A, "cosine")
    return cdist(X, A, {"euclidean": "euclidean", "l1": "cityblock", "linf": "chebyshev"}[kernel])


def _layer(R):
    return (R - R.mean(axis=1, keepdims=True)) / R.std(axis=1, keepdims=True)


def _naive_measures(X, Y):
    from sklearn.neighbors import NearestNeighbors

    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    cka = np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))
    out = {"cka": cka}
    if X.shape[1] == Y.shape[1]:
        Xr, Yr = X - X.mean(axis=1, keepdims=True), Y - Y.mean(axis=1, keepdims=True)
        out["pearson"] = np.mean(np.sum(Xr * Yr, axis=1)
                                 / (np.linalg.norm(Xr, axis=1) * np.linalg.norm(Yr, axis=1)))
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        out["cosine"] = np.mean(np.sum(Xn * Yn, axis=1))
        S = Xn @ Yn.T
        out["mrr"] = np.mean(1.0 / np.sum(S >= np.diag(S)[:, None], axis=1))
    sets = []
    for Z in (X, Y):
        neighbours = NearestNeighbors(n_neighbors=11, metric="cosine").fit(Z)
        sets.append([set(row[row != i][:10]) for i, row in
                     enumerate(neighbours.kneighbors(Z, return_distance=False))])
    out["jaccard"] = np.mean([len(a & b) / len(a | b) for a, b in zip(*sets)])
    return out


def _naive_representations(name, train, test, anchors):
    """``{space: (train representation, test representation)}`` for a projection row."""
    from sklearn.preprocessing import Normalizer

    out = {}
    for space in train:
        A = train[space][anchors]
        if name == "absolute":
            out[space] = train[space], test[space]
        elif name == "scale":
            out[space] = Normalizer().fit_transform(train[space]), \
                Normalizer().fit_transform(test[space])
        elif name == "product":
            out[space] = tuple(np.hstack([_layer(_relative(Z, A, k)) for k in FOUR])
                               for Z in (train[space], test[space]))
        else:
            kernel = name.removeprefix("relative_").removesuffix("_centered")
            center = name.endswith("_centered")
            out[space] = tuple(_relative(Z, A, kernel, center) for Z in (train[space],
                                                                         test[space]))
    return out


def naive_compare(spaces, y, random_state=0, n_anchors=300):
    """The table of ``compare_invariances(spaces, y, random_state=random_state)``, computed
    the plain way: scikit-learn, SciPy and NumPy, every pair on its own."""
    from scipy.linalg import orthogonal_procrustes
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)
    names = list(spaces)
    train, test = next(StratifiedShuffleSplit(1, test_size=0.25, random_state=seed)
                       .split(np.zeros((len(y), 1)), y))
    anchors = np.random.RandomState(seed).choice(len(train), min(n_anchors, len(train)),
                                                 replace=False)
    tr = {s: spaces[s][train] for s in names}
    te = {s: spaces[s][test] for s in names}
    rows = []
    for invariance in ("absolute", "scale", "relative_cosine", "relative_euclidean",
                       "relative_l1", "relative_linf", "relative_cosine_centered", "product",
                       "orthogonal", "affine"):
        alignment = invariance in ("orthogonal", "affine")
        reps = _naive_representations("absolute" if alignment else invariance, tr, te, anchors)
        decoders = {s: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                    .fit(reps[s][0], y[train]) for s in names}
        scores, measures = np.zeros((len(names), len(names))), []
        for a, i in enumerate(names):
            for b, j in enumerate(names):
                Zi = reps[i][1]
                if alignment and i != j:
                    Ai, Aj = tr[i][anchors], tr[j][anchors]
                    if invariance == "orthogonal":
                        mi, mj = Ai.mean(axis=0), Aj.mean(axis=0)
                        R, _ = orthogonal_procrustes(Ai - mi, Aj - mj)
                        Zi = (te[i] - mi) @ R + mj
                    else:
                        Zi = LinearRegression().fit(Ai, Aj).predict(te[i])
                scores[a, b] = decoders[j].score(Zi, y[test])
                if i != j:
                    measures.append(_naive_measures(Zi, reps[j][1]))
        off = scores[~np.eye(len(names), dtype=bool)]
        row = {"invariance": invariance}
        for metric in ("cka", "pearson", "cosine", "jaccard", "mrr"):
            values = [m[metric] for m in measures if metric in m]
            row[f"{metric}_mean"] = np.mean(values) if values else np.nan
        row["stitching_mean"], row["non_stitched_mean"] = off.mean(), np.diag(scores).mean()
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Workers: one fresh process per measurement, timing the work only
# ---------------------------------------------------------------------------------------------


def _grid_search(spaces, y, grid, *, refit=True, n_jobs=None, memory=None, probe=False):
    """The search; its decoder standard-scales, then ``LogisticRegression(max_iter=1000)``, or
    the library's ``LogisticClassifier(max_iter=1000)`` with ``probe=True``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skinvariance import (
        LogisticClassifier,
        ProductProjection,
        StitchingEvaluator,
        stack_spaces,
    )

    classifier = LogisticClassifier if probe else LogisticRegression
    decoder = make_pipeline(StandardScaler(), classifier(max_iter=1000))
    projection = ProductProjection(FOUR) if memory is None else ProductProjection(FOUR,
                                                                                   memory=memory)
    evaluator = StitchingEvaluator(projection, decoder, anchors=300, random_state=0)
    search = GridSearchCV(evaluator, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                          refit=refit, n_jobs=n_jobs)
    return search, stack_spaces(spaces)


def _naive_loop(spaces, y, grid, memory=None, probe=False):
    """Every candidate and fold, fitted and scored one after the other, then the best refitted
    on every row: the work of GridSearchCV, by hand, under one BLAS thread (the decoder as in
    :func:`_grid_search`)."""
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid
    from threadpoolctl import threadpool_limits

    search, _ = _grid_search(spaces, y, grid, memory=memory, probe=probe)
    scores = {}
    with threadpool_limits(1):
        for k, params in enumerate(ParameterGrid(grid)):
            for train, test in search.cv.split(np.zeros((len(y), 1)), y):
                evaluator = clone(search.estimator).set_params(**params)
                evaluator.fit({s: X[train] for s, X in spaces.items()}, y[train])
                score = evaluator.score({s: X[test] for s, X in spaces.items()}, y[test])
                scores.setdefault(k, []).append(score)
        best = max(scores, key=lambda k: np.mean(scores[k]))
        clone(search.estimator).set_params(**list(ParameterGrid(grid))[best]).fit(spaces, y)


def worker(task, directory, extra):
    """Run one measurement in this fresh process; print ``{"seconds": ...}`` as JSON."""
    import warnings

    warnings.simplefilter("ignore")
    spaces, y = load(Path(directory))
    grid = json.loads(extra) if extra else GRID
    if task in ("compare-python", "compare-python-n2"):
        from skinvariance import compare_invariances

        n_jobs = 2 if task.endswith("-n2") else None
        start = time.perf_counter()
        table = compare_invariances(spaces, y, random_state=0, n_jobs=n_jobs)
    elif task in ("compare-naive", "compare-naive-1"):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1 if task.endswith("-1") else None):
            start = time.perf_counter()
            table = naive_compare(spaces, y)
    elif task in ("grid", "grid-n2", "grid-memory"):
        # a fresh directory: the kernels of this run only
        memory = tempfile.mkdtemp(dir=directory) if task == "grid-memory" else None
        search, stacked = _grid_search(spaces, y, grid, n_jobs=2 if task == "grid-n2" else None,
                                       memory=memory)
        start = time.perf_counter()
        search.fit(stacked, y)
        table = None
    elif task in ("naive-loop", "naive-loop-memory"):
        memory = tempfile.mkdtemp(dir=directory) if task == "naive-loop-memory" else None
        start = time.perf_counter()
        _naive_loop(spaces, y, grid, memory)
        table = None
    else:
        raise ValueError(task)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds}
    if table is not None:
        result["table"] = table.to_dict(orient="list")
    print(json.dumps(result, default=float))


def run_worker(task, directory, *, code_root=ROOT, extra=None):
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", task, str(directory)]
    if extra:
        command += ["--extra", extra]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cli(directory):
    """``skinvariance compare`` on the saved spaces: its own timing of the comparison, and
    the wall time of the whole command (interpreter start, imports and reading included)."""
    files = sorted(str(p) for p in Path(directory).glob("*.npy") if p.stem != "labels")
    command = [sys.executable, "-m", "skinvariance", "compare", *files,
               "--labels", str(Path(directory) / "labels.npy"), "--seed", "0",
               "--format", "csv"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the command line failed:\n{done.stderr[-3000:]}")
    found = re.search(r"comparison ([0-9.]+) s", done.stderr + done.stdout)
    return float(found.group(1)), wall, pd.read_csv(pd.io.common.StringIO(done.stdout))


def _user_and_system():
    """This process's CPU seconds so far, in user and in system mode (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return np.array([usage.ru_utime, usage.ru_stime])


def product_against_singles(n_samples, repeat):
    """Best-of-``repeat`` times of the product of four kernels and of the four single
    projections, interleaved, for float32 and float64 (1,280 anchors x 768 features); with
    the median CPU time each spent in user and in system mode (the latter mostly the system
    faulting in and zeroing fresh output pages, which varies from call to call)."""
    from skinvariance import ProductProjection, RelativeProjection

    rng = np.random.default_rng(0)
    rows = []
    for dtype in ("float32", "float64"):
        X = rng.standard_normal((n_samples, 768)).astype(dtype)
        A = rng.standard_normal((1280, 768)).astype(dtype)
        singles = {kernel: RelativeProjection(kernel).fit(A) for kernel in FOUR}
        product = ProductProjection(FOUR).fit(A)
        for estimator in (*singles.values(), product):
            estimator.transform(X[:64])  # compiled (or loaded from the cache) before timing
        times = {name: [] for name in (*FOUR, "product")}
        cpu = {"singles": [], "product": []}
        for _ in range(repeat):
            singles_cpu = np.zeros(2)
            for name, estimator in (*singles.items(), ("product", product)):
                before = _user_and_system()
                start = time.perf_counter()
                estimator.transform(X)
                times[name].append(time.perf_counter() - start)
                used = _user_and_system() - before
                if name == "product":
                    cpu["product"].append(used)
                else:
                    singles_cpu += used
            cpu["singles"].append(singles_cpu)
        best = {name: min(values) for name, values in times.items()}
        singles_total = sum(best[kernel] for kernel in FOUR)
        median = {name: np.median(values, axis=0) for name, values in cpu.items()}
        rows.append({"dtype": dtype, "shape": f"{n_samples:,} x 1,280 x 768",
                     **{f"{k} s": best[k] for k in FOUR}, "sum of singles s": singles_total,
                     "product s": best["product"], "product / sum": best["product"]
                     / singles_total,
                     "user CPU, product / singles": median["product"][0]
                     / median["singles"][0],
                     "system CPU s, singles": median["singles"][1],
                     "system CPU s, product": median["product"][1]})
    return rows


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def load_average():
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


@contextmanager
def machine_load(loaded):
    """Nothing, or one busy process per core (a one-thread NumPy loop) while inside."""
    processes = []
    if loaded:
        processes = [subprocess.Popen([sys.executable, "-c", LOAD_CODE])
                     for _ in range(os.cpu_count() or 1)]
        time.sleep(5)  # let them start spinning
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


def _say(message):
    print(f"... {message} (load {load_average()})", file=sys.stderr, flush=True)


def measure_compare(name, directory, condition, records, *, naive_default_threads):
    _say(f"{condition}: compare_invariances on {name}")
    python = run_worker("compare-python", directory)
    cli_compare, cli_wall, cli_table = run_cli(directory)
    naive = run_worker("compare-naive-1", directory)
    # Rows are paired by name: the plain script has no learned row and other alignments.
    table = pd.DataFrame(python["table"]).set_index("invariance")
    naive_table = pd.DataFrame(naive["table"]).set_index("invariance")
    cli_table = cli_table.set_index("invariance") if "invariance" in cli_table else cli_table
    shared = naive_table.index.intersection(table.index)
    columns = list(naive_table.columns.intersection(table.columns))
    record = {
        "condition": condition, "data": name, "python s": python["seconds"],
        "cli (comparison) s": cli_compare, "cli (whole command) s": cli_wall,
        "python / cli": python["seconds"] / cli_compare,
        "naive, 1 BLAS thread s": naive["seconds"],
        "naive (1 thread) / python": naive["seconds"] / python["seconds"],
        "naive vs library, max abs diff": float((naive_table.loc[shared, columns]
                                                 - table.loc[shared, columns]).abs().max().max()),
        "cli vs python, max abs diff": float((cli_table.select_dtypes("number")
                                              - table[cli_table.select_dtypes("number")
                                                      .columns]).abs().max().max()),
        "load": load_average(),
    }
    record["python, n_jobs=2 s"] = run_worker("compare-python-n2", directory)["seconds"]
    if naive_default_threads:
        default = run_worker("compare-naive", directory)
        record["naive, default threads s"] = default["seconds"]
        record["naive (default) / python"] = default["seconds"] / python["seconds"]
    records.append(record)


def measure_grid(name, directory, condition, records, previous):
    _say(f"{condition}: GridSearchCV on {name}")
    record = {"condition": condition, "data": name, "candidates x folds": "4 x 3"}
    record["GridSearchCV s"] = run_worker("grid", directory)["seconds"]
    record["GridSearchCV, memory s"] = run_worker("grid-memory", directory)["seconds"]
    record["naive loop, 1 thread s"] = run_worker("naive-loop", directory)["seconds"]
    record["naive loop, 1 thread, memory s"] = run_worker("naive-loop-memory",
                                                          directory)["seconds"]
    record["grid / naive"] = record["GridSearchCV s"] / record["naive loop, 1 thread s"]
    record["grid (memory) / naive"] = (record["GridSearchCV, memory s"]
                                       / record["naive loop, 1 thread s"])
    record["grid (memory) / naive (memory)"] = (record["GridSearchCV, memory s"]
                                                / record["naive loop, 1 thread, memory s"])
    record["GridSearchCV n_jobs=2 s"] = run_worker("grid-n2", directory)["seconds"]
    if previous is not None:
        _say(f"{condition}: GridSearchCV on {name}, previous code")
        old = run_worker("grid", directory, code_root=previous)["seconds"]
        record["previous code GridSearchCV s"] = old
        record["previous / grid"] = old / record["GridSearchCV s"]
        naive = run_worker("naive-loop", directory, code_root=previous)["seconds"]
        record["previous code naive loop, 1 thread s"] = naive
        record["previous naive / grid"] = naive / record["GridSearchCV s"]
    record["load"] = load_average()
    records.append(record)


def measure_scaling(directory_of, condition, records):
    """Times of the defaults as spaces, rows and candidates grow (synthetic data)."""
    grids = {2: {"projection__aggregate": ["concat", "sum"]}, 4: GRID,
             8: {**GRID, "decoder__logisticregression__C": [0.1, 1.0]}}
    for n_spaces, n_rows in ((3, 1500), (5, 1500), (3, 3000), (5, 3000)):
        directory = directory_of(n_spaces, n_rows)
        _say(f"{condition}: scaling, {n_spaces} spaces x {n_rows} rows")
        record = {"condition": condition, "spaces": n_spaces, "rows": n_rows,
                  "compare_invariances s": run_worker("compare-python", directory)["seconds"]}
        for n_candidates, grid in grids.items():
            if n_candidates == 4 or (n_spaces, n_rows) == (5, 3000):
                record[f"GridSearchCV, {n_candidates} candidates s"] = run_worker(
                    "grid", directory, extra=json.dumps(grid))["seconds"]
        record["load"] = load_average()
        records.append(record)


def run(args):
    from skinvariance.cli._kernel_speed import machine_description

    workdir = Path(tempfile.mkdtemp(prefix="bench_search_"))
    n_rows = 1500 if args.quick else 3000
    _say("training the digits model zoo")
    datasets = {
        "digits zoo (5 x 899 x 32, float64)": save(workdir / "zoo", *digits_zoo()),
        f"synthetic (5 x {n_rows:,} x 384, float32)":
            save(workdir / "synthetic", *synthetic_spaces(n_samples=n_rows)),
    }

    def directory_of(n_spaces, rows):
        path = workdir / f"scale_{n_spaces}_{rows}"
        return path if path.exists() else save(path, *synthetic_spaces(n_spaces, rows))

    compare, grid, product, scaling = [], [], [], []
    conditions = {"idle": f"as found (load average {load_average()} before starting)",
                  "loaded": f"plus {os.cpu_count()} busy processes started by this script"}
    for condition in ("idle", "loaded"):
        with machine_load(condition == "loaded"):
            for name, directory in datasets.items():
                measure_compare(name, directory, condition, compare,
                                naive_default_threads=name.startswith("digits"))
                measure_grid(name, directory, condition, grid, args.previous)
            _say(f"{condition}: product of four kernels")
            for row in product_against_singles(2_000 if args.quick else 8_000, args.repeat):
                product.append({"condition": condition, **row, "load": load_average()})
            if not args.quick and condition == "idle":
                measure_scaling(directory_of, condition, scaling)
    return write(args, machine_description(), conditions, compare, grid, product, scaling)


def _section(title, text, records):
    if not records:
        return ""
    from skinvariance._markdown import markdown_table

    return f"## {title}\n\n{text}\n\n{markdown_table(pd.DataFrame(records))}\n\n"


def write(args, machine, conditions, compare, grid, product, scaling):
    command = "python benchmarks/bench_search.py " + " ".join(args.argv)
    text = (
        "# Search speed\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine}  \n"
        f"Conditions: idle = {conditions['idle']}; loaded = {conditions['loaded']} "
        "(a one-thread NumPy loop each). `load` = the load average (1, 5, 15 min) after each "
        "measurement.\n\n"
        "Every time is one run of a fresh process (imports, data loading and, for the command "
        "line, reading the files excluded unless stated), in seconds.\n\n"
    )
    text += _section(
        "compare_invariances: Python with the defaults, the command line, a plain script",
        "`python s`: `compare_invariances(spaces, y, random_state=0)`. `cli (comparison) s`: "
        "the time `skinvariance compare FILES --labels y.npy --seed 0` reports for the "
        "comparison; `cli (whole command)` adds the interpreter, imports and reading the "
        "files. `naive`: the same table computed by a plain scikit-learn / SciPy script, pair "
        "by pair (`naive_compare` in this file), under one BLAS thread and (digits) with the "
        "default threads, as a script that sets no limit runs. `n_jobs=2`: the library with "
        "two jobs. `max abs diff`: the largest "
        "difference between the tables (scores differ by a sample or two: SciPy's float64 "
        "kernels against the library's float32 ones). The plain script computes ten of the "
        "default table's eleven rows: not `product_mlp_sum` (the learned aggregation), and the "
        "alignments without standardisation or ridge; `max abs diff` compares the rows both "
        "have, by name.",
        compare)
    text += _section(
        "GridSearchCV over a product of four kernels",
        "`GridSearchCV(StitchingEvaluator(ProductProjection([cosine, euclidean, l1, linf]), "
        "StandardScaler + LogisticRegression(max_iter=1000), anchors=300, random_state=0), "
        "{aggregate: [concat, sum], normalize: [layer, l2]}, cv=StratifiedKFold(3))` with "
        "its defaults (n_jobs=None, refit=True). The naive loop: the same evaluator fitted "
        "and scored for every candidate and fold, one after the other, then the best refitted "
        "on every row, all under `threadpool_limits(1)`. `memory`: the product given "
        "`memory=` a fresh joblib cache directory (each fold's kernels computed once, read "
        "back by the other candidates). `n_jobs=2`: "
        "`GridSearchCV(..., n_jobs=2)`. `previous`: the same GridSearchCV, and the naive loop "
        "under one BLAS thread, with the code given by `--previous`.",
        grid)
    text += _section(
        "The product of four kernels against the four single projections",
        "`ProductProjection([cosine, euclidean, l1, linf])` (concat, each subspace "
        "normalised per sample) against `RelativeProjection(kernel)` for each kernel (raw "
        "values, no normalisation), best of "
        f"{args.repeat}, interleaved, with the thread policy's defaults. `user CPU, product / "
        "singles`: the medians of the CPU time this process spent computing (in user mode) "
        "on the product and on the four singles. `system CPU s`: the medians of the CPU time "
        "the system spent for it, mostly faulting in and zeroing the fresh pages of the "
        "outputs (the same bytes for both), which varies from call to call, most on a busy "
        "machine: a wall time above the singles' with less user CPU is that time.",
        product)
    text += _section(
        "How the time grows (synthetic spaces, idle)",
        "Defaults throughout; the grid of 2 candidates searches `aggregate`, the grid of 8 "
        "adds `decoder__logisticregression__C` in {0.1, 1}.",
        scaling)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(text)
    frames = [pd.DataFrame(records).assign(section=section) for section, records in
              (("compare", compare), ("grid", grid), ("product", product),
               ("scaling", scaling)) if records]
    pd.concat(frames, ignore_index=True).to_csv(args.output.with_suffix(".csv"), index=False)
    print(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,500 synthetic rows, 2,000-row product, no scaling runs")
    parser.add_argument("--previous", type=Path, default=None,
                        help="a checkout of the previous code, to time its GridSearchCV")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS / "search")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "DIRECTORY"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--extra", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    if args.worker:
        worker(*args.worker, args.extra)
        return None
    return run(args)


if __name__ == "__main__":
    main()
