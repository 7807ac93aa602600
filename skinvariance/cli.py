"""The ``skinvariance`` command.

``skinvariance compare`` compares invariances on latent spaces read from files (or, with no
file, on a model zoo trained on the fly) and prints the table of
:func:`~skinvariance.compare_invariances`; ``skinvariance bench`` prints the kernel speed table;
``skinvariance project`` projects an on-disk ``.npy`` matrix onto anchors out of core
(:func:`~skinvariance.outofcore.transform_npy`).
Run ``skinvariance COMMAND --help`` for the options.

Conventions: tables go to standard output (or ``--output``); progress and messages go to
standard error, progress only when standard error is a terminal and ``--quiet`` is not given.
With ``--format csv`` or ``json``, standard output carries the table alone. A user mistake (a
missing or unreadable file, mismatched rows, an unknown kernel, an existing output without
``--overwrite``) prints one line naming the file or option and exits with status 2.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

SPACE_SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
LABEL_SUFFIXES = (".npy", ".csv", ".txt")
FORMATS = ("markdown", "csv", "json")
DECODERS = ("auto", "logistic", "ridge", "knn")
_FORMAT_BY_SUFFIX = {".md": "markdown", ".csv": "csv", ".json": "json"}


class UsageError(Exception):
    """A mistake in the command line or its files: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, no usage block: the line names the option.
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Messages:
    """Progress (terminal only, not --quiet) and messages (not --quiet) on standard error."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.progress_enabled = not quiet and sys.stderr.isatty()

    def progress(self, message):
        if self.progress_enabled:
            print(message, file=sys.stderr, flush=True)

    def info(self, message):
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


def _comma_list(value):
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {value!r}")
    return items


def _choices_list(choices):
    def parse(value):
        items = _comma_list(value)
        for item in items:
            if item not in choices:
                raise argparse.ArgumentTypeError(
                    f"unknown value {item!r}; choose among {', '.join(choices)}"
                )
        return items

    return parse


def _at_least_two(value):
    number = _positive_int(value)
    if number < 2:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 2, got {value!r}")
    return number


def _positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


# Reading files -----------------------------------------------------------------------------


def _read_failed(path, exc):
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return UsageError(f"{path}: cannot read the file ({reason.splitlines()[0]})")


def _numeric_2d(array, path, what):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise UsageError(f"{path}: {what} is not numeric (dtype {array.dtype})")
    if array.ndim != 2:
        raise UsageError(
            f"{path}: {what} must be a 2-D array (samples x features), got shape {array.shape}"
        )
    return array.astype(np.float64, copy=False)


def _read_frame(path):
    import pandas as pd

    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, header=[0, 1])
        first = frame.columns[0]
        if first == ("space", "feature") or str(first[0]).startswith("Unnamed"):
            frame = frame.set_index(first)  # the index column written by to_csv
    if not isinstance(frame.columns, pd.MultiIndex) or frame.columns.nlevels != 2:
        raise UsageError(
            f"{path}: expected two column levels (space, feature), as written by "
            "stack_spaces(spaces).to_parquet() or .to_csv()"
        )
    if frame.columns.get_level_values(0).is_unique:
        # Each "space" one column wide: a flat table whose first data row was read as the
        # second header row, not a stacked one.
        raise UsageError(
            f"{path}: expected two column levels (space, feature), as written by "
            "stack_spaces(spaces).to_parquet() or .to_csv(); every space found has a single "
            "column, which looks like a flat table"
        )
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise UsageError(f"{path}: column {column!r} is not numeric")
    names = list(dict.fromkeys(frame.columns.get_level_values(0)))
    return {
        str(name): frame.loc[:, frame.columns.get_level_values(0) == name].to_numpy(np.float64)
        for name in names
    }


def _check_input(path, suffixes, where):
    """The lower-case suffix of an existing input file of a supported type."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise UsageError(
            f"{where}: unsupported file type {path.suffix or '(none)'!r}; expected one of "
            f"{', '.join(suffixes)}"
        )
    if not path.is_file():
        raise UsageError(f"{where}: no such file")
    return suffix


