"""Spectral correspondence: a functional map between two k-NN graphs (METHOD.md §9).

After latent functional maps (Fumero et al., NeurIPS 2024). Each space becomes a k-nearest
neighbour graph of its rows (angular distances, a self-tuning heat kernel, symmetrised), and the
first eigenvectors of each graph's normalised Laplacian are a basis of smooth functions on its
rows. Functions built from the known pairs — each anchor's cosines to every row, and the heat
kernel spreading from it — are written in both bases; a small matrix ``C`` carries one basis
into the other: least squares on those functions, plus a penalty on mixing eigenvectors of
unlike eigenvalues and one asking ``C`` to commute with the functions' multiplication
operators. "Zoom-out" then grows the basis step by step, alternating a point map and a refit of
``C``. Rows are finally described by ``Phi_X C^T`` and ``Phi_Y``, and mutual nearest neighbours
under CSLS become pairs.

No ``n x n`` matrix is held: the graphs are sparse, and every similarity is formed one block of
rows at a time within ``working_memory``.
"""

import numpy as np
from scipy import linalg, sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import LinearOperator, cg, eigsh

from ..kernels._unit import unit_rows
from ._neighbours import _similarity_blocks, csls_mutual_neighbours

__all__ = ["graph_basis", "knn_affinity", "spectral_pairs"]

#: Heat-kernel times, in units of ``1 / lambda_K`` (the largest eigenvalue of the basis).
HEAT_TIMES = (1.0, 4.0, 16.0)
#: Weights of the Laplacian- and descriptor-commutativity terms, and of a small ridge.
LAPLACIAN_WEIGHT = 1e-1
COMMUTATIVITY_WEIGHT = 1e-2
RIDGE = 1e-6
#: Neighbours of each row in the graphs; the map is fitted at START_SIZE eigenvectors, then
#: zoomed out by ZOOM_STEP at a time.
GRAPH_NEIGHBORS = 20
START_SIZE = 20
ZOOM_STEP = 5
#: Graphs of fewer rows are decomposed densely.
DENSE_BELOW = 1000
#: Zoom-out's point maps use at most this many rows of Y.
ZOOM_ROWS = 3000
#: The smallest weight of an edge.
WEIGHT_FLOOR = 1e-10


def _nearest(U, k, working_memory):
    """The ``k`` most similar other rows of the unit rows ``U`` and their angular distances."""
    n = len(U)
    index = np.empty((n, k), dtype=np.intp)
    angle = np.empty((n, k), dtype=np.float64)
    for rows in _similarity_blocks(U, U, working_memory):
        S = U[rows] @ U.T
        S[np.arange(len(S)), np.arange(rows.start, rows.stop)] = -np.inf  # not itself
        best = np.argpartition(S, n - k, axis=1)[:, n - k:]
        index[rows] = best
        cosine = np.take_along_axis(S, best, axis=1).astype(np.float64)
        angle[rows] = np.arccos(np.clip(cosine, -1.0, 1.0))
    return index, angle


def _heat(angle, scale_a, scale_b):
    """Self-tuning heat kernel (Zelnik-Manor and Perona, 2004): exp(-d^2 / (s_a s_b)), at
    least WEIGHT_FLOOR (so that every edge kept is an edge, and every degree positive, even
    around duplicated rows, whose scale is 0)."""
    scale = np.maximum(scale_a * scale_b, np.finfo(np.float64).tiny)
    return np.maximum(np.exp(-np.square(angle) / scale), WEIGHT_FLOOR)


def _joining_edges(U, labels, scale, working_memory):
    """One edge from each component to its most similar row outside it (a Boruvka round)."""
    n_components = labels.max() + 1
    best = np.full(n_components, -np.inf)
    edge = np.zeros((n_components, 2), dtype=np.intp)
    for rows in _similarity_blocks(U, U, working_memory):
        S = U[rows] @ U.T
        S[labels[rows, None] == labels[None, :]] = -np.inf
        partner = S.argmax(axis=1)
        value = S[np.arange(len(S)), partner]
        source = np.arange(rows.start, rows.stop)
        for component in np.unique(labels[rows]):
            mine = labels[rows] == component
            top = np.flatnonzero(mine)[np.argmax(value[mine])]
            if value[top] > best[component]:
                best[component] = value[top]
                edge[component] = source[top], partner[top]
    angle = np.arccos(np.clip(best, -1.0, 1.0))
    return edge, _heat(angle, scale[edge[:, 0]], scale[edge[:, 1]])


