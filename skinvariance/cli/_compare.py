"""``skinvariance compare``: compare invariances on spaces read from files, or on a model zoo
trained on the fly, and print the table of :func:`~skinvariance.compare_invariances`."""

import argparse
import inspect
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from ..datasets import DATASETS, FACTORS, make_model_zoo
from ..io import read_spaces
from ..io._files import labels_with_notes
from ..metrics import get_measure
from ..projection import ProductProjection, RelativeProjection
from ..stitching import compare_invariances, default_invariances, make_decoder
from ..stitching._compare import DEFAULT_METRICS
from ..stitching._invariances import DECODERS
from ._common import (
    UsageError,
    add_output_options,
    at_least_two,
    check_kernels,
    check_measures,
    check_output,
    choices_list,
    comma_list,
    emit,
    n_jobs,
    non_negative_int,
    output_format,
    positive_int,
    print_summary,
    seed,
    user_errors,
    write_file,
)
from ._render import render

__all__ = ["add_parser", "run"]


def add_parser(commands):
    """Add the ``compare`` subcommand to ``commands`` (an argparse subparsers object)."""
    compare = commands.add_parser(
        "compare",
        help="compare invariances by similarity and zero-shot stitching",
        description="Compare invariances (absolute, scale, relative kernels, their product, "
        "alignments) by the similarity of the spaces and by zero-shot stitching, and say "
        "which wins. With no FILE, a model zoo is trained on the fly (scikit-learn digits, "
        "five perceptrons differing by their random seed) and compared. Files without "
        "--labels are compared by the similarity measures alone (no stitching is scored).",
    )
    compare.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="the spaces: one .npy per space (named by its stem), .npz archives (one key per "
        "space), or stacked .parquet/.csv files with (space, feature) columns",
    )
    compare.add_argument(
        "--labels",
        metavar="FILE",
        help="the decoders' target, one row per sample (.npy/.csv/.txt); without it, "
        "the spaces are compared by the similarity measures alone",
    )
    _add_row_options(compare)
    _add_decoder_options(compare)
    compare.add_argument(
        "--plot", metavar="FILE.png", help="save a bar chart of the stitching scores (plot extra)"
    )
    compare.add_argument(
        "--n-jobs", type=n_jobs, default=None,
        help="joblib's workers (processes) for the (invariance, split) evaluations; -1 for "
        "all processors (default: the rows one after the other, each row's fits on threads, "
        "every core; the learned row's L-BFGS fits in worker processes)",
    )
    compare.add_argument(
        "--blas-threads",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="at most N BLAS threads while comparing, and at most N fits at once (default, "
        "or 0: the library's thread policy, which already runs the many small decoder fits "
        "with one BLAS thread each, as many at once as there are cores)",
    )
    compare.add_argument("--seed", type=seed, default=0, help="random seed (0)")
    _add_zoo_options(compare)
    add_output_options(compare)
    compare.set_defaults(handler=run)
    return compare


