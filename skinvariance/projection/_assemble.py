"""How a product's subspaces are computed and assembled into its output.

Three paths, the same arithmetic row by row (so the same bits):

- :func:`assemble_in_phases` (``aggregate="concat"``, block by block): the compiled kernels
  (L1 and L-infinity, in their fused pass) of every block first, written straight into their
  columns of the output and normalised there, each thread its own rows right after their
  kernels (one round of threads per block, not one per subspace); then the
  matrix-product kernels (cosine, euclidean, ...) of every block, one after the other through
  one shared buffer, normalised into their columns by the calling thread. Keeping the two
  kinds apart means BLAS's threads, which keep spinning for a while after a matrix product, do
  not compete with the pool's threads on every block; writing in place keeps the memory a
  transform touches close to its output's.
- :func:`assemble_by_blocks` (the sums, block by block): every subspace of a block into a
  buffer, then added, in order, into the output.
- :func:`assemble_from_raw` (a projection handed a raw source: its ``memory``, or subspaces
  shared by the caller): the raw subspaces of every row at once, from the source.
"""

import numpy as np

from .._parallel import run_parts, split_rows
from ..kernels import _numba, get_kernel
from ._engine import project_in_blocks
from ._normalize import column_block, norm_code, normalize_in_place

__all__ = ["SubspaceAssembly", "assemble_by_blocks", "assemble_in_phases", "assemble_from_raw"]

#: Kernels computed by compiled loops on the package's thread pool (the first phase).
_POOL_KERNELS = frozenset({"l1", "linf"})


class SubspaceAssembly:
    """Normalise, orient or weight, and place (concat) or add (sums) subspace rows.

    One pass over each subspace; rows are independent, so parts of a block may run on the
    package's thread pool.

    Parameters
    ----------
    aggregate : str
        ``"concat"`` places each subspace in its columns; the others add them in order.
    normalize : {"layer", "l2"} or None
        The product's per-subspace normalisation.
    offsets : ndarray of int
        Column offsets of the subspaces in a concat output.
    coefficients : ndarray of float
        Per-subspace multipliers (orientation, weight, mean) applied after normalisation.
    n_threads : int
        Threads of the compiled normalisation loop.
    """

    def __init__(self, aggregate, normalize, offsets, coefficients, n_threads):
        self.concat = aggregate == "concat"
        self.code = norm_code(normalize)
        self.offsets = offsets
        self.coefficients = coefficients
        self.n_threads = n_threads

    def columns(self, position):
        """Where subspace ``position`` goes in the output."""
        if not self.concat:
            return slice(None)
        return slice(int(self.offsets[position]), int(self.offsets[position + 1]))

    def place(self, position, values, target, *, threads=None):
        """Normalise subspace ``position``'s rows ``values`` into ``target`` (its rows of the
        output); ``values`` may be the target's own columns (in place).

        Both go to the compiled loop as C-contiguous arrays with column offsets where they are
        column ranges of one (:func:`column_block`): only then does the loop vectorise.
        """
        columns = self.columns(position)
        accumulate = not self.concat and position > 0
        start = columns.start or 0
        width = target.shape[1] - start if columns.stop is None else columns.stop - start
        target, target_start = column_block(target)
        start += target_start
        values, value_start = column_block(values)

        def run(part):
            _numba.normalize_columns_into(values, value_start, target, start, width,
                                          part.start, part.stop, self.code,
                                          self.coefficients[position], accumulate)

        run_parts(run, split_rows(target.shape[0], threads or self.n_threads))

    def __call__(self, subspaces, target):
        """Aggregate every subspace (in order: sums add in that order) into ``target``."""
        for position, values in enumerate(subspaces):
            self.place(position, values, target)


def _split_by_phase(groups):
    """``(pooled, buffered)``: the compiled-loop subspaces as groups (L1 and L-infinity stay
    together: their fused pass), and the others one by one, each ``(group, positions)``."""
    pooled, buffered = [], []
    for group, positions in groups:
        kinds = [is_pooled(name) for name in group.kernels]
        local = [i for i, kind in enumerate(kinds) if kind]
        if local:
            part = group if len(local) == len(kinds) else group.subgroup(local)
            pooled.append((part, [positions[i] for i in local]))
        buffered.extend(
            (group.subgroup([i]), [positions[i]]) for i, kind in enumerate(kinds) if not kind
        )
    return pooled, buffered


