"""Learned aggregations of the product space against linear probes, and the default decoder.

    python benchmarks/bench_aggregation.py                        # digits (always available)
    python benchmarks/bench_aggregation.py --datasets digits,mnist1d,mnist_5k   # bench extra
    python benchmarks/bench_aggregation.py --kinds classifier     # classification only
    python benchmarks/bench_aggregation.py --tables tuning --kinds classifier \
        --datasets digits --factors architecture,training --seeds 1 \
        --name aggregation_tuning                                          # defaults vs grid
    python benchmarks/bench_aggregation.py --tables tuning --kinds classifier \
        --datasets synthetic --seeds 1 --name aggregation_tuning_synthetic
    python benchmarks/bench_aggregation.py --tables solver --name aggregation_solver
    python benchmarks/bench_aggregation.py --tables solver --solver-sizes 200,500,1000 \
        --name aggregation_solver_small

On model zoos varying initialisation, architecture and training recipe
(``skinvariance.datasets.make_model_zoo``; classifier zoos decoded to the labels, autoencoder
zoos to the inputs), three tables:

1. **aggregation**: zero-shot stitching (mean ± std over the ordered pairs of different models
   and over ``--seeds`` seeds of the split, the anchors and the decoders' initialisation),
   with the non-stitched diagonal beside it, of the product of the four kernels
   (``ProductProjection(["cosine", "euclidean", "l1", "linf"])``, oriented and normalised per
   subspace) decoded by ``ProductClassifier`` / ``ProductRegressor(n_subspaces=4)`` with each
   aggregation, by a linear probe with fixed (``C=1`` / ``alpha=1``) and with
   validation-chosen regularisation (``LogisticRegressionCV`` / ``RidgeCV``, chosen on the
   decoder's own training space) under per-subspace "layer" and "l2" normalisation; beside
   them every single kernel, centred cosine and the affine alignment with the
   validation-chosen probe. Each measured with ``StitchingEvaluator`` fitted on the training
   rows and scored on the test rows, as a user runs it; the fit time per decoder is the
   evaluator's fit time divided by the number of models.
2. **training time**: ``ProductClassifier(aggregate="mlp_sum")`` against
   ``MLPClassifier(hidden_layer_sizes=(k,))`` on the same product-space rows (input width
   ``4 k``), the same number of epochs (no early stopping, no stopping on the training loss),
   fits interleaved in the same run, default thread settings.
3. **default decoder**: ``compare_invariances``' default rows decoded by candidate default
   decoders: today's (``PowerOfTwoScaler`` + ``StandardScaler`` + ``LogisticRegression`` /
   ``Ridge``), without the ``StandardScaler``, and with the regularisation chosen by internal
   cross-validation on the decoder's training space (``LogisticRegressionCV`` / ``RidgeCV``),
   with and without the ``StandardScaler``: best row, mean over rows and wall time.

4. **tuning** (``--tables tuning``, classifier zoos, and ``synthetic``: three noisy linear
   images of one labelled latent space, 3,000 x 384 float32, as in bench_search.py): the
   stitching accuracy of each aggregation with the decoders' defaults against the other
   points of a grid (solver, regularisation, and the previous defaults: Adam with
   ``alpha=1e-4`` and early stopping), the four kernels' product and 300 anchors as in (1).
5. **solver** (``--tables solver``): L-BFGS against Adam with early stopping on one
   synthetic space of growing size (the product of the four kernels, 100 anchors, decoded by
   ``"mlp_sum"`` and ``"concat"``): test accuracy, fit time and iterations; where
   ``solver="auto"`` switches.

Writes benchmarks/results/aggregation.md and aggregation.csv (``--name`` changes the name).
Never edited by hand: rerun the script.
"""

import argparse
import inspect
import os
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, Ridge, RidgeCV
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import (
    AffineAlignment,
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
)
from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description
from skinvariance.datasets import FACTORS, make_model_zoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import synthetic_spaces  # noqa: E402

from skinvariance.decoders._estimators import AUTO_LBFGS_MAX_SAMPLES
from skinvariance.stitching import PowerOfTwoScaler