def read_spaces(paths):
    """Read the spaces named on the command line into an ordered ``{name: array}``.

    One ``.npy`` per space (named by its file stem), ``.npz`` archives (one key per space),
    stacked ``.parquet`` / ``.csv`` files with (space, feature) columns. Raises UsageError
    naming the file for every problem.
    """
    spaces, origin = {}, {}
    for path in map(Path, paths):
        suffix = _check_input(path, SPACE_SUFFIXES, f"{path}")
        try:
            if suffix == ".npy":
                found = {path.stem: _numeric_2d(np.load(path), path, "the array")}
            elif suffix == ".npz":
                with np.load(path) as archive:
                    found = {
                        key: _numeric_2d(archive[key], path, f"key {key!r}") for key in archive
                    }
                if len(found) < 2 and len(paths) == 1:
                    raise UsageError(
                        f"{path}: holds {len(found)} array(s); an .npz needs one key per space "
                        "and at least two spaces"
                    )
            else:
                found = _read_frame(path)
        except UsageError:
            raise
        except (OSError, ValueError, EOFError, KeyError, ImportError) as exc:
            raise _read_failed(path, exc) from None
        for name, array in found.items():
            if name in spaces:
                raise UsageError(
                    f"{path}: space {name!r} was already read from {origin[name]}; "
                    "space names must be unique"
                )
            first_name = next(iter(spaces), None)
            if first_name is not None and array.shape[0] != spaces[first_name].shape[0]:
                raise UsageError(
                    f"{path}: space {name!r} has {array.shape[0]} rows but space "
                    f"{first_name!r} ({origin[first_name]}) has {spaces[first_name].shape[0]}; "
                    "spaces must be row-aligned (the same samples in the same order)"
                )
            if not np.all(np.isfinite(array)):
                raise UsageError(f"{path}: space {name!r} contains NaN or infinity")
            spaces[name], origin[name] = array, path
    if len(spaces) < 2:
        raise UsageError(
            f"{paths[0]}: {len(spaces)} space found; compare needs at least two spaces"
        )
    return spaces


def read_labels(path, n_samples):
    """Read the labels file (``.npy``, or one value per line in ``.csv``/``.txt``)."""
    path = Path(path)
    suffix = _check_input(path, LABEL_SUFFIXES, f"--labels {path}")
    try:
        if suffix == ".npy":
            y = np.load(path)
        else:
            import pandas as pd

            frame = pd.read_csv(path, header=None, sep="," if suffix == ".csv" else r"\s+")
            y = frame.to_numpy()
            if y.shape[1] == 1:
                y = y[:, 0]
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"--labels {path}: cannot read the file ({exc})") from None
    if y.ndim not in (1, 2):
        raise UsageError(f"--labels {path}: expected one label per row, got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise UsageError(
            f"--labels {path}: {y.shape[0]} labels for {n_samples} rows in the spaces"
        )
    return y


# compare -----------------------------------------------------------------------------------


def _invariances(args):
    """The invariances to compare, from --kernels, --aggregate and --invariances."""
    from skinvariance.kernels import available_kernels
    from skinvariance.projection import ProductProjection, RelativeProjection
    from skinvariance.stitching import default_invariances

    invariances = default_invariances()
    if args.kernels is not None:
        known = set(available_kernels(aliases=True))
        for kernel in args.kernels:
            if kernel not in known:
                raise UsageError(
                    f"--kernels: unknown kernel {kernel!r}; choose among "
                    f"{', '.join(sorted(known))}"
                )
        rebuilt = {}
        for name, estimator in invariances.items():
            if name.startswith("relative_") and name != "relative_cosine_centered":
                # The chosen kernels take the place of the default relative rows.
                for kernel in args.kernels:
                    rebuilt.setdefault(f"relative_{kernel}", RelativeProjection(kernel))
            elif name == "product":
                if len(args.kernels) > 1:
                    rebuilt["product"] = ProductProjection(list(args.kernels))
            else:
                rebuilt[name] = estimator
        invariances = rebuilt
    if args.aggregate is not None and "product" in invariances:
        invariances["product"] = invariances["product"].set_params(aggregate=args.aggregate)
    if args.invariances is not None:
        unknown = [name for name in args.invariances if name not in invariances]
        if unknown:
            raise UsageError(
                f"--invariances: unknown invariance {unknown[0]!r}; choose among "
                f"{', '.join(invariances)}"
            )
        invariances = {name: invariances[name] for name in args.invariances}
    return invariances


