"""The default decoder's probe: LogisticClassifier against scikit-learn's LogisticRegression.

    python benchmarks/bench_logistic.py

What a stitching comparison decodes: the relative representations of synthetic float32 spaces
of 384 features (``bench_search.synthetic_spaces``, ten classes) onto 300 anchors, one kernel
(300 features) and the product of the four (1,200 features), standard-scaled, on the training
rows (three quarters of ``--rows``). Each decoder is fitted as the default decoder is
(``max_iter=1000``, the rest default) in the same run, two ways:

- *alone*: one fit, with the library's default threads (``n_threads=None`` follows the BLAS
  limit; LogisticRegression's products use BLAS's threads);
- *two at once*: two fits (two spaces) on two threads with one BLAS thread, as the batches of
  a comparison run them (``skinvariance._parallel.one_blas_thread``).

Times are the best of ``--repeat``; with the iterations, the accuracy on the held-out rows,
the zero-shot accuracy of the first space's decoder on the second space (stitching), and
the largest difference of the two probes' held-out probabilities.

Writes ``benchmarks/results/logistic.md`` (``--output``).
"""

import argparse
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skinvariance import LogisticClassifier, ProductProjection, RelativeProjection
from skinvariance.cli._kernel_speed import machine_description

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import synthetic_spaces  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
KERNELS = ["cosine", "euclidean", "l1", "linf"]


def _representations(spaces, y, projection, n_train):
    out = []
    for X in spaces.values():
        Z = projection.fit(X[:n_train], y[:n_train]).transform(X)
        scaler = StandardScaler().fit(Z[:n_train])
        out.append((scaler.transform(Z[:n_train]).astype(np.float32),
                    scaler.transform(Z[n_train:]).astype(np.float32)))
    return out


def _fit_two_at_once(make, reps, y_train):
    """Two fits on two threads (the caller limits BLAS to one thread)."""
    models = [None, None]

    def fit(i):
        models[i] = make().fit(reps[i][0], y_train)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return models


def _best(function, repeat):
    """The shortest of ``repeat`` runs of ``function()``, and that run's result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = function()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, result = elapsed, out
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--output", default="logistic")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    spaces, y = synthetic_spaces(2, args.rows, 384)
    n_train = 3 * args.rows // 4
    y_train, y_test = y[:n_train], y[n_train:]
    makers = {"LogisticRegression": lambda: LogisticRegression(max_iter=1000),
              "LogisticClassifier": lambda: LogisticClassifier(max_iter=1000)}
    LogisticClassifier(max_iter=5).fit(np.eye(8, dtype=np.float32), np.arange(8) % 2)  # compile
    rows = []
    for name, projection in (("relative euclidean", RelativeProjection("euclidean")),
                             ("product of the four", ProductProjection(KERNELS))):
        projection.set_params(n_anchors=300, random_state=0)
        reps = _representations(spaces, y, projection, n_train)
        alone, together = {}, {}
        for label, make in makers.items():
            alone[label] = _best(lambda make=make, reps=reps: make().fit(reps[0][0], y_train),
                                 args.repeat)
            with threadpool_limits(1, user_api="blas"):
                together[label] = _best(
                    lambda make=make, reps=reps: _fit_two_at_once(make, reps, y_train),
                    args.repeat)
        for label in makers:
            model = alone[label][1]
            rows.append({
                "features": f"{name}, {reps[0][0].shape[1]}",
                "decoder": label,
                "alone s": alone[label][0],
                "alone / LogisticRegression": alone[label][0] / alone["LogisticRegression"][0],
                "two at once s": together[label][0],
                "two at once / LogisticRegression": (together[label][0]
                                                     / together["LogisticRegression"][0]),
                "iterations": int(np.max(model.n_iter_)),
                "accuracy": model.score(reps[0][1], y_test),
                "stitching": model.score(reps[1][1], y_test),
                "largest probability difference": float(np.abs(
                    model.predict_proba(reps[0][1])
                    - alone["LogisticRegression"][1].predict_proba(reps[0][1])).max()),
            })
    _write(rows, args)


def _write(rows, args):
    columns = list(rows[0])
    lines = [
        "# The default decoder's probe: LogisticClassifier against LogisticRegression", "",
        f"Command: `python benchmarks/bench_logistic.py --rows {args.rows} --repeat "
        f"{args.repeat}`  ",
        f"Machine: {machine_description()}", "",
        f"Two synthetic float32 spaces of 384 features, {args.rows:,} rows (three quarters "
        "to train, ten classes), projected on 300 anchors and standard-scaled; "
        "`max_iter=1000`, the rest default. `alone`: one fit, default threads. `two at "
        "once`: two fits on two threads, one BLAS thread, as a comparison runs its "
        "decoders. Best of the repeats. `accuracy` on the held-out rows, `stitching`: the "
        "first space's decoder on the second space's held-out rows; `largest probability "
        "difference`: against LogisticRegression's held-out probabilities.", "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) and not isinstance(v, bool) else str(v)
                 for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    path = RESULTS / f"{args.output}.md"
    path.write_text("\n".join(lines) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