RESULTS = Path(__file__).resolve().parent / "results"
KERNELS = ["cosine", "euclidean", "l1", "linf"]
AGGREGATIONS = ["concat", "sum", "weighted", "mlp_sum", "attention"]
#: The grid of the tuning table: ``{label: decoder parameters}``; the defaults first.
TUNING = {
    "defaults": {},
    "lbfgs, alpha=1e-4": {"solver": "lbfgs", "alpha": 1e-4},
    "lbfgs, alpha=1e-2": {"solver": "lbfgs", "alpha": 1e-2},
    "lbfgs, alpha=1": {"solver": "lbfgs"},
    "adam, alpha=1": {"solver": "adam"},
    "previous defaults (adam, alpha=1e-4)": {"solver": "adam", "alpha": 1e-4,
                                             "max_iter": 200},
}
#: Attention is slow to train: only these points of the grid for it.
TUNING_ATTENTION = ("defaults", "previous defaults (adam, alpha=1e-4)")
#: The regularisation grids searched by the validation-chosen probes.
CS = (0.01, 0.1, 1.0, 10.0, 100.0)
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)
#: Rows of the synthetic space of the solver table.
SOLVER_SIZES = (2_000, 5_000, 13_000)


def logistic_regression_cv(**params):
    """``LogisticRegressionCV(**params)``, an L2 penalty, without the transition warnings.

    scikit-learn 1.8 and later warn unless ``l1_ratios`` and ``use_legacy_attributes`` are
    given; earlier releases have neither parameter.
    """
    names = inspect.signature(LogisticRegressionCV).parameters
    if "use_legacy_attributes" in names:
        params.setdefault("l1_ratios", (0.0,))
        params.setdefault("use_legacy_attributes", False)
    return LogisticRegressionCV(**params)


def probe_cv(classification):
    """The linear probe whose regularisation is chosen by 3-fold CV on its training space."""
    if classification:
        return logistic_regression_cv(Cs=CS, cv=3, max_iter=1000, scoring="neg_log_loss")
    return RidgeCV(alphas=ALPHAS)


def configurations(classification, seed):
    """``{name: (projection, decoder)}`` of the aggregation table, in table order."""
    learned = ProductClassifier if classification else ProductRegressor
    fixed = LogisticRegression(C=1.0, max_iter=1000) if classification else Ridge(alpha=1.0)
    fixed_name = "logistic_C1" if classification else "ridge_alpha1"
    cv_name = "logistic_cv" if classification else "ridge_cv"
    table = {
        f"product + {aggregate}": (
            ProductProjection(KERNELS),
            learned(4, aggregate=aggregate, random_state=seed),
        )
        for aggregate in AGGREGATIONS
    }
    for normalize in ("layer", "l2"):
        product = ProductProjection(KERNELS, normalize=normalize)
        table[f"product ({normalize}) + {fixed_name}"] = (product, fixed)
        table[f"product ({normalize}) + {cv_name}"] = (product, probe_cv(classification))
    singles = {f"relative_{kernel}": RelativeProjection(kernel) for kernel in KERNELS}
    singles["relative_cosine_centered"] = RelativeProjection("cosine", center=True)
    singles["affine_ridge"] = AffineAlignment(alpha="auto")
    for name, projection in singles.items():
        table[f"{name} + {cv_name}"] = (
            projection,
            make_pipeline(PowerOfTwoScaler(), probe_cv(classification)),
        )
    return table


def candidate_decoders(classification):
    """The candidate defaults of ``make_decoder("auto", y)``: ``{label: decoder}``."""
    if classification:
        plain, searched = LogisticRegression(max_iter=1000), probe_cv(True)
        names = ("LogisticRegression", "LogisticRegressionCV")
    else:
        plain, searched = Ridge(), probe_cv(False)
        names = ("Ridge", "RidgeCV")
    return {
        f"(a) scaler + {names[0]} (today)": make_pipeline(
            PowerOfTwoScaler(), StandardScaler(), plain
        ),
        f"(b) {names[0]}, no StandardScaler": make_pipeline(PowerOfTwoScaler(), plain),
        f"(c) scaler + {names[1]}": make_pipeline(PowerOfTwoScaler(), StandardScaler(), searched),
        f"(d) {names[1]}, no StandardScaler": make_pipeline(PowerOfTwoScaler(), searched),
    }