def _scorer(name):
    """The scikit-learn scorer named by --scoring, or a one-line usage error."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if name not in get_scorer_names():
        raise UsageError(
            f"--scoring {name}: not a scikit-learn scorer name (e.g. accuracy, f1_weighted, "
            "f1_macro, neg_mean_squared_error)"
        )
    return get_scorer(name)


def _decoder(name, y):
    """The decoder for --decoder ``name``; None leaves compare_invariances' default."""
    from sklearn.utils.multiclass import type_of_target

    classification = type_of_target(y) in ("binary", "multiclass")
    if name == "auto":
        name = "logistic" if classification else "ridge"
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        if not classification:
            raise UsageError("--decoder logistic: needs class labels, got a continuous target")
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "ridge":
        from sklearn.linear_model import Ridge, RidgeClassifier

        return make_pipeline(StandardScaler(), RidgeClassifier() if classification else Ridge())
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    return KNeighborsClassifier() if classification else KNeighborsRegressor()


def _check_output(path, overwrite, option):
    if path is None:
        return None
    path = Path(path)
    if path.exists() and not overwrite:
        raise UsageError(f"{option} {path}: the file exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: no such directory {path.parent}")
    return path


def _output_format(args):
    if args.format is not None:
        return args.format
    if args.output is not None:
        return _FORMAT_BY_SUFFIX.get(Path(args.output).suffix.lower(), "markdown")
    return "markdown"


def _markdown(table):
    """The compare table for people: one ``mean ± std`` cell per measure."""
    from skinvariance._bench import markdown_table

    columns = {"invariance": table["invariance"], "kind": table["kind"]}
    for column in table.columns:
        if column.endswith("_mean"):
            measure = column[: -len("_mean")]
            std = table[f"{measure}_std"]
            columns[measure] = [
                "" if np.isnan(m) else f"{m:.3f} ± {s:.3f}" for m, s in zip(table[column], std)
            ]
    columns["best"] = np.where(table["best"], "**best**", "")
    import pandas as pd

    return markdown_table(pd.DataFrame(columns))


def _render(table, fmt, *, markdown=None):
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2) + "\n"
    return (markdown or _markdown)(table) + "\n"


def _emit(text, output):
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _read_failed(output, exc) from None


