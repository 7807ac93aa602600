"""The workshop paper's tables in spirit, on model zoos trained on the fly.

    python benchmarks/bench_zoo.py                                 # digits (always available)
    python benchmarks/bench_zoo.py --datasets digits,mnist1d,mnist_5k   # needs the bench extra
    python benchmarks/bench_zoo.py --anchors 16 --name zoo_anchors16    # fewer anchors than dims

For each dataset and each factor (initialization, architecture, training modality), a zoo of
perceptrons varying that factor alone (skinvariance.datasets.make_model_zoo) is compared under
each invariance: absolute, scale (L2), each relative kernel, centred cosine, the product of the
four kernels (concat and sum), and the alignments: orthogonal (Procrustes) with and without
standard scaling (``_standardized``: the latent space translation), affine by least squares
and by ridge with its strength chosen by leave-one-out over the anchors (``_ridge``:
``alpha="auto"``), with and without standard scaling. (Least squares does not change under
standard scaling, so there is no ``affine_standardized`` row.) ``compare_invariances``' default
alignment rows are ``orthogonal_standardized`` and ``affine_ridge``, chosen from these results.

Writes into benchmarks/results/ (``--name`` replaces the ``zoo`` prefix):

- zoo_similarity.md / .csv: similarity between the spaces of each zoo under each invariance
  (linear CKA, Pearson, cosine, Jaccard@k, MRR, RSA, mutual k-NN, CKNNA), mean ± std over
  ordered pairs of models (for an alignment: the source mapped into the target, beside the
  target). SVCCA, PWCCA and linear-regression R² are left out: they are invariant to the
  invertible linear maps the alignments apply (so every alignment row would repeat the
  absolute one), and on relative spaces as wide as the test rows are many they are 1 by
  construction;
- zoo_stitching.md / .csv: zero-shot stitching, mean ± std over ordered pairs (encoder of one
  model, decoder of another): classification accuracy and weighted F1 (classifier zoos,
  logistic-regression decoder), reconstruction MSE (autoencoder zoos, ridge decoder mapping
  the latent space back to the inputs); "non-stitched" is the decoder on its own absolute
  space.

Every score is measured on held-out rows: the zoo's spaces are of samples no encoder was trained
on, split again (stratified, a quarter) into decoder-training and test rows. Never edited by
hand: rerun the script.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductProjection,
    StitchingEvaluator,
    compare_invariances,
)
from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description
from skinvariance.datasets import FACTORS, make_model_zoo
from skinvariance.stitching import default_invariances

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ["cka", "pearson", "cosine", "jaccard", "mrr", "rsa", "mutual_knn", "cknna"]
METRIC_TITLES = {
    "cka": "Linear CKA", "pearson": "Pearson", "cosine": "Cosine", "jaccard": "Jaccard@10",
    "mrr": "MRR", "rsa": "RSA (Spearman correlation of correlation-distance RDMs)",
    "mutual_knn": "Mutual k-NN (k=10)", "cknna": "CKNNA (k=10)",
}  # fmt: skip

#: Every alignment variant, named by what it is (the default table's own alignment rows are
#: left out: they are one of these).
ALIGNMENTS = {
    "orthogonal": OrthogonalAlignment(),
    "orthogonal_standardized": OrthogonalAlignment(standardize=True),
    "affine": AffineAlignment(),
    "affine_ridge": AffineAlignment(alpha="auto"),
    "affine_ridge_standardized": AffineAlignment(alpha="auto", standardize=True),
}


def invariances():
    table = {
        name: estimator
        for name, estimator in default_invariances().items()
        if not isinstance(estimator, OrthogonalAlignment | AffineAlignment)
    }
    table["product_sum"] = ProductProjection(
        ["cosine", "euclidean", "l1", "linf"], aggregate="sum"
    )
    table.update(ALIGNMENTS)
    return table


def _split(y, classification, seed):
    splitter = (StratifiedShuffleSplit if classification else ShuffleSplit)(
        n_splits=1, test_size=0.25, random_state=seed
    )
    return [next(splitter.split(np.zeros((len(y), 1)), y))]


def _f1_rows(spaces, y, split, anchors, seed):
    """Weighted F1 of zero-shot stitching per invariance (compare_invariances scores accuracy)."""
    train, test = split[0]
    rows = []
    for name, estimator in invariances().items():
        decoder = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        evaluator = StitchingEvaluator(
            estimator, decoder, anchors=anchors, scoring="f1_weighted", random_state=seed
        ).fit({k: Z[train] for k, Z in spaces.items()}, y[train])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            matrix = evaluator.stitching_matrix({k: Z[test] for k, Z in spaces.items()}, y[test])
        values = matrix.to_numpy()
        off = values[~np.eye(len(values), dtype=bool)]
        rows.append(
            {
                "invariance": name,
                "stitching_mean": np.nanmean(off),
                "stitching_std": np.nanstd(off),
                "non_stitched_mean": np.nanmean(np.diag(values)),
                "non_stitched_std": np.nanstd(np.diag(values)),
            }
        )
    return pd.DataFrame(rows)


def run(datasets, n_models, anchors, seed, n_jobs, say):
    similarity, stitching, zoos = [], [], []
    for dataset in datasets:
        for kind in ("classifier", "autoencoder"):
            for factor in FACTORS:
                say(f"{dataset} {kind} zoo, {factor}: training {n_models} models")
                zoo = make_model_zoo(
                    dataset, factors=factor, n_models=n_models, kind=kind, n_jobs=n_jobs,
                    random_state=seed,
                )  # fmt: skip
                zoos.append(zoo.models.assign(dataset=dataset, kind=kind))
                classification = kind == "classifier"
                y = zoo.target if classification else zoo.data
                split = _split(zoo.target, True, seed)  # stratified on labels for both kinds
                decoder = (
                    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                    if classification
                    else make_pipeline(StandardScaler(), Ridge())
                )
                say(f"{dataset} {kind} zoo, {factor}: comparing invariances")
                table = compare_invariances(
                    zoo.spaces, y, invariances(), metrics=METRICS if classification else [],
                    decoder=decoder, anchors=anchors, cv=split, random_state=seed,
                    n_jobs=n_jobs,
                )  # fmt: skip
                key = {"dataset": dataset, "factor": factor}
                if classification:
                    for metric in METRICS:
                        for row in table.itertuples():
                            similarity.append({
                                **key, "invariance": row.invariance, "measure": metric,
                                "mean": getattr(row, f"{metric}_mean"),
                                "std": getattr(row, f"{metric}_std"),
                            })  # fmt: skip
                    scores = [("accuracy", table, 1.0)]
                    say(f"{dataset} {kind} zoo, {factor}: weighted F1")
                    scores.append(
                        ("f1_weighted", _f1_rows(zoo.spaces, y, split, anchors, seed), 1.0)
                    )
                else:
                    # compare_invariances scores regression by neg_mean_squared_error.
                    scores = [("reconstruction_mse", table, -1.0)]
                for score, frame, sign in scores:
                    absolute = frame.set_index("invariance").loc["absolute"]
                    stitching.append({
                        **key, "score": score, "column": "non-stitched",
                        "mean": sign * absolute["non_stitched_mean"],
                        "std": absolute["non_stitched_std"],
                    })  # fmt: skip
                    for row in frame.itertuples():
                        stitching.append({
                            **key, "score": score, "column": row.invariance,
                            "mean": sign * row.stitching_mean, "std": row.stitching_std,
                        })  # fmt: skip
    return pd.DataFrame(similarity), pd.DataFrame(stitching), pd.concat(zoos)


def _pivot(frame, columns_key):
    """Rows dataset/factor, one column per invariance, cells ``mean ± std``."""
    cells = frame.assign(
        cell=[
            f"{m:.3f} ± {s:.3f}" if np.isfinite(m) else ""
            for m, s in zip(frame["mean"], frame["std"])
        ]
    )
    order = list(dict.fromkeys(frame[columns_key]))
    table = cells.pivot_table(
        index=["dataset", "factor"],
        columns=columns_key,
        values="cell",
        aggfunc="first",
        sort=False,
    )
    return table.reindex(columns=order).reset_index()


def _zoo_summary(models):
    score = "test_accuracy"
    grouped = models[models["kind"] == "classifier"].groupby(["dataset", "factor"], sort=False)
    lines = []
    for (dataset, factor), group in grouped:
        lines.append(
            f"- {dataset}, {factor}: {', '.join(group['name'])}; held-out accuracy "
            f"{group[score].min():.3f}-{group[score].max():.3f}"
        )
    grouped = models[models["kind"] == "autoencoder"].groupby(["dataset", "factor"], sort=False)
    for (dataset, factor), group in grouped:
        lines.append(
            f"- {dataset}, {factor} (autoencoders): {', '.join(group['name'])}; held-out "
            f"reconstruction MSE {group['test_mse'].min():.4f}-{group['test_mse'].max():.4f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits", help="comma-separated (digits)")
    parser.add_argument("--n-models", type=int, default=5, help="models per zoo (5)")
    parser.add_argument("--anchors", type=int, default=300, help="parallel anchors (300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--name", default="zoo", help="prefix of the result files (zoo)")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")

    def say(message):
        print(f"... {message}", file=sys.stderr, flush=True)

    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    # The decoders and encoders are small: one BLAS thread each is fastest (and much faster
    # on a shared machine), parallelism comes from --n-jobs.
    with threadpool_limits(limits=1, user_api="blas"):
        similarity, stitching, models = run(
            datasets, args.n_models, args.anchors, args.seed, args.n_jobs, say
        )
    elapsed = time.perf_counter() - start
    load = f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    command = "python benchmarks/bench_zoo.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    header = (
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine_description()}; load average (1 min) {load}  \n"
        f"Zoos of {args.n_models} models per factor, {args.anchors} anchors, seed {args.seed}; "
        f"total {elapsed:.0f} s.\n\n"
        "Spaces are of held-out samples (never seen by an encoder); scores are mean ± std over "
        "ordered pairs of different models, on a quarter of those samples (the decoders and "
        "anchors use the other three quarters).\n"
    )
    f1_note = (
        "\nAccuracy and reconstruction MSE come from `compare_invariances`; weighted F1 from "
        '`StitchingEvaluator(..., scoring="f1_weighted")` on the same split with its own draw '
        "of the anchors (an invariance whose F1 and accuracy disagree is sensitive to which "
        "anchors are drawn).\n"
    )
    args.output.mkdir(parents=True, exist_ok=True)

    sections = ["# Similarity of latent spaces under each invariance\n\n", header]
    for measure in METRICS:
        part = similarity[similarity["measure"] == measure]
        table = markdown_table(_pivot(part, "invariance"))
        sections.append(f"\n## {METRIC_TITLES[measure]}\n\n{table}\n")
    sections.append(f"\n## The zoos\n\n{_zoo_summary(models)}\n")
    (args.output / f"{args.name}_similarity.md").write_text("".join(sections))
    similarity.to_csv(args.output / f"{args.name}_similarity.csv", index=False)

    sections = ["# Zero-shot stitching under each invariance\n\n", header, f1_note]
    titles = {
        "accuracy": "Classification accuracy (higher is better)",
        "f1_weighted": "Classification weighted F1 (higher is better)",
        "reconstruction_mse": "Reconstruction MSE of the inputs (lower is better)",
    }
    for score, title in titles.items():
        part = stitching[stitching["score"] == score]
        if len(part):
            sections.append(f"\n## {title}\n\n{markdown_table(_pivot(part, 'column'))}\n")
    sections.append(f"\n## The zoos\n\n{_zoo_summary(models)}\n")
    (args.output / f"{args.name}_stitching.md").write_text("".join(sections))
    stitching.to_csv(args.output / f"{args.name}_stitching.csv", index=False)
    print((args.output / f"{args.name}_stitching.md").read_text())


if __name__ == "__main__":
    main()