def _split(y, seed):
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=seed)
    return next(splitter.split(np.zeros((len(y), 1)), y))


def _stitching_values(matrix, sign):
    values = sign * matrix.to_numpy()
    off_diagonal = ~np.eye(len(values), dtype=bool)
    return values[off_diagonal], np.diag(values)


def aggregation_rows(zoo, y, seeds, anchors, key, say):
    """Rows of the aggregation table for one zoo: stitched and non-stitched values pooled
    over the seeds, and the fit time per decoder."""
    classification = key["kind"] == "classifier"
    sign = 1.0 if classification else -1.0  # reconstruction: report the MSE itself
    pooled = {}
    for seed in seeds:
        train, test = _split(zoo.target, seed)
        spaces_train = {name: Z[train] for name, Z in zoo.spaces.items()}
        spaces_test = {name: Z[test] for name, Z in zoo.spaces.items()}
        for name, (projection, decoder) in configurations(classification, seed).items():
            say(f"{key['dataset']} {key['kind']} {key['factor']}, seed {seed}: {name}")
            evaluator = StitchingEvaluator(projection, decoder, anchors=anchors,
                                           random_state=seed)  # fmt: skip
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning of early-stopped fits
                evaluator.fit(spaces_train, y[train])
            elapsed = (time.perf_counter() - start) / len(zoo.spaces)
            matrix = evaluator.stitching_matrix(spaces_test, y[test])
            stitched, diagonal = _stitching_values(matrix, sign)
            entry = pooled.setdefault(name, ([], [], []))
            entry[0].extend(stitched)
            entry[1].extend(diagonal)
            entry[2].append(elapsed)
    return [
        {
            **key, "table": "aggregation", "configuration": name,
            "stitching_mean": np.mean(stitched), "stitching_std": np.std(stitched),
            "non_stitched_mean": np.mean(diagonal), "non_stitched_std": np.std(diagonal),
            "fit_seconds": np.mean(times),
        }
        for name, (stitched, diagonal, times) in pooled.items()
    ]  # fmt: skip


def default_decoder_rows(zoo, y, seeds, anchors, candidates, key, say):
    """Rows of the default-decoder table for one zoo: every candidate decoder on
    ``compare_invariances``' default rows, per seed and invariance."""
    classification = key["kind"] == "classifier"
    sign = 1.0 if classification else -1.0  # neg_mean_squared_error back to the MSE
    rows = []
    for seed in seeds:
        split = [_split(zoo.target, seed)]
        for label, decoder in candidate_decoders(classification).items():
            if label[1] not in candidates:
                continue
            say(f"{key['dataset']} {key['kind']} {key['factor']}, seed {seed}: {label}")
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = compare_invariances(
                    zoo.spaces, y, metrics=[], decoder=decoder, anchors=anchors, cv=split,
                    random_state=seed,
                )  # fmt: skip
            elapsed = time.perf_counter() - start
            for row in table.itertuples():
                rows.append({
                    **key, "table": "default_decoder", "configuration": label,
                    "seed": seed, "invariance": row.invariance,
                    "stitching_mean": sign * row.stitching_mean,
                    "non_stitched_mean": sign * row.non_stitched_mean,
                    "fit_seconds": elapsed,
                })  # fmt: skip
    return rows