def knn_affinity(U, n_neighbors, *, working_memory=None):
    """Symmetric sparse affinities of the ``n_neighbors``-nearest-neighbour graph of ``U``.

    Parameters
    ----------
    U : ndarray of shape (n, d)
        Unit rows (cosine is their dot product).
    n_neighbors : int
        Neighbours of each row (at most ``n - 1``).
    working_memory : float or None
        MiB for one block of similarities.

    Returns
    -------
    W : scipy.sparse.csr_array of shape (n, n)
        ``exp(-a_ij^2 / (s_i s_j))`` for ``a_ij`` the angle between rows ``i`` and ``j`` and
        ``s_i`` the angle to row ``i``'s farthest kept neighbour, on every edge of either
        row's neighbour list. A graph of several components is joined by the most similar
        pair of rows between each component and the rest, repeatedly, until it is connected
        (so that the Laplacian's null space is the constant direction alone).
    """
    n = len(U)
    k = min(n_neighbors, n - 1)
    index, angle = _nearest(U, k, working_memory)
    scale = angle.max(axis=1)
    rows = np.repeat(np.arange(n), k)
    weight = _heat(angle.ravel(), scale[rows], scale[index.ravel()])
    W = sparse.csr_array((weight, (rows, index.ravel())), shape=(n, n))
    W = W.maximum(W.T)
    while True:
        n_components, labels = connected_components(W, directed=False)
        if n_components == 1:
            return W.tocsr()
        edge, weight = _joining_edges(U, labels, scale, working_memory)
        extra = sparse.csr_array((weight, (edge[:, 0], edge[:, 1])), shape=(n, n))
        W = W.maximum(extra).maximum(extra.T)


def graph_basis(W, n_components, *, dense_below=DENSE_BELOW):
    """The first eigenpairs of the normalised Laplacian ``I - D^-1/2 W D^-1/2`` of ``W``.

    Parameters
    ----------
    W : sparse array of shape (n, n)
        Symmetric non-negative affinities of a connected graph.
    n_components : int
        Eigenpairs wanted (at most ``n - 1``).
    dense_below : int
        Below this many rows, a dense eigendecomposition (faster than Lanczos there).

    Returns
    -------
    eigenvalues : ndarray of shape (n_components,)
        Increasing, the first zero.
    eigenvectors : ndarray of shape (n, n_components)
        Orthonormal columns, the first proportional to the square root of the degrees (their
        signs are arbitrary).
    """
    degree = np.asarray(W.sum(axis=1)).ravel()
    root = 1.0 / np.sqrt(degree)
    A = sparse.diags_array(root) @ W @ sparse.diags_array(root)
    n = W.shape[0]
    if n < dense_below:
        values, vectors = linalg.eigh(A.toarray(), subset_by_index=[n - n_components, n - 1])
    else:
        # A's top eigenvectors are L's bottom ones. Plain Lanczos on the sparse A:
        # shift-invert would factorise a k-NN graph's matrix, whose fill-in made it 30 times
        # slower at 10,000 rows. A fixed starting vector keeps the result deterministic.
        start = np.cos(np.arange(n) * 0.618) + 2.0
        values, vectors = eigsh(A, k=n_components, which="LA", v0=start)
    order = np.argsort(-values)
    eigenvalues = np.clip(1.0 - values[order], 0.0, None)
    return eigenvalues, vectors[:, order]


def anchor_functions(U, basis, anchors, times):
    """Functions on the rows built from the anchors, as coefficients in the basis.

    Returns the coefficients ``(K, n_functions)`` of every anchor's cosines to the rows and of
    the heat kernel spreading from it at each of ``times`` (columns of unit norm), and the
    cosines themselves ``(n, n_anchors)`` (for the multiplication operators).
    """
    eigenvalues, vectors = basis
    cosines = U @ U[anchors].T
    columns = [vectors.T @ cosines]
    for t in times:  # exp(-t L) delta_a, written in the (truncated) basis
        columns.append(np.exp(-t * eigenvalues)[:, None] * vectors[anchors].T)
    coefficients = np.hstack(columns)
    norm = np.linalg.norm(coefficients, axis=0)
    return coefficients / np.where(norm > 0, norm, 1.0), cosines


def multiplication_operators(vectors, functions):
    """``Phi^T diag(f) Phi`` for each column ``f`` of ``functions``: (n_functions, K, K)."""
    return np.stack([vectors.T @ (f[:, None] * vectors) for f in functions.T])