def _compare(args, messages):
    if args.files and (args.dataset or args.factors or args.n_models or args.kind):
        raise UsageError(
            "--dataset, --factors, --n-models and --kind choose the model zoo; they apply "
            "only when no file is given"
        )
    if args.files and args.labels is None:
        raise UsageError("--labels: required when the spaces are read from files")
    if not args.files and args.labels is not None:
        raise UsageError("--labels: applies only to spaces read from files")
    invariances = _invariances(args)
    fmt = _output_format(args)
    output = _check_output(args.output, args.overwrite, "--output")
    plot = _check_output(args.plot, args.overwrite, "--plot")
    if plot is not None:
        try:
            import matplotlib
        except ImportError:
            raise UsageError(
                "--plot: needs matplotlib, which comes with the 'plot' extra: "
                "pip install 'skinvariance[plot]'"
            ) from None
        matplotlib.use("Agg")

    start = time.perf_counter()
    if args.files:
        messages.progress(f"reading {len(args.files)} file(s)")
        spaces = read_spaces(args.files)
        y = read_labels(args.labels, next(iter(spaces.values())).shape[0])
        source = f"{len(spaces)} spaces from files"
    else:
        from skinvariance.datasets import make_model_zoo

        dataset = args.dataset or "digits"
        kind = args.kind or "classifier"
        factors = args.factors or ["initialization"]
        n_models = args.n_models or 5
        messages.progress(
            f"training a model zoo: {n_models} {kind} model(s) per factor "
            f"({', '.join(factors)}) on {dataset}"
        )
        try:
            zoo = make_model_zoo(
                dataset,
                factors=factors,
                n_models=n_models,
                kind=kind,
                n_jobs=args.n_jobs,
                verbose=int(messages.progress_enabled),
                random_state=args.seed,
            )
        except ImportError as exc:
            raise UsageError(f"--dataset {dataset}: {exc}") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        spaces = zoo.spaces
        y = zoo.data if kind == "autoencoder" else zoo.target
        source = (
            f"model zoo of {len(spaces)} {kind}s on {dataset} "
            f"({', '.join(factors)}), trained in {zoo.fit_time:.1f} s"
        )
    decoder = _decoder(args.decoder, y)
    n_samples = next(iter(spaces.values())).shape[0]
    messages.progress(
        f"comparing {len(invariances)} invariances over {len(spaces)} spaces "
        f"of {n_samples} samples"
    )
    from threadpoolctl import threadpool_limits

    from skinvariance.stitching import compare_invariances

    options = {}
    if args.metrics is not None:
        options["metrics"] = args.metrics
    if args.scoring is not None:
        options["scoring"] = _scorer(args.scoring)
    compare_start = time.perf_counter()
    try:
        with threadpool_limits(limits=args.blas_threads or None, user_api="blas"):
            table = compare_invariances(
                spaces,
                y,
                invariances,
                decoder=decoder,
                anchors=args.anchors,
                random_state=args.seed,
                n_jobs=args.n_jobs,
                **options,
            )
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    elapsed = time.perf_counter() - start
    compare_time = time.perf_counter() - compare_start

    _emit(_render(table, fmt), output)
    best = table.attrs.get("best")
    scorer = table.attrs.get("scorer") or "score"
    summary = [f"Spaces: {source}; {n_samples} samples, {args.anchors} anchors."]
    if best is not None:
        row = table.loc[table["invariance"] == best].iloc[0]
        summary.append(
            f"Best invariance: {best} (zero-shot stitching {scorer} "
            f"{row['stitching_mean']:.3f} ± {row['stitching_std']:.3f}, "
            f"non-stitched {row['non_stitched_mean']:.3f})."
        )
    summary.append(f"Took {elapsed:.1f} s (comparison {compare_time:.1f} s).")
    if fmt == "markdown" and output is None:
        if not args.quiet:
            print("\n" + "\n".join(summary))
    else:
        for line in summary:
            messages.info(line)
    if plot is not None:
        from skinvariance.plotting import plot_invariances

        ax = plot_invariances(table)
        ax.figure.savefig(plot, bbox_inches="tight", dpi=120)
        messages.info(f"Plot written to {plot}.")
    return 0


# bench -------------------------------------------------------------------------------------