def _add_row_options(compare):
    compare.add_argument(
        "--anchors", type=anchor_counts, default=None, metavar="N[,N...]",
        help="number of parallel anchors, at most the number of samples (300, or every "
        "training row when there are fewer); with --pairing match the number of known pairs "
        "(0 allowed); several counts (0,10,30,100,300) compare at each: the anchor curve",
    )
    compare.add_argument(
        "--pairing", choices=("given", "match"), default="given",
        help="given: the anchor rows are the same inputs in every space (default); match: "
        "only the --anchors rows are known pairs, the other rows are matched unpaired to find "
        "pseudo-anchors",
    )
    compare.add_argument(
        "--invariances",
        type=comma_list,
        metavar="NAMES",
        help="comma-separated rows to compare (default: all of absolute, scale, "
        "relative_<kernel>, relative_cosine_centered, product, orthogonal_standardized, "
        "affine_ridge)",
    )
    compare.add_argument(
        "--kernels",
        type=comma_list,
        metavar="KERNELS",
        help="comma-separated relative kernels; their product is compared too "
        "(default: cosine,euclidean,l1,linf)",
    )
    compare.add_argument(
        "--aggregate",
        choices=("concat", "sum", "mean"),
        help="how the product combines its subspaces (default: concat)",
    )
    compare.add_argument(
        "--metrics",
        type=comma_list,
        metavar="NAMES",
        help="comma-separated similarity measures (default: cka,pearson,cosine,jaccard,mrr)",
    )
    compare.add_argument(
        "--neighbors", type=positive_int, default=None, metavar="K",
        help="neighbours per sample of the neighbour measures (jaccard, mutual_knn, cknna; "
        "default 10); must be smaller than the test rows of a split",
    )
    compare.add_argument(
        "--max-samples", type=max_samples, default="auto", metavar="N",
        help="test rows, at most, whose neighbours and ranks jaccard, mutual_knn, cknna and "
        "mrr average over (each searching all the rows), and that rsa and rbf_cka are "
        "computed on: a positive integer, auto (1000) or all (exact)",
    )
    compare.add_argument(
        "--calibrate",
        choices=("zscore", "pvalue"),
        help="report each measure against its permutation null: a z-score (0 is chance) or "
        "a one-sided p-value (default: the raw measures)",
    )
    compare.add_argument(
        "--n-permutations", type=positive_int, default=999, metavar="N",
        help="shuffles per measure and pair with --calibrate (999)",
    )


