"""The anchor curve: stitching against the number of known pairs, with and without matching.

    python benchmarks/bench_anchors.py [--quick] [--speed]

The honest protocol of METHOD.md §9. For each dataset and ordered pair of spaces (source X,
target Y): rows are split into train (70 %) and test (30 %), stratified; ``k`` known pairs
(k = 0, 10, 30, 100, 300) are drawn from the train rows, and the train rows of X and of Y are
then shuffled *independently*, so that the known pairs are the only link between them. Without
matching, each invariance is fitted on the ``k`` known pairs as parallel anchors; with matching,
on the pairs :func:`skinvariance.match_spaces` finds (``method="auto"``, the known pairs kept).
The decoder (``StandardScaler`` + ``LogisticRegression``) is trained on Y's train rows (for
the relative projection, on their projection onto Y's anchors) and scores X's test rows carried
into Y's coordinates (zero-shot stitching). Also reported: pair precision (the share of the
pairs found, known pairs excluded, that are the same sample, and that are of the same class),
chance (the largest class share of the test rows), the non-stitched ceiling (Y's decoder on Y's
own test rows) and the 300-anchor result.

Datasets (all offline): the digits and MNIST-5k model zoos (``make_model_zoo(dataset=...,
factors="architecture")``: multi-layer perceptrons of different depth, width and activation)
and ``bench_search.synthetic_spaces`` (noisy linear images of one latent space, 384 wide).

Writes ``benchmarks/results/anchors.md`` and ``anchors.csv`` (``--output``); ``--quick`` takes
one pair of spaces per dataset (about 20 minutes on a loaded 2-core machine), the default four
per zoo and both directions of the synthetic pair. ``--speed`` instead times ``match_spaces`` on
10,000 x 10,000 rows of 384 features (the synthetic spaces, 10 known pairs and none), each
against the time of one product of that size measured just before, and writes
``anchors_speed.md``. ``quality`` is :func:`match_spaces`' label-free quality (``nan`` when
pairs are known).
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import AffineAlignment, OrthogonalAlignment, RelativeProjection, match_spaces
from skinvariance._markdown import markdown_table
from skinvariance.cli._kernel_speed import machine_description
from skinvariance.exceptions import MatchingWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import synthetic_spaces  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COUNTS = (0, 10, 30, 100, 300)
#: The relative projection uses at most this many of the pairs (the most confident) as anchors.
MAX_RELATIVE_ANCHORS = 1000
INVARIANCES = {
    "affine": lambda: AffineAlignment(alpha="auto"),
    "orthogonal_standardized": lambda: OrthogonalAlignment(standardize=True),
    "relative_cosine": lambda: RelativeProjection("cosine", center=True),
}


def load_datasets(quick):
    from skinvariance.datasets import make_model_zoo

    data = {}
    for name, dataset in (("digits zoo", "digits"), ("MNIST-5k zoo", "mnist_5k")):
        zoo = make_model_zoo(dataset=dataset, factors="architecture", random_state=0)
        spaces = {key: np.asarray(value) for key, value in zoo.spaces.items()}
        data[name] = (spaces, np.asarray(zoo.target))
    data["synthetic 384"] = synthetic_spaces(n_spaces=2, n_samples=3000)
    directions = {}
    for name, (spaces, _) in data.items():
        names = list(spaces)
        chosen = [(0, 1), (1, 3), (2, 4), (3, 0)] if len(names) > 2 else [(0, 1), (1, 0)]
        directions[name] = [(names[a], names[b]) for a, b in chosen[: 1 if quick else None]]
    return data, directions


class Split:
    """One honest split of a source and a target space (see the module docstring)."""

    def __init__(self, X, Y, y, seed):
        rng = np.random.default_rng(seed)
        train, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y,
                                       random_state=seed)
        self.ids_x, self.ids_y = rng.permutation(train), rng.permutation(train)
        self.X_train, self.Y_train = X[self.ids_x], Y[self.ids_y]
        self.X_test, self.y_test, self.y = X[test], y[test], y
        self.Y_test = Y[test]
        self.drawn = rng.permutation(train)  # known pairs: the first k of these samples
        # the row of X_train (Y_train) holding each sample
        self.position_x = dict(zip(self.ids_x, range(len(train))))
        self.position_y = dict(zip(self.ids_y, range(len(train))))
        self.decoder = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.decoder.fit(self.Y_train, y[self.ids_y])

    def known(self, k):
        samples = self.drawn[:k]
        return np.array([[self.position_x[s], self.position_y[s]] for s in samples],
                        dtype=np.intp).reshape(-1, 2)

    def precision(self, pairs, k):
        found = pairs[k:]
        if not len(found):
            return np.nan, np.nan
        a, b = self.ids_x[found[:, 0]], self.ids_y[found[:, 1]]
        return float(np.mean(a == b)), float(np.mean(self.y[a] == self.y[b]))

    def stitch(self, name, pairs):
        """Zero-shot stitching accuracy of one invariance fitted on ``pairs``."""
        X_anchors, Y_anchors = self.X_train[pairs[:, 0]], self.Y_train[pairs[:, 1]]
        if name == "relative_cosine":
            X_anchors = X_anchors[:MAX_RELATIVE_ANCHORS]
            Y_anchors = Y_anchors[:MAX_RELATIVE_ANCHORS]
            source = INVARIANCES[name]().fit(X_anchors)
            target = INVARIANCES[name]().fit(Y_anchors)
            decoder = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            decoder.fit(target.transform(self.Y_train), self.y[self.ids_y])
            predicted = decoder.predict(source.transform(self.X_test))
        else:
            alignment = INVARIANCES[name]().fit(X_anchors, Y_anchors)
            predicted = self.decoder.predict(alignment.transform(self.X_test))
        return float(np.mean(predicted == self.y_test))


def measure(dataset, source, target, X, Y, y, seed):
    split = Split(X, Y, y, seed)
    chance = float(np.bincount(split.y_test).max() / len(split.y_test))
    ceiling = float(np.mean(split.decoder.predict(split.Y_test) == split.y_test))
    rows = []
    for k in COUNTS:
        known = split.known(k)
        start = time.perf_counter()
        with warnings.catch_warnings():  # the quality is reported instead
            warnings.simplefilter("ignore", MatchingWarning)
            pairs, quality = match_spaces(split.X_train, split.Y_train, known if k else None,
                                          random_state=seed, return_quality=True)
        seconds = time.perf_counter() - start
        exact, same_class = split.precision(pairs, k)
        for name in INVARIANCES:
            rows.append({
                "dataset": dataset, "source": source, "target": target, "invariance": name,
                "known pairs": k,
                "without matching": split.stitch(name, known) if k >= 2 else np.nan,
                "with matching": split.stitch(name, pairs),
                "pairs found": len(pairs) - k, "exact precision": exact,
                "same-class precision": same_class, "quality": quality,
                "matching (s)": seconds,
                "chance": chance, "ceiling": ceiling,
            })  # fmt: skip
        print(f"... {dataset} {source} -> {target} k={k}: {len(pairs) - k} pairs, "
              f"precision {exact:.2f} / {same_class:.2f}, quality {quality:.2f}, "
              f"{seconds:.1f} s",
              file=sys.stderr, flush=True)
    return rows


def summary(table):
    """Means over the pairs of spaces, per dataset, invariance and number of known pairs."""
    columns = ["without matching", "with matching", "exact precision", "same-class precision",
               "quality", "chance", "ceiling"]
    means = table.groupby(["dataset", "invariance", "known pairs"], sort=False)[columns].mean()
    means = means.reset_index()
    at_300 = means[means["known pairs"] == 300].set_index(["dataset", "invariance"])
    means["300 known, without matching"] = [
        at_300.loc[(d, i), "without matching"] for d, i in zip(means.dataset, means.invariance)]
    return means


def speed(rows=10_000, width=384):
    spaces, _ = synthetic_spaces(n_spaces=2, n_samples=rows, width=width)
    X, Y = spaces["model_0"], spaces["model_1"]
    order = np.random.default_rng(0).permutation(rows)
    Y, truth = Y[order], np.argsort(order)
    lines = []
    for label, known in (("10 known pairs", np.column_stack([np.arange(10), truth[:10]])),
                         ("no known pair", None)):
        reference = _product_seconds(X, Y)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        with warnings.catch_warnings():  # the quality is reported instead
            warnings.simplefilter("ignore", MatchingWarning)
            pairs, quality = match_spaces(X, Y, known, random_state=0, return_quality=True)
        seconds = time.perf_counter() - start
        exact = float(np.mean(truth[pairs[:, 0]] == pairs[:, 1]))
        lines.append(f"- {label}: {seconds:.1f} s = {seconds / reference:.1f} x the reference "
                     f"product ({reference:.2f} s just before; load average {load:.1f}), "
                     f"{len(pairs)} pairs, exact precision {exact:.3f}, quality {quality:.2f}")
    return (f"match_spaces on {rows:,} x {rows:,} rows of {width} features. The reference: one "
            f"float32 product of {rows:,} x {width} by {width} x {rows:,} (the best of three), "
            "timed just before each case on the same machine:\n\n" + "\n".join(lines) + "\n")


def _product_seconds(X, Y):
    """The best of three timings of ``X @ Y.T`` (float32): the yardstick of a loaded machine."""
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        X @ Y.T
        best = min(best, time.perf_counter() - start)
    return best


def measure_all(measure, quick, seed):
    """``measure(dataset, source, target, X, Y, y, seed)`` (a list of rows) over every ordered
    pair of spaces of :func:`load_datasets`, as one table."""
    data, directions = load_datasets(quick)
    rows = []
    for dataset, (spaces, y) in data.items():
        for source, target in directions[dataset]:
            rows.extend(measure(dataset, source, target, spaces[source], spaces[target], y,
                                seed))
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair of spaces per dataset")
    parser.add_argument("--speed", action="store_true", help="only time 10,000 x 10,000 rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    command = "python benchmarks/bench_anchors.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    args.output.mkdir(parents=True, exist_ok=True)
    if args.speed:
        text = (f"# match_spaces at scale\n\nCommand: `{command.strip()}`  \n"
                f"Machine: {machine_description()}\n\n{speed()}")
        (args.output / "anchors_speed.md").write_text(text)
        print(text)
        return
    load_start = os.getloadavg()[0]
    table = measure_all(measure, args.quick, args.seed)
    table.to_csv(args.output / "anchors.csv", index=False)
    text = (
        "# The anchor curve: stitching against known pairs, with and without matching\n\n"
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine_description()}; load average (1 min) {load_start:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end  \n"
        "Zero-shot stitching accuracy (test rows), the mean over the ordered pairs of spaces "
        "(per pair: `anchors.csv`); precision of the pairs found, known pairs excluded.\n\n"
        f"{markdown_table(summary(table))}\n"
    )
    (args.output / "anchors.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