def timing_rows(zoo, anchors, epochs, repeats, seed, say):
    """``mlp_sum`` against ``MLPClassifier(hidden_layer_sizes=(k,))`` on one zoo's product
    space, same epochs, fits interleaved; median time of ``repeats`` fits each."""
    y = zoo.target
    train, _ = _split(y, seed)
    first = next(iter(zoo.spaces.values()))[train]
    rng = np.random.default_rng(seed)
    anchor_rows = first[rng.choice(len(first), size=min(anchors, len(first)), replace=False)]
    X = ProductProjection(KERNELS).fit(anchor_rows).transform(first)
    k = X.shape[1] // len(KERNELS)
    common = {"max_iter": epochs, "n_iter_no_change": epochs + 1, "early_stopping": False,
              "random_state": seed}  # fmt: skip
    fits = {
        "ProductClassifier(mlp_sum)": ProductClassifier(4, aggregate="mlp_sum", solver="adam",
                                                        **common),
        f"MLPClassifier(({k},))": MLPClassifier(hidden_layer_sizes=(k,), **common),
    }
    times = {name: [] for name in fits}
    epochs_run = {}
    for repeat in range(repeats):
        for name, estimator in fits.items():
            say(f"timing {name}, repeat {repeat + 1}/{repeats}")
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # max_iter reached, by design
                estimator.fit(X, y[train])
            times[name].append(time.perf_counter() - start)
            epochs_run[name] = estimator.n_iter_
    reference = np.median(times[f"MLPClassifier(({k},))"])
    return [
        {
            "table": "timing", "configuration": name, "n_rows": X.shape[0],
            "n_features": X.shape[1], "epochs": epochs_run[name],
            "fit_seconds": np.median(values), "ratio": np.median(values) / reference,
        }
        for name, values in times.items()
    ]  # fmt: skip


def synthetic_zoo(n_spaces=3, n_samples=3000, width=384, latent=32, n_classes=10, seed=0):
    """Noisy linear images of one labelled latent space (bench_search.synthetic_spaces): a
    zoo-like object with ``spaces`` and ``target``."""
    spaces, y = synthetic_spaces(n_spaces, n_samples, width, latent=latent,
                                 n_classes=n_classes, seed=seed)
    return SimpleNamespace(spaces=spaces, target=y, data=None)


def tuning_rows(zoo, y, seeds, anchors, key, say):
    """Rows of the tuning table for one zoo: every aggregation at every point of the grid."""
    rows = []
    for seed in seeds:
        train, test = _split(zoo.target, seed)
        spaces_train = {name: Z[train] for name, Z in zoo.spaces.items()}
        spaces_test = {name: Z[test] for name, Z in zoo.spaces.items()}
        # The point of the grid the defaults resolve to is not run twice.
        auto = "lbfgs" if len(train) <= AUTO_LBFGS_MAX_SAMPLES else "adam"
        for aggregate in AGGREGATIONS:
            for label, params in TUNING.items():
                if aggregate == "attention" and label not in TUNING_ATTENTION:
                    continue
                if params == {"solver": auto}:
                    continue
                say(f"{key['dataset']} {key['factor']}, seed {seed}: {aggregate}, {label}")
                decoder = ProductClassifier(4, aggregate=aggregate, random_state=seed, **params)
                evaluator = StitchingEvaluator(ProductProjection(KERNELS), decoder,
                                               anchors=anchors, random_state=seed)
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    evaluator.fit(spaces_train, y[train])
                elapsed = (time.perf_counter() - start) / len(zoo.spaces)
                stitched, diagonal = _stitching_values(
                    evaluator.stitching_matrix(spaces_test, y[test]), 1.0)
                fitted = list(evaluator.decoders_.values())
                rows.append({
                    **key, "table": "tuning", "seed": seed, "aggregate": aggregate,
                    "configuration": f"defaults ({auto}, alpha=1)" if not params else label,
                    "stitching_mean": np.mean(stitched),
                    "stitching_std": np.std(stitched), "non_stitched_mean": np.mean(diagonal),
                    "fit_seconds": elapsed,
                    "n_iter": np.mean([d.n_iter_ for d in fitted]),
                    "not_converged": sum(issubclass(w.category, ConvergenceWarning)
                                         for w in caught),
                })  # fmt: skip
    return rows