def _bench(args, messages):
    from skinvariance._bench import machine_description, markdown_table, run_kernel_benchmark
    from skinvariance.kernels import available_kernels

    known = set(available_kernels())
    for kernel in args.kernels:
        if kernel not in known:
            raise UsageError(
                f"--kernels: unknown kernel {kernel!r}; choose among {', '.join(sorted(known))}"
            )
    fmt = _output_format(args)
    output = _check_output(args.output, args.overwrite, "--output")
    start = time.perf_counter()
    try:
        table = run_kernel_benchmark(
            args.n_samples,
            args.n_anchors,
            args.n_features,
            dtypes=tuple(args.dtype),
            kernels=tuple(args.kernels),
            repeat=args.repeat,
            random_state=args.seed,
            progress=messages.progress,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    _emit(_render(table, fmt, markdown=markdown_table), output)
    summary = [
        f"{args.n_samples} samples x {args.n_anchors} anchors x {args.n_features} features on "
        f"{machine_description()}; took {time.perf_counter() - start:.1f} s.",
        "Ratios are measured in the same run: 'scipy x' and 'sklearn x' are how many times "
        "faster the projection is; 'vs matmul' is its time over the matrix product's.",
    ]
    if fmt == "markdown" and output is None:
        if not args.quiet:
            print("\n" + "\n".join(summary))
    else:
        for line in summary:
            messages.info(line)
    return 0


# project -----------------------------------------------------------------------------------


def _project(args, messages):
    from skinvariance.kernels import available_kernels
    from skinvariance.outofcore import transform_npy
    from skinvariance.projection import RelativeProjection

    known = set(available_kernels(aliases=True))
    if args.kernel not in known:
        raise UsageError(
            f"--kernel: unknown kernel {args.kernel!r}; choose among {', '.join(sorted(known))}"
        )
    anchors_path, input_path = Path(args.anchors_file), Path(args.input_file)
    output = Path(args.output_file)
    for path in (anchors_path, input_path):
        _check_input(path, (".npy",), f"{path}")
    if output.suffix.lower() != ".npy":
        raise UsageError(
            f"{output}: unsupported file type {output.suffix or '(none)'!r} for "
            "the output; expected .npy"
        )
    if output.exists() and not args.overwrite:
        raise UsageError(f"{output}: the file exists; pass --overwrite to replace it")
    if not output.parent.is_dir():
        raise UsageError(f"{output}: no such directory {output.parent}")
    try:
        anchors = np.load(anchors_path)
    except (OSError, ValueError, EOFError) as exc:
        raise _read_failed(anchors_path, exc) from None
    anchors = _numeric_2d(anchors, anchors_path, "the anchors")
    try:
        projection = RelativeProjection(args.kernel).fit(anchors)
    except ValueError as exc:
        raise UsageError(f"{anchors_path}: {str(exc).splitlines()[0]}") from None
    start = time.perf_counter()
    try:
        shape = transform_npy(
            projection,
            input_path,
            output,
            overwrite=args.overwrite,
            working_memory=args.working_memory,
            progress=messages.progress_enabled,
        )
    except (ValueError, OSError) as exc:
        message = str(exc).splitlines()[0]
        named = str(input_path) in message or str(output) in message
        raise UsageError(message if named else f"{input_path}: {message}") from None
    messages.info(
        f"Wrote {output}: {shape[0]:,} rows x {shape[1]:,} {args.kernel} anchor values in "
        f"{time.perf_counter() - start:.1f} s."
    )
    return 0


# the parser --------------------------------------------------------------------------------


def _add_output_options(parser):
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="table format (default: from the --output suffix .md/.csv/.json, else markdown); "
        "with csv or json, standard output carries the table alone",
    )
    parser.add_argument("--output", metavar="FILE", help="write the table to FILE")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output/--plot file"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress and no messages on standard error"
    )