def is_pooled(kernel):
    """Whether a concat product computes ``kernel`` straight into its output columns."""
    return get_kernel(kernel).name in _POOL_KERNELS


def assemble_in_phases(X, out, groups, others, aggregation, row_bytes):
    """A concat product, block by block: compiled kernels first, matrix products second.

    The compiled loops write straight into their columns of ``out``, where the subspaces are
    normalised in place; each matrix-product kernel goes through one buffer of a block, shared
    by all of them, because BLAS writes only contiguous arrays.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated samples.
    out : ndarray of shape (n_samples, n_features_out)
        The output, filled in place.
    groups : list of (SubspaceGroup, list of int)
        Subspaces computed together, with their positions in the product.
    others : list of (int, estimator)
        Subspaces computed by their own ``transform``, with their positions.
    aggregation : SubspaceAssembly
    row_bytes : int
        Temporary bytes per row, which sizes the blocks.
    """
    pooled, buffered = _split_by_phase(groups)

    def compute_pooled(rows, block):
        target = out[rows]
        for group, positions in pooled:
            views = [target[:, aggregation.columns(i)] for i in positions]

            def place(part, positions=positions, views=views):
                for i, view in zip(positions, views):
                    aggregation.place(i, view[part], target[part], threads=1)

            group.compute(block, views, finish=place)

    def compute_buffered(rows, block):
        buffer = None
        for group, (i,) in buffered:
            if buffer is None or buffer.shape != (len(block), group.n_anchors):
                buffer = np.empty((len(block), group.n_anchors), dtype=out.dtype)
            group.compute(block, [buffer])
            aggregation.place(i, buffer, out[rows], threads=1)
        for i, estimator in others:
            values = np.asarray(estimator.transform(block), dtype=out.dtype)
            aggregation.place(i, values, out[rows], threads=1)

    if pooled:
        project_in_blocks(X, compute_pooled, row_bytes)
    if buffered or others:
        project_in_blocks(X, compute_buffered, row_bytes)
    return out


def assemble_by_blocks(X, out, groups, others, aggregation, row_bytes, n_subspaces):
    """A product whose subspaces are added (sum, mean, weighted), block by block."""
    buffers = {}
    def compute_block(rows, block):
        subspaces = [None] * n_subspaces
        for group, positions in groups:
            outs = [_buffer(buffers, i, len(block), group.n_anchors, out.dtype)
                    for i in positions]
            group.compute(block, outs)
            for i, values in zip(positions, outs):
                subspaces[i] = values
        for i, estimator in others:
            subspaces[i] = np.asarray(estimator.transform(block), dtype=out.dtype)
        aggregation(subspaces, out[rows])

    project_in_blocks(X, compute_block, row_bytes)
    return out


def assemble_from_raw(X, out, groups, others, aggregation, row_bytes, source, n_subspaces):
    """A product from the raw subspaces of every row at once, read from ``source`` (see
    ``_shared.py``); the subspaces of other estimators are computed in the blocks the
    block-by-block paths use."""
    subspaces = [None] * n_subspaces
    for group, positions in groups:
        raw = source(group, X, row_bytes)
        for local, (i, values) in enumerate(zip(positions, raw)):
            norm = group.normalizations[local]
            if aggregation.concat and is_pooled(group.kernels[local]):
                # as in assemble_in_phases: normalised in place in the output's columns
                values = out[:, aggregation.columns(i)]
                np.copyto(values, raw[local])
                normalize_in_place(values, norm)
            elif norm is not None:
                values = normalize_in_place(np.array(values, copy=True), norm)
            subspaces[i] = values
    if others:
        computed = {i: [] for i, _ in others}

        def compute_block(rows, block):
            for i, estimator in others:
                computed[i].append(np.asarray(estimator.transform(block), dtype=out.dtype))

        project_in_blocks(X, compute_block, row_bytes)
        for i, blocks in computed.items():
            subspaces[i] = np.concatenate(blocks, axis=0)
    aggregation(subspaces, out)
    return out


def _buffer(buffers, position, n_rows, width, dtype):
    if position not in buffers or buffers[position].shape[0] < n_rows:
        buffers[position] = np.empty((n_rows, width), dtype=dtype)
    return buffers[position][:n_rows]