def solve_map(A, B, eigenvalues_x, eigenvalues_y, operators_x, operators_y, *,
              laplacian_weight=LAPLACIAN_WEIGHT, commutativity_weight=COMMUTATIVITY_WEIGHT):
    """The functional map ``C`` (K_Y x K_X) minimising the energy of latent functional maps.

    ``||C A - B||^2 / p + w_L ||Delta * C||^2 + w_D / q sum_f ||C Dx_f - Dy_f C||^2 +
    ridge ||C||^2``, ``Delta_ij = (lambda^Y_i - lambda^X_j)^2`` scaled to a largest entry of 1:
    a convex quadratic, solved by conjugate gradients on its normal equations.
    """
    k_y, k_x = len(eigenvalues_y), len(eigenvalues_x)
    delta = np.square(eigenvalues_y[:, None] - eigenvalues_x[None, :])
    delta /= max(delta.max(), np.finfo(np.float64).tiny)
    p, q = A.shape[1], max(len(operators_x), 1)
    gram = A @ A.T / p

    def normal(c):
        C = c.reshape(k_y, k_x)
        out = C @ gram + (laplacian_weight * delta + RIDGE) * C
        if len(operators_x):
            R = C @ operators_x - operators_y @ C
            out += commutativity_weight / q * (R @ operators_x - operators_y @ R).sum(axis=0)
        return out.ravel()

    rhs = (B @ A.T / p).ravel()
    operator = LinearOperator((k_y * k_x, k_y * k_x), matvec=normal, dtype=np.float64)
    solution, _ = cg(operator, rhs, rtol=1e-8, maxiter=2000)
    return solution.reshape(k_y, k_x)


def _nearest_rows(E_from, E_to, working_memory):
    """For each row of ``E_from``, the nearest row (Euclidean) of ``E_to``, in single
    precision (only the order matters)."""
    E_from, E_to = E_from.astype(np.float32), E_to.astype(np.float32)
    squared = np.einsum("ij,ij->i", E_to, E_to)
    nearest = np.empty(len(E_from), dtype=np.intp)
    for rows in _similarity_blocks(E_from, E_to, working_memory):
        D = E_from[rows] @ E_to.T
        D *= -2.0
        D += squared
        nearest[rows] = D.argmin(axis=1)
    return nearest


def zoom_out(C, vectors_x, vectors_y, size, step, working_memory):
    """Grow ``C`` to ``size`` by ZoomOut (Melzi et al., 2019): each round, a point map from
    the current ``C``, then the map of ``step`` more eigenvectors it implies (least squares).

    Above ZOOM_ROWS rows of Y, the point maps are those of ZOOM_ROWS rows spread evenly
    through Y's order (a few thousand rows fix a map of at most a few hundred coefficients).
    """
    k = C.shape[0]
    n_y = len(vectors_y)
    rows = np.linspace(0, n_y - 1, ZOOM_ROWS).astype(np.intp) if n_y > ZOOM_ROWS \
        else np.arange(n_y)
    while k < size:
        image = vectors_x[:, :k] @ C.T  # X's rows in Y's basis
        nearest = _nearest_rows(vectors_y[rows, :k], image, working_memory)
        k = min(k + step, size)
        C = np.linalg.lstsq(vectors_y[rows, :k], vectors_x[nearest, :k], rcond=None)[0]
    return C


def spectral_pairs(U, V, known, *, n_components=50, graph_neighbors=GRAPH_NEIGHBORS,
                   n_neighbors=10, start_size=START_SIZE, step=ZOOM_STEP, working_memory=None):
    """Pairs of the unit rows ``U`` and ``V`` from a functional map fitted on ``known``.

    Returns the known pairs then the pairs found (mutual nearest neighbours under CSLS of
    ``Phi_X C^T`` and ``Phi_Y``, unit rows, among the rows not in a known pair) by decreasing
    margin, and the margins; as :func:`seeded_pairs`.
    """
    size = min(n_components, len(U) - 1, len(V) - 1)
    start_size = size if start_size is None else min(start_size, size)
    bases = [graph_basis(knn_affinity(Z, graph_neighbors, working_memory=working_memory),
                         size) for Z in (U, V)]
    vectors_x, vectors_y = bases[0][1], bases[1][1]
    times = [t / max(bases[0][0][-1], 1e-12) for t in HEAT_TIMES]
    functions = [anchor_functions(Z, (values[:start_size], vectors[:, :start_size]), rows,
                                  times)
                 for Z, (values, vectors), rows in zip((U, V), bases, known.T)]
    operators = [multiplication_operators(vectors[:, :start_size], cosines)
                 for (_, vectors), (_, cosines) in zip(bases, functions)]
    C = solve_map(functions[0][0], functions[1][0], bases[0][0][:start_size],
                  bases[1][0][:start_size], *operators)
    C = zoom_out(C, vectors_x, vectors_y, size, step, working_memory)
    free_u = np.setdiff1d(np.arange(len(U)), known[:, 0])
    free_v = np.setdiff1d(np.arange(len(V)), known[:, 1])
    image = unit_rows(vectors_x[free_u] @ C.T)
    found, margin = csls_mutual_neighbours(image, unit_rows(vectors_y[free_v]),
                                           n_neighbors=n_neighbors,
                                           working_memory=working_memory)
    pairs = np.vstack([known, np.column_stack([free_u[found[:, 0]], free_v[found[:, 1]]])])
    return pairs, margin