def solver_rows(sizes, anchors, seed, say):
    """L-BFGS against Adam (early stopping) on one synthetic space of each size: the product
    of the four kernels decoded by ``"mlp_sum"`` and ``"concat"``, a quarter held out."""
    rows = []
    for n_samples in sizes:
        zoo = synthetic_zoo(n_spaces=1, n_samples=n_samples, seed=seed)
        X, y = zoo.spaces["model_0"], zoo.target
        train, test = _split(y, seed)
        anchor_rows = X[train[:anchors]]
        product = ProductProjection(KERNELS).fit(anchor_rows)
        P_train, P_test = product.transform(X[train]), product.transform(X[test])
        for aggregate in ("concat", "mlp_sum"):
            for solver in ("lbfgs", "adam"):
                say(f"solver table: {n_samples} rows, {aggregate}, {solver}")
                decoder = ProductClassifier(4, aggregate=aggregate, solver=solver,
                                            random_state=seed)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    decoder.fit(P_train, y[train])
                rows.append({
                    "table": "solver", "n_train": len(train), "aggregate": aggregate,
                    "solver": solver, "test_accuracy": decoder.score(P_test, y[test]),
                    "fit_seconds": time.perf_counter() - start, "n_iter": decoder.n_iter_,
                })  # fmt: skip
    return rows


def tuning_markdown(frame):
    """Per zoo and aggregation: every point of the grid (mean over seeds), the best marked."""
    sections = []
    for (dataset, factor), part in frame.groupby(["dataset", "factor"], sort=False):
        table = (part.groupby(["aggregate", "configuration"], sort=False)
                 [["stitching_mean", "stitching_std", "non_stitched_mean", "fit_seconds",
                   "n_iter", "not_converged"]].mean().reset_index())  # fmt: skip
        best = table.groupby("aggregate", sort=False).stitching_mean.transform("max")
        table["best of grid"] = np.where(table.stitching_mean == best, "best", "")
        sections.append(f"\n### {dataset}, {factor}\n\n"
                        f"{markdown_table(table, floatfmt='.3f')}\n")
    return "".join(sections)


def _cell(mean, std, digits=3):
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def aggregation_markdown(frame):
    """One table per dataset and kind: a row per configuration, per factor the stitched and
    the non-stitched cells, and the mean fit time per decoder."""
    sections = []
    for (dataset, kind), part in frame.groupby(["dataset", "kind"], sort=False):
        digits = 3 if kind == "classifier" else 4
        columns = {}
        for factor, rows in part.groupby("factor", sort=False):
            rows = rows.set_index("configuration")
            columns[f"{factor}: stitched"] = [
                _cell(m, s, digits) for m, s in zip(rows.stitching_mean, rows.stitching_std)
            ]
            columns[f"{factor}: non-stitched"] = [
                _cell(m, s, digits)
                for m, s in zip(rows.non_stitched_mean, rows.non_stitched_std)
            ]
        table = pd.DataFrame(columns, index=list(dict.fromkeys(part.configuration)))
        table["fit s / decoder"] = part.groupby("configuration", sort=False).fit_seconds.mean()
        table = table.rename_axis("configuration").reset_index()
        score = "accuracy (higher is better)" if kind == "classifier" else (
            "reconstruction MSE (lower is better)")
        sections.append(f"\n### {dataset}, {kind} zoos: {score}\n\n{markdown_table(table)}\n")
    return "".join(sections)


def default_decoder_markdown(frame):
    """Per zoo and candidate: the best row (mean over seeds), the mean over rows, the time."""
    lines = []
    keys = ["dataset", "kind", "factor", "configuration"]
    for (dataset, kind, factor, label), part in frame.groupby(keys, sort=False):
        per_row = part.groupby("invariance", sort=False).stitching_mean.mean()
        best = per_row.idxmax() if kind == "classifier" else per_row.idxmin()
        lines.append({
            "dataset": dataset, "kind": kind, "factor": factor, "decoder": label,
            "best row": best, "best stitching": per_row[best],
            "mean over rows": per_row.mean(),
            "compare_invariances s": part.groupby("seed").fit_seconds.first().mean(),
        })  # fmt: skip
    return markdown_table(pd.DataFrame(lines), floatfmt=".3f")