def max_samples(value):
    """``--max-samples``: a positive count, ``auto`` or ``all`` (None: every row)."""
    if value in ("auto", "all"):
        return None if value == "all" else value
    try:
        return positive_int(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, auto or all, got {value!r}") from None


def _add_decoder_options(compare):
    compare.add_argument(
        "--decoder",
        choices=DECODERS,
        default=None,
        metavar="NAME",
        help="the stitched decoder: logistic, ridge or knn (logistic regression, ridge or "
        "k-nearest neighbours after scaling; default auto: logistic for class labels, ridge "
        "otherwise), or a learned "
        "aggregation of the product's subspaces (concat, sum, weighted, mlp_sum, attention: "
        "ProductClassifier/ProductRegressor, one subspace for the rows that are not a "
        "product); needs labels",
    )
    compare.add_argument(
        "--scoring",
        metavar="NAME",
        help="how stitching is scored: any scikit-learn scorer name, e.g. accuracy, "
        "f1_weighted, f1_macro, neg_mean_squared_error (default: accuracy for class labels, "
        "neg_mean_squared_error otherwise); needs labels",
    )


def _add_zoo_options(compare):
    zoo = compare.add_argument_group("model zoo (without FILE)")
    zoo.add_argument(
        "--dataset",
        choices=DATASETS,
        help="training data (default digits; mnist_5k and mnist1d need the bench extra)",
    )
    zoo.add_argument(
        "--factors",
        type=choices_list(FACTORS),
        metavar="FACTORS",
        help="what varies between models: initialization, architecture, training "
        "(comma-separated; default initialization)",
    )
    zoo.add_argument("--n-models", type=at_least_two, help="models per factor (default 5)")
    zoo.add_argument(
        "--kind",
        choices=("classifier", "autoencoder"),
        help="classifiers (labels stitched) or autoencoders (inputs reconstructed)",
    )


def _invariances(args, y):
    """The invariances to compare for the target ``y`` (None: no labels, no learned row),
    from --kernels, --aggregate and --invariances."""
    invariances = default_invariances(y)
    if args.kernels is not None:
        check_kernels(args.kernels, "--kernels")
        rebuilt = {}
        for name, estimator in invariances.items():
            if name.startswith("relative_") and name != "relative_cosine_centered":
                # The chosen kernels take the place of the default relative rows.
                for kernel in args.kernels:
                    rebuilt.setdefault(f"relative_{kernel}", RelativeProjection(kernel))
            elif name == "product":
                if len(args.kernels) > 1:
                    rebuilt["product"] = ProductProjection(list(args.kernels))
            elif name == "product_mlp_sum":
                if len(args.kernels) > 1:  # the learned aggregation reads one block per kernel
                    decoder = estimator[1].set_params(n_subspaces=len(args.kernels))
                    rebuilt[name] = (ProductProjection(list(args.kernels)), decoder)
            else:
                rebuilt[name] = estimator
        invariances = rebuilt
    if args.aggregate is not None and "product" in invariances:
        invariances["product"] = invariances["product"].set_params(aggregate=args.aggregate)
    if args.invariances is not None:
        unknown = [name for name in args.invariances if name not in invariances]
        if unknown:
            learned = " (product_mlp_sum needs labels)" if y is None else ""
            raise UsageError(
                f"--invariances: unknown invariance {unknown[0]!r}; choose among "
                f"{', '.join(invariances)}{learned}"
            )
        invariances = {name: invariances[name] for name in args.invariances}
    return invariances


def _check_arguments(args):
    if args.metrics is not None:
        check_measures(args.metrics, "--metrics")
    if args.files and (args.dataset or args.factors or args.n_models or args.kind):
        raise UsageError(
            "--dataset, --factors, --n-models and --kind choose the model zoo; they apply "
            "only when no file is given"
        )
    if not args.files and args.labels is not None:
        raise UsageError("--labels: applies only to spaces read from files")
    if args.files and args.labels is None:
        for option, value in (("--decoder", args.decoder), ("--scoring", args.scoring)):
            if value is not None:
                raise UsageError(
                    f"{option}: applies only with --labels (without labels no stitching is "
                    "scored)"
                )


def _load(args, messages):
    """``(spaces, y, description)`` from the files, or from a model zoo trained now."""
    if args.files:
        messages.progress(f"reading {len(args.files)} file(s)")
        with user_errors():
            spaces = read_spaces(args.files)
            y = None
            if args.labels is not None:
                y, notes = labels_with_notes(args.labels, next(iter(spaces.values())).shape[0],
                                             where=f"--labels {args.labels}")
                for note in notes:
                    messages.info(note)
        return spaces, y, f"{len(spaces)} spaces from files"
    dataset = args.dataset or "digits"
    kind = args.kind or "classifier"
    factors = args.factors or ["initialization"]
    n_models = args.n_models or 5
    messages.progress(
        f"training a model zoo: {n_models} {kind} model(s) per factor "
        f"({', '.join(factors)}) on {dataset}"
    )
    try:
        zoo = make_model_zoo(dataset, factors=factors, n_models=n_models, kind=kind,
                             n_jobs=args.n_jobs, verbose=int(messages.progress_enabled),
                             random_state=args.seed)
    except ImportError as exc:
        raise UsageError(f"--dataset {dataset}: {exc}") from None
    y = zoo.data if kind == "autoencoder" else zoo.target
    description = (
        f"model zoo of {len(zoo.spaces)} {kind}s on {dataset} "
        f"({', '.join(factors)}), trained in {zoo.fit_time:.1f} s"
    )
    return zoo.spaces, y, description


def _decoder(name, y):
    """The --decoder name, checked against the target (compare_invariances builds each
    row's decoder from it: a learned aggregation with the row's subspaces)."""
    name = name or "auto"
    try:
        make_decoder(name, y)
    except ValueError as exc:
        raise UsageError(f"--decoder {name}: {exc}") from None
    return name


def _scorer(name):
    """The scikit-learn scorer named by --scoring, or a one-line usage error."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if name not in get_scorer_names():
        raise UsageError(
            f"--scoring {name}: not a scikit-learn scorer name (e.g. accuracy, f1_weighted, "
            "f1_macro, neg_mean_squared_error)"
        )
    return get_scorer(name)


def _neighbour_measures(names):
    """The names among ``names`` of measures with a neighbour count ``k``."""
    return [name for name in names
            if "k" in inspect.signature(get_measure(name).function).parameters]


def _metrics(names, neighbors):
    """The options ``metrics`` and ``metric_params`` of compare_invariances for --metrics and
    --neighbors (the neighbour count of every neighbour measure)."""
    if neighbors is None:
        return {"metrics": names}
    with_k = _neighbour_measures(names)
    if not with_k:
        raise UsageError(
            f"--neighbors: applies to the neighbour measures (jaccard, mutual_knn, cknna); "
            f"none is among the measures compared ({', '.join(names)})"
        )
    return {"metrics": names, "metric_params": {name: {"k": neighbors} for name in with_k}}


@contextmanager
def _neighbors_hint():
    """Too few rows for a neighbour measure's ``k``: say which options fix it."""
    try:
        yield
    except UsageError as exc:
        if "The 'k' parameter of" not in str(exc):
            raise
        raise UsageError(
            f"{str(exc).rstrip('.')}. Pass a smaller --neighbors K, or leave the measure out "
            "of --metrics"
        ) from None


def _check_plot(args):
    """The --plot file, checked before anything is computed: matplotlib is there, and it
    writes files of that type."""
    plot = check_output(args.plot, args.overwrite, "--plot")
    if plot is not None:
        try:
            import matplotlib
        except ImportError:
            raise UsageError(
                "--plot: needs matplotlib, which comes with the 'plot' extra: "
                'pip install "skinvariance[plot]"'
            ) from None
        matplotlib.use("Agg")
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        formats = sorted(FigureCanvasAgg.get_supported_filetypes())
        if plot.suffix.lower().lstrip(".") not in formats:
            raise UsageError(
                f"--plot {plot}: unsupported file type {plot.suffix or '(none)'!r}; "
                f"choose among {', '.join('.' + name for name in formats)}"
            )
    return plot


def _save_plot(table, plot, overwrite, messages, y):
    import matplotlib.pyplot as plt

    from ..plotting import plot_anchor_curve, plot_invariances

    if "anchors" in table.columns and "stitching_mean" in table.columns:
        ax = plot_anchor_curve(table, chance=_chance(table, y))
    else:
        # the measure that picked the best row: stitching, or a measure without labels
        ax = plot_invariances(table, table.attrs["selected_by"].removesuffix("_mean"))
    try:
        with write_file(plot, overwrite, "--plot") as temporary:
            # The temporary's name ends in .part: the format comes from the plot's suffix.
            ax.figure.savefig(temporary, format=plot.suffix.lower().lstrip("."),
                              bbox_inches="tight", dpi=120)
    finally:
        plt.close(ax.figure)
    messages.info(f"Plot written to {plot}.")


def _chance(table, y):
    """An accuracy that guessing reaches: the share of the most frequent class (None for
    another scorer or target)."""
    if table.attrs.get("scorer") != "accuracy" or y is None or np.ndim(y) != 1:
        return None
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.max() / counts.sum())


