"""Scale benchmark: projecting on-disk embedding matrices out of core, and with Dask.

For each size, a float32 matrix (``--features`` columns, standard normal values) is generated
on disk chunk by chunk, then projected onto ``--anchors`` cosine anchors into an on-disk
output, twice:

- out of core on one process: :func:`skinvariance.io.transform_npy`;
- with Dask on a ``LocalCluster`` (processes on this machine):
  ``dask_to_npy(projection.transform(dask_from_npy(path)), out)``.

Reported per size: seconds, rows per second and the peak resident memory above the baseline
measured after imports and a small warm-up run (for Dask, after the cluster started and ran
the warm-up), sampled every 20 ms in a thread with psutil (for Dask: this process plus every
worker and nanny process). The in-memory
``transform`` of the first rows of the first size (read into memory first, not timed) gives
the reference throughput of the same run; the out-of-core and Dask rows are reported as ratios
against it. Generated files are deleted as soon as each size is done.

Default arguments run quickly (small sizes). ``--big`` runs 1M, 4M and 16M rows x 768 features
(the input of 16M rows is 49 GB, its output 82 GB): a size whose input and output do not fit
on the disk (with ``--disk-margin-gb`` to spare for others) is not run, and the table says so.
``--output`` writes the Markdown table (``--big`` defaults to benchmarks/results/scale.md).

Needs the ``bench`` and ``dask`` extras (psutil, dask.distributed).
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from skinvariance import RelativeProjection
from skinvariance.io import dask_from_npy, dask_to_npy, transform_npy

GB = 1e9
MIB = 2**20


class PeakRSS:
    """Peak resident set size of this process (and optionally its children), in a thread."""

    def __init__(self, children=False, interval=0.02):
        self.process = psutil.Process()
        self.children = children
        self.interval = interval

    def current(self):
        processes = [self.process]
        if self.children:
            processes += self.process.children(recursive=True)
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a process that just ended
                pass
        return total

    def __enter__(self):
        self.baseline = self.current()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())

    @property
    def above_baseline_mib(self):
        return (self.peak - self.baseline) / MIB


def generate(path, n_rows, n_features, seed, chunk_rows=65_536):
    """Write a float32 standard-normal ``.npy`` matrix chunk by chunk (plain writes)."""
    import io

    rng = np.random.default_rng(seed)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {"descr": "<f4", "fortran_order": False, "shape": (n_rows, n_features)},
    )
    with open(path, "wb") as file:
        file.write(header.getvalue())
        for start in range(0, n_rows, chunk_rows):
            rows = min(chunk_rows, n_rows - start)
            file.write(rng.standard_normal((rows, n_features), dtype=np.float32).data)


def machine_description(workdir):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import sklearn

    try:
        import dask

        dask_version = dask.__version__
    except ImportError:
        dask_version = "not installed"
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPUs, "
        f"{psutil.virtual_memory().total / GB:.0f} GB RAM, "
        f"{shutil.disk_usage(workdir).free / GB:.0f} GB free on the benchmark disk at start; "
        f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, dask {dask_version}"
    )


def run(args):
    workdir = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=args.workdir))
    machine = machine_description(workdir)
    rng = np.random.default_rng(args.seed)
    anchors = rng.standard_normal((args.anchors, args.features), dtype=np.float32)
    projection = RelativeProjection("cosine").fit(anchors)
    rows_out, notes = [], []
    reference = None
    cluster = client = None
    try:
        if not args.no_dask:
            from distributed import Client, LocalCluster

            cluster = LocalCluster(
                processes=True,
                n_workers=args.workers,
                threads_per_worker=1,
                dashboard_address=None,
                host="127.0.0.1",
            )
            client = Client(cluster)
        warm_up(projection, workdir, client)
        for index, n_rows in enumerate(args.sizes):
            in_bytes = 4 * n_rows * args.features + 128
            out_bytes = 4 * n_rows * args.anchors + 128
            free = shutil.disk_usage(workdir).free
            needed = in_bytes + out_bytes + args.disk_margin_gb * GB
            if needed > free:
                notes.append(
                    f"{n_rows:,} rows not run: input {in_bytes / GB:.1f} GB + output "
                    f"{out_bytes / GB:.1f} GB + {args.disk_margin_gb:.0f} GB margin for the "
                    f"other users of the disk = {needed / GB:.1f} GB > {free / GB:.1f} GB free."
                )
                print(notes[-1], file=sys.stderr)
                continue
            source, target = workdir / f"X_{n_rows}.npy", workdir / f"R_{n_rows}.npy"
            try:
                started = time.perf_counter()
                generate(source, n_rows, args.features, args.seed + 1 + index)
                print(
                    f"{n_rows:,} rows: generated {in_bytes / GB:.1f} GB in "
                    f"{time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                )
                if reference is None:
                    reference = in_memory(projection, source, min(n_rows, args.in_memory_rows))
                    rows_out.append(reference)
                    print(format_row(reference, reference), file=sys.stderr)
                row = out_of_core(projection, source, target, n_rows, args)
                rows_out.append(row)
                print(format_row(row, reference), file=sys.stderr)
                target.unlink(missing_ok=True)
                if client is not None:
                    row = with_dask(projection, source, target, n_rows, args)
                    rows_out.append(row)
                    print(format_row(row, reference), file=sys.stderr)
            finally:
                source.unlink(missing_ok=True)
                target.unlink(missing_ok=True)
    finally:
        if client is not None:
            client.close()
            cluster.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return machine, rows_out, reference, notes


def warm_up(projection, workdir, client):
    """Imports, thread pools and first calls, here and on the workers, before any baseline."""
    source, target = workdir / "warm_up.npy", workdir / "warm_up_out.npy"
    generate(source, 2_000, projection.n_features_in_, 0)
    try:
        projection.transform(np.load(source))
        transform_npy(projection, source, target, overwrite=True, progress=False)
        if client is not None:
            lazy = projection.transform(dask_from_npy(source, chunk_rows=500))
            dask_to_npy(lazy, target, overwrite=True)
    finally:
        source.unlink(missing_ok=True)
        target.unlink(missing_ok=True)


def in_memory(projection, source, n_rows):
    X = np.array(np.load(source, mmap_mode="r")[:n_rows])  # read first, not timed
    with PeakRSS() as memory:
        started = time.perf_counter()
        R = projection.transform(X)
        seconds = time.perf_counter() - started
    del R, X
    return {
        "engine": "in memory (transform of an ndarray)",
        "rows": n_rows,
        "seconds": seconds,
        "peak": memory.above_baseline_mib,
        "workers": 1,
    }


def out_of_core(projection, source, target, n_rows, args):
    with PeakRSS() as memory:
        started = time.perf_counter()
        transform_npy(projection, source, target, overwrite=True, progress=args.progress)
        seconds = time.perf_counter() - started
    return {
        "engine": "out of core (transform_npy)",
        "rows": n_rows,
        "seconds": seconds,
        "peak": memory.above_baseline_mib,
        "workers": 1,
    }


def with_dask(projection, source, target, n_rows, args):
    with PeakRSS(children=True) as memory:
        started = time.perf_counter()
        lazy = projection.transform(dask_from_npy(source, chunk_rows=args.chunk_rows))
        dask_to_npy(lazy, target, overwrite=True)
        seconds = time.perf_counter() - started
    return {
        "engine": f"Dask LocalCluster ({args.workers} worker processes x 1 thread)",
        "rows": n_rows,
        "seconds": seconds,
        "peak": memory.above_baseline_mib,
        "workers": args.workers,
    }


def format_row(row, reference):
    rate = row["rows"] / row["seconds"]
    ratio = (
        "n/a" if reference is None else f"{rate * reference['seconds'] / reference['rows']:.2f}"
    )
    return (
        f"| {row['rows']:,} | {row['engine']} | {row['seconds']:.1f} | {rate:,.0f} | "
        f"{ratio} | {row['peak']:,.0f} |"
    )


def markdown(args, machine, rows, reference, notes):
    command = "python " + " ".join([sys.argv[0], *sys.argv[1:]])
    lines = [
        "# Scale: out-of-core and Dask projections of on-disk matrices",
        "",
        f"Command: `{command}`  ",
        f"Date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}  ",
        f"Machine: {machine}.  ",
        "The machine was shared with several other people working at the same time: timings "
        "are noisy and memory/disk figures are this run's only.",
        "",
        f"Input: float32 standard-normal matrices of {args.features} features generated on "
        f"disk; projection: RelativeProjection('cosine') on {args.anchors} anchors; output: "
        "float32, written to disk. Peak RSS is above the baseline after imports and a 2,000-row "
        "warm-up run (for Dask: summed over this process and the cluster's worker and nanny "
        "processes, after they ran the warm-up), sampled every 20 ms. Ratio: rows/s against "
        "the in-memory transform (first table row).",
        "",
        "| rows | engine | seconds | rows/s | rows/s vs in memory | peak RSS above "
        "baseline (MiB) |",
        "|---:|---|---:|---:|---:|---:|",
        *[format_row(row, reference) for row in rows],
    ]
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--big",
        action="store_true",
        help="1M, 4M and 16M rows (writes benchmarks/results/scale.md)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(float(v)) for v in s.split(",")],
        default=None,
        help="comma-separated row counts (default 20000,60000)",
    )
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--anchors", type=int, default=1280)
    parser.add_argument(
        "--in-memory-rows",
        type=int,
        default=500_000,
        help="rows of the in-memory reference (at most the first size)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="rows per Dask chunk (default: about 128 MiB of input)",
    )
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--workdir", default=None, help="where to generate the data")
    parser.add_argument("--disk-margin-gb", type=float, default=10.0)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="write the Markdown table there")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [1_000_000, 4_000_000, 16_000_000] if args.big else [20_000, 60_000]
    if args.output is None and args.big:
        args.output = str(Path(__file__).parent / "results" / "scale.md")
    return args


def main(argv=None):
    args = parse_args(argv)
    machine, rows, reference, notes = run(args)
    table = markdown(args, machine, rows, reference, notes)
    print(table)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(table)


if __name__ == "__main__":
    main()