def build_parser():
    """The argument parser of the ``skinvariance`` command."""
    from skinvariance import __version__

    parser = _Parser(
        prog="skinvariance",
        description="Latent space communication: compare invariances between latent spaces, "
        "stitch them zero-shot, time the kernels.",
    )
    parser.add_argument("--version", action="version", version=f"skinvariance {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    compare = commands.add_parser(
        "compare",
        help="compare invariances by similarity and zero-shot stitching",
        description="Compare invariances (absolute, scale, relative kernels, their product, "
        "alignments) by the similarity of the spaces and by zero-shot stitching, and say "
        "which wins. With no FILE, a model zoo is trained on the fly (scikit-learn digits, "
        "five perceptrons differing by their random seed) and compared.",
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
        help="the decoders' target, one row per sample (.npy/.csv/.txt)",
    )
    compare.add_argument(
        "--anchors", type=_positive_int, default=300, help="number of parallel anchors (300)"
    )
    compare.add_argument(
        "--invariances",
        type=_comma_list,
        metavar="NAMES",
        help="comma-separated rows to compare (default: all of absolute, scale, "
        "relative_<kernel>, relative_cosine_centered, product, orthogonal, affine)",
    )
    compare.add_argument(
        "--kernels",
        type=_comma_list,
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
        "--decoder",
        choices=DECODERS,
        default="auto",
        help="the stitched decoder, after standard scaling: logistic regression, ridge or "
        "k-nearest neighbours (default auto: logistic for class labels, ridge otherwise)",
    )
    compare.add_argument(
        "--scoring",
        metavar="NAME",
        help="how stitching is scored: any scikit-learn scorer name, e.g. accuracy, "
        "f1_weighted, f1_macro, neg_mean_squared_error (default: accuracy for class labels, "
        "neg_mean_squared_error otherwise)",
    )
    compare.add_argument(
        "--metrics",
        type=_comma_list,
        metavar="NAMES",
        help="comma-separated similarity measures (default: cka,pearson,cosine,jaccard,mrr)",
    )
    compare.add_argument(
        "--plot", metavar="FILE.png", help="save a bar chart of the stitching scores (plot extra)"
    )
    compare.add_argument(
        "--n-jobs", type=int, default=None, help="parallel jobs (joblib); -1 for all processors"
    )
    compare.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS threads while comparing (1: the decoders are many small fits, for which "
        "threads cost more than they bring; 0: the library default)",
    )
    compare.add_argument("--seed", type=int, default=0, help="random seed (0)")
    zoo = compare.add_argument_group("model zoo (without FILE)")
    zoo.add_argument(
        "--dataset",
        choices=("digits", "mnist_5k", "mnist1d"),
        help="training data (default digits; mnist_5k and mnist1d need the bench extra)",
    )
    zoo.add_argument(
        "--factors",
        type=_choices_list(("initialization", "architecture", "training")),
        metavar="FACTORS",
        help="what varies between models: initialization, architecture, training "
        "(comma-separated; default initialization)",
    )
    zoo.add_argument("--n-models", type=_at_least_two, help="models per factor (default 5)")
    zoo.add_argument(
        "--kind",
        choices=("classifier", "autoencoder"),
        help="classifiers (labels stitched) or autoencoders (inputs reconstructed)",
    )
    _add_output_options(compare)
    compare.set_defaults(handler=_compare)

    bench = commands.add_parser(
        "bench",
        help="time the kernels against scipy, scikit-learn and the matrix product",
        description="Time each kernel's relative projection against scipy's cdist, "
        "scikit-learn's pairwise functions and the matrix product X @ A.T, in the same run, "
        "and print the ratios.",
    )
    bench.add_argument("--n-samples", type=_positive_int, default=5_000, help="rows (5000)")
    bench.add_argument("--n-anchors", type=_positive_int, default=1_280, help="anchors (1280)")
    bench.add_argument("--n-features", type=_positive_int, default=768, help="features (768)")
    bench.add_argument(
        "--kernels",
        type=_comma_list,
        default=["cosine", "euclidean", "l1", "linf"],
        metavar="KERNELS",
        help="comma-separated kernels (cosine,euclidean,l1,linf)",
    )
    bench.add_argument(
        "--dtype",
        type=_choices_list(("float32", "float64")),
        default=["float32", "float64"],
        metavar="DTYPES",
        help="comma-separated dtypes (float32,float64)",
    )
    bench.add_argument("--repeat", type=_positive_int, default=3, help="best of N timings (3)")
    bench.add_argument("--seed", type=int, default=0, help="random seed (0)")
    _add_output_options(bench)
    bench.set_defaults(handler=_bench)
    project = commands.add_parser(
        "project",
        help="project an on-disk .npy matrix onto anchors, out of core",
        description="Project the rows of IN (a float32 or float64 .npy matrix, read one block "
        "at a time, never whole) onto the anchors in ANCHORS with a relative kernel, and "
        "write the (n_samples, n_anchors) result to OUT (.npy, the input's dtype). OUT is "
        "written to a temporary file renamed on success: a failed run leaves no OUT behind.",
    )
    project.add_argument(
        "anchors_file", metavar="ANCHORS", help="the anchors, a .npy matrix (anchors x features)"
    )
    project.add_argument("input_file", metavar="IN", help="the samples, a .npy matrix")
    project.add_argument("output_file", metavar="OUT", help="where to write the .npy result")
    project.add_argument(
        "--kernel",
        default="cosine",
        help="relative kernel: cosine, euclidean, l1, linf, angular, minkowski or an alias "
        "(default cosine)",
    )
    project.add_argument(
        "--working-memory",
        type=_positive_int,
        metavar="MIB",
        help="memory budget of one block of rows, in MiB (default: scikit-learn's "
        "working_memory, 1024)",
    )
    project.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    project.add_argument(
        "--quiet", action="store_true", help="no progress and no messages on standard error"
    )
    project.set_defaults(handler=_project)
    # Further commands add a sub-parser here with
    # ``set_defaults(handler=...)``; main() dispatches on the handler.
    return parser


def main(argv=None):
    """Run the ``skinvariance`` command; return its exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for a user mistake (reported in one line on standard error).

    Examples
    --------
    A user mistake is reported in one line on standard error, with exit status 2:

    >>> from skinvariance.cli import main
    >>> main(["compare", "missing.npy", "other.npy", "--labels", "y.npy"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    messages = _Messages(args.quiet)
    try:
        return args.handler(args, messages)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