def anchor_counts(value):
    """``--anchors``: one count (an int) or several (a list: the anchor curve), each >= 0."""
    counts = [non_negative_int(item) for item in comma_list(value)]
    return counts[0] if len(counts) == 1 else counts


def _check_anchors(args, n_samples):
    """The anchor count(s): --anchors, none above the samples and 0 only with --pairing
    match, or 300 (at most every training row, as compare_invariances does)."""
    if args.anchors is None:
        return 300
    counts = args.anchors if isinstance(args.anchors, list) else [args.anchors]
    shown = ",".join(map(str, counts))
    if max(counts) > n_samples:
        raise UsageError(
            f"--anchors {shown}: more anchors than the {n_samples} rows (samples) of "
            "the spaces; anchors are chosen among the training rows"
        )
    if min(counts) == 0 and args.pairing != "match":
        raise UsageError(
            f"--anchors {shown}: 0 known pairs needs --pairing match (given anchors are "
            "parallel rows: at least 1)"
        )
    return args.anchors


def run(args, messages):
    """Run ``skinvariance compare``; return the exit status."""
    _check_arguments(args)
    labelled = not args.files or args.labels is not None
    _invariances(args, [0, 1] if labelled else None)  # option mistakes before any work
    options = {}
    if args.metrics is not None or args.neighbors is not None:
        options.update(_metrics(args.metrics or list(DEFAULT_METRICS), args.neighbors))
    fmt = output_format(args)
    output = check_output(args.output, args.overwrite, "--output")
    plot = _check_plot(args)
    start = time.perf_counter()
    spaces, y, source = _load(args, messages)
    invariances = _invariances(args, y)
    if y is not None:
        options["decoder"] = _decoder(args.decoder, y)
    n_samples = next(iter(spaces.values())).shape[0]
    anchors = _check_anchors(args, n_samples)
    messages.progress(
        f"comparing {len(invariances)} invariances over {len(spaces)} spaces "
        f"of {n_samples} samples"
    )
    if args.scoring is not None:
        options["scoring"] = _scorer(args.scoring)
    if args.calibrate is not None:
        options.update(calibrate=args.calibrate, n_permutations=args.n_permutations)
    options["max_samples"] = args.max_samples
    compare_start = time.perf_counter()
    with _neighbors_hint(), user_errors(), \
            threadpool_limits(limits=args.blas_threads or None, user_api="blas"):
        table = compare_invariances(spaces, y, invariances,
                                    anchors=anchors, pairing=args.pairing,
                                    random_state=args.seed, n_jobs=args.n_jobs, **options)
    elapsed, compare_time = time.perf_counter() - start, time.perf_counter() - compare_start
    emit(render(table, fmt), output, overwrite=args.overwrite)
    print_summary(_summary(table, source, n_samples, anchors, elapsed, compare_time),
                  fmt, output, args, messages)
    if plot is not None:
        _save_plot(table, plot, args.overwrite, messages, y)
    return 0