def run(args, say):
    rows, timing = [], []
    seeds = list(range(args.seed, args.seed + args.seeds))
    tables = args.tables.split(",")
    if "solver" in tables:
        sizes = [int(size) for size in args.solver_sizes.split(",")]
        timing += solver_rows(sizes, 100, args.seed, say)
    for dataset in args.datasets.split(","):
        for kind in args.kinds.split(","):
            if dataset == "synthetic" and "tuning" in tables and kind == "classifier":
                zoo = synthetic_zoo(seed=args.seed)
                key = {"dataset": dataset, "kind": kind, "factor": "linear images"}
                rows += tuning_rows(zoo, zoo.target, seeds, args.anchors, key, say)
            if dataset == "synthetic" or not ({"aggregation", "default", "timing",
                                               "tuning"} & set(tables)):
                continue
            for factor in args.factors.split(","):
                say(f"{dataset} {kind} zoo, {factor}: training {args.n_models} models")
                zoo = make_model_zoo(dataset, factors=factor, n_models=args.n_models,
                                     kind=kind, random_state=args.seed)  # fmt: skip
                y = zoo.target if kind == "classifier" else zoo.data
                key = {"dataset": dataset, "kind": kind, "factor": factor}
                if "tuning" in tables and kind == "classifier":
                    rows += tuning_rows(zoo, y, seeds, args.anchors, key, say)
                if "aggregation" in tables:
                    rows += aggregation_rows(zoo, y, seeds, args.anchors, key, say)
                if "default" in tables and args.default_seeds:
                    rows += default_decoder_rows(zoo, y, seeds[: args.default_seeds],
                                                 args.anchors, args.candidates, key,
                                                 say)  # fmt: skip
                if "timing" in tables and not timing and kind == "classifier":
                    timing += timing_rows(zoo, args.anchors, args.epochs, args.repeats,
                                         args.seed, say)  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(timing)