def _summary(table, source, n_samples, anchors, elapsed, compare_time):
    if isinstance(anchors, list):  # the curve: the best row at the largest count
        shown = ",".join(map(str, anchors))
        lines = [f"Spaces: {source}; {n_samples} samples, {shown} anchors "
                 f"({table.attrs.get('pairing', 'given')})."]
        table = table[table["anchors"] == max(anchors)]
    else:
        pairing = table.attrs.get("pairing", "given")
        known = " known" if pairing == "match" else ""
        lines = [f"Spaces: {source}; {n_samples} samples, up to {anchors}{known} anchors"
                 + (" and matched pseudo-anchors." if pairing == "match" else ".")]
    best = table.attrs.get("best")
    scorer = table.attrs.get("scorer") or "score"
    calibrated = table.attrs.get("calibrated")
    if calibrated:
        lines.append(f"Measures calibrated: {calibrated} against a permutation null.")
    if table.attrs.get("sampled"):
        lines.append(f"Measures sampled: {table.attrs['sampled']}.")
    if table.attrs.get("stitching") == "not scored":
        lines.append("Stitching not scored (no --labels): compared by the similarity measures "
                     "alone.")
    if best is not None and table.attrs.get("selected_by") == "stitching_mean":
        row = table.loc[table["invariance"] == best].iloc[0]
        lines.append(
            f"Best invariance: {best} (zero-shot stitching {scorer} "
            f"{row['stitching_mean']:.3f} ± {row['stitching_std']:.3f}, "
            f"non-stitched {row['non_stitched_mean']:.3f})."
        )
    elif best is not None:
        column = table.attrs["selected_by"]
        row = table.loc[table["invariance"] == best].iloc[0]
        spread = column.removesuffix("_mean") + "_std"
        lines.append(
            f"Best invariance by {column}: {best} ({row[column]:.3f} ± {row[spread]:.3f})."
        )
    lines.append(f"Took {elapsed:.1f} s (comparison {compare_time:.1f} s).")
    return lines