def write_results(args, argv, results, timing, elapsed, loads):
    command = "python benchmarks/bench_aggregation.py " + " ".join(argv)
    if "table" not in results:  # only the timing was asked for
        results = pd.DataFrame({"table": []})
    aggregation = results[results.table == "aggregation"]
    defaults = results[results.table == "default_decoder"]
    tuning = results[results.table == "tuning"]
    everything = pd.concat([results, timing])
    solver = timing[timing.table == "solver"] if len(timing) else timing
    timing = timing[timing.table == "timing"] if len(timing) else timing
    parts = [
        "# Learned aggregation of the product space, and the default decoder\n\n",
        f"Command: `{command.strip()}`  \n",
        f"Machine: {machine_description()}; load average (1 min) {loads[0]:.1f} at the "
        f"start, {loads[1]:.1f} at the end  \n",
        f"Datasets: {args.datasets}; zoos: {args.kinds}, factors {args.factors}, "
        f"{args.n_models} models each; {args.anchors} anchors; seeds {args.seed} to "
        f"{args.seed + args.seeds - 1}; total {elapsed / 60:.1f} min.\n\n",
        "Spaces are of samples no encoder saw; a stratified quarter of them are the test rows, "
        "the rest train the decoders and hold the anchors. Stitched: mean ± std over the "
        "ordered pairs of different models and the seeds; non-stitched: the diagonal.\n",
    ]
    if len(aggregation):
        parts += [
            "\n## 1. Aggregations and linear probes (`StitchingEvaluator`)\n\n",
            "`product + a`: `ProductProjection(['cosine', 'euclidean', 'l1', 'linf'])` "
            "(per-sample standardised, distances negated) then `ProductClassifier` / "
            "`ProductRegressor(n_subspaces=4, aggregate=a)` with their defaults "
            "(`solver='auto'`: L-BFGS on these rows; `alpha=1`). "
            "Fit time: the evaluator's (projections included) per model. "
            "`product (n) + ...`: `normalize=n` and a linear probe on the concatenation. "
            f"`logistic_cv`: `LogisticRegressionCV(Cs={list(CS)}, cv=3, scoring='neg_log_loss')`; "
            f"`ridge_cv`: `RidgeCV(alphas={list(ALPHAS)})` (leave-one-out); after a "
            "`PowerOfTwoScaler` for the single invariances.\n",
            aggregation_markdown(aggregation),
        ]
    if len(timing):
        row = timing.iloc[0]
        parts += [
            "\n## 2. Training time: `mlp_sum` against `MLPClassifier`\n\n",
            f"{row.n_rows} rows, {row.n_features} float64 columns (product space of the first "
            f"zoo), the same epochs, no early stopping; median of {args.repeats} interleaved "
            "fits, default thread settings. Target: ratio ≤ 1.5.\n\n",
            markdown_table(timing.drop(columns="table"), floatfmt=".3g"), "\n",
        ]
    if len(defaults):
        parts += [
            "\n## 3. Default decoder candidates (`compare_invariances`' default rows)\n\n",
            "Best row and mean over the rows of stitching (accuracy, or reconstruction MSE), "
            "each row averaged over the seeds first; the time is one `compare_invariances` "
            f"call (all rows, similarity measures off); {args.default_seeds} seed(s).\n\n",
            default_decoder_markdown(defaults), "\n",
        ]
    if len(tuning):
        parts += [
            "\n## 4. Defaults against a grid (`StitchingEvaluator`, 300 anchors)\n\n",
            "`ProductProjection(['cosine', 'euclidean', 'l1', 'linf'])` then "
            "`ProductClassifier(n_subspaces=4, aggregate=a, **point)`. Stitched: mean (and "
            "std) over the ordered pairs of different models; `fit_seconds`: the evaluator's "
            "fit per model; `n_iter`: mean over the decoders; `not_converged`: how many "
            "decoders of the evaluator warned. `best`: the best point of the grid on the "
            "test rows (an optimistic upper bound: a user chooses without them).\n",
            tuning_markdown(tuning),
        ]
    if len(solver):
        parts += [
            "\n## 5. L-BFGS against Adam as the rows grow (one synthetic space)\n\n",
            "100 anchors, the four kernels' product (400 float32 columns), a quarter of the "
            "rows held out; decoders with their defaults but the solver.\n\n",
            markdown_table(solver.dropna(axis=1, how="all").drop(columns="table"),
                           floatfmt=".3f"), "\n",
        ]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{args.name}.md").write_text("".join(parts))
    everything.to_csv(args.output / f"{args.name}.csv", index=False)
    return args.output / f"{args.name}.md"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits", help="comma-separated (digits)")
    parser.add_argument("--kinds", default="classifier,autoencoder")
    parser.add_argument("--n-models", type=int, default=5, help="models per zoo (5)")
    parser.add_argument("--anchors", type=int, default=300, help="parallel anchors (300)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (0)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (3)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the timing (20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed fits each (5)")
    parser.add_argument("--default-seeds", type=int, default=1,
                        help="seeds of the default-decoder table (1; 0: no table)")
    parser.add_argument("--candidates", default="abcd",
                        help="default-decoder candidates to run (abcd)")
    parser.add_argument("--tables", default="aggregation,timing,default",
                        help="which tables (aggregation,timing,default; tuning, solver)")
    parser.add_argument("--factors", default=",".join(FACTORS),
                        help="zoo factors (" + ",".join(FACTORS) + ")")
    parser.add_argument("--solver-sizes", default=",".join(map(str, SOLVER_SIZES)),
                        help="rows of the synthetic spaces of the solver table")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--name", default="aggregation", help="name of the result files")
    args = parser.parse_args(argv)

    def say(message):
        print(f"... {message}", file=sys.stderr, flush=True)

    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    results, timing = run(args, say)
    elapsed = time.perf_counter() - start
    path = write_results(args, argv, results, timing, elapsed,
                         (load_start, os.getloadavg()[0]))  # fmt: skip
    print(path.read_text())


if __name__ == "__main__":
    main()
