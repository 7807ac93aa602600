"""match_spaces(method="spectral"): oracles (a rotation with rows shuffled, found from one known
pair), the graph, its Laplacian basis and the map's solver against dense computations, row-order
invariance, the choice of "auto", and bad input naming the argument."""

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from scipy.stats import ortho_group
from sklearn.neighbors import NearestNeighbors

from skinvariance import OrthogonalAlignment, match_spaces
from skinvariance._compat import InvalidParameterError
from skinvariance._validation import DataError
from skinvariance.kernels._unit import unit_rows
from skinvariance.matching import _spectral
from skinvariance.matching._spectral import (
    graph_basis,
    knn_affinity,
    multiplication_operators,
    solve_map,
)


def _rotated_and_shuffled(rng, n=200, d=8):
    """X anisotropic Gaussian; Y = X rotated with its rows shuffled; truth[i] = Y's row of X's
    row i."""
    X = rng.normal(size=(n, d)) * np.linspace(1, 3, d)
    order = rng.permutation(n)
    Y = (X @ ortho_group.rvs(d, random_state=int(rng.integers(1000))))[order]
    return X, Y, np.argsort(order)


def _precision(pairs, truth):
    return np.mean(truth[pairs[:, 0]] == pairs[:, 1])


@pytest.mark.parametrize("k", [1, 5])
def test_spectral_recovers_a_rotation_from_one_or_five_pairs(rng, k):
    X, Y, truth = _rotated_and_shuffled(rng)
    known = np.column_stack([np.arange(k), truth[:k]])
    pairs, confidence = match_spaces(X, Y, known, method="spectral", return_confidence=True)
    np.testing.assert_array_equal(pairs[:k], known)  # kept, first, in order
    assert np.all(np.isinf(confidence[:k])) and np.all(np.diff(confidence[k:]) <= 0)
    assert len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))
    assert len(pairs) > 0.9 * len(X)
    assert _precision(pairs, truth) > 0.95
    if k == 1:
        return  # no alignment fits one pair (seeded fails on it: the test below)
    # where an alignment fitted on the known pairs alone fails
    fitted = OrthogonalAlignment().fit(X[known[:, 0]], Y[known[:, 1]])
    nearest = NearestNeighbors(n_neighbors=1).fit(Y).kneighbors(fitted.transform(X))[1][:, 0]
    assert np.mean(nearest == truth) < 0.5


@pytest.mark.filterwarnings("ignore:Could not adhere to working_memory")
def test_zoom_out_on_a_subsample_of_rows_and_in_blocks(rng, monkeypatch):
    monkeypatch.setattr(_spectral, "ZOOM_ROWS", 120)  # below the 200 rows of Y
    X, Y, truth = _rotated_and_shuffled(rng)
    known = np.column_stack([np.arange(2), truth[:2]])
    pairs = match_spaces(X, Y, known, method="spectral", working_memory=0.005)
    assert _precision(pairs, truth) > 0.95


def test_one_pair_is_too_few_for_seeded_but_not_for_spectral(rng):
    X, Y, truth = _rotated_and_shuffled(rng)
    known = np.column_stack([[0], truth[:1]])
    seeded = match_spaces(X, Y, known, method="seeded")
    spectral = match_spaces(X, Y, known, method="spectral")
    assert _precision(seeded, truth) < 0.5 < 0.95 < _precision(spectral, truth)


def test_spectral_is_invariant_to_the_row_order(rng):
    X, Y, truth = _rotated_and_shuffled(rng, n=200)
    Y = Y + 0.05 * rng.normal(size=Y.shape)  # not an exact isometry: the ranking matters
    known = np.column_stack([np.arange(3), truth[:3]])
    pairs = match_spaces(X, Y, known, method="spectral")
    shuffle_x, shuffle_y = rng.permutation(len(X)), rng.permutation(len(Y))
    where_x, where_y = np.argsort(shuffle_x), np.argsort(shuffle_y)
    moved = match_spaces(X[shuffle_x], Y[shuffle_y],
                         np.column_stack([where_x[known[:, 0]], where_y[known[:, 1]]]),
                         method="spectral")
    back = np.column_stack([shuffle_x[moved[:, 0]], shuffle_y[moved[:, 1]]])
    assert {tuple(p) for p in back} == {tuple(p) for p in pairs}


@pytest.mark.filterwarnings("ignore:Could not adhere to working_memory")
@pytest.mark.parametrize("working_memory", [None, 0.001])  # 0.001 MiB: one row a block
def test_knn_affinity_against_a_dense_computation(rng, working_memory):
    U = unit_rows(rng.normal(size=(60, 5)))
    k = 6
    W = knn_affinity(U, k, working_memory=working_memory).toarray()
    np.testing.assert_allclose(W, W.T)
    angle = np.arccos(np.clip(U @ U.T, -1, 1))
    np.fill_diagonal(angle, np.inf)
    neighbours = np.argsort(angle, axis=1)[:, :k]
    scale = np.take_along_axis(angle, neighbours, axis=1)[:, -1]
    expected = np.zeros_like(W)
    for i in range(len(U)):
        for j in neighbours[i]:
            expected[i, j] = expected[j, i] = np.exp(-angle[i, j] ** 2 / (scale[i] * scale[j]))
    np.testing.assert_allclose(W, expected, rtol=1e-5, atol=1e-7)


def test_knn_affinity_joins_components_by_their_most_similar_rows(rng):
    # two tight clumps of directions far apart: a 3-NN graph of two components
    centres = unit_rows(np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    U = unit_rows(np.repeat(centres, 20, axis=0) + 0.05 * rng.normal(size=(40, 3)))
    W = knn_affinity(U, 3)
    assert connected_components(W, directed=False)[0] == 1
    cosine = U[:20] @ U[20:].T
    i, j = np.unravel_index(np.argmax(cosine), cosine.shape)
    across = W[:20][:, 20:].toarray()
    assert np.count_nonzero(across) == 1 and across[i, j] > 0


def test_duplicated_rows_keep_every_degree_positive(rng):
    # each row three times: every nearest neighbour at angle 0, every scale 0
    U = unit_rows(np.repeat(rng.normal(size=(20, 4)), 3, axis=0))
    W = knn_affinity(U, 2)
    assert np.all(W.sum(axis=1) > 0) and connected_components(W, directed=False)[0] == 1
    values, vectors = graph_basis(W, 5)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(vectors))


@pytest.mark.parametrize("dense_below", [0, 1000])  # Lanczos, and the dense path
def test_graph_basis_against_a_dense_eigendecomposition(rng, dense_below):
    U = unit_rows(rng.normal(size=(80, 4)))
    W = knn_affinity(U, 8)
    values, vectors = graph_basis(W, 10, dense_below=dense_below)
    dense = W.toarray()
    root = 1 / np.sqrt(dense.sum(axis=1))
    laplacian = np.eye(len(U)) - root[:, None] * dense * root[None, :]
    expected_values, expected_vectors = np.linalg.eigh(laplacian)
    np.testing.assert_allclose(values, expected_values[:10], atol=1e-8)
    # the same subspace (signs are arbitrary): equal projectors, below a spectral gap
    assert expected_values[10] - expected_values[9] > 1e-3
    np.testing.assert_allclose(vectors @ vectors.T,
                               expected_vectors[:, :10] @ expected_vectors[:, :10].T,
                               atol=1e-6)


def test_solve_map_against_a_dense_least_squares(rng):
    k_x, k_y, p, q = 4, 5, 3, 2
    A, B = rng.normal(size=(k_x, p)), rng.normal(size=(k_y, p))
    values_x, values_y = np.sort(rng.uniform(0, 1, k_x)), np.sort(rng.uniform(0, 1, k_y))
    functions_x, functions_y = rng.normal(size=(30, q)), rng.normal(size=(30, q))
    ops_x = multiplication_operators(np.linalg.qr(rng.normal(size=(30, k_x)))[0], functions_x)
    ops_y = multiplication_operators(np.linalg.qr(rng.normal(size=(30, k_y)))[0], functions_y)
    w_l, w_d, ridge = 0.3, 0.2, 1e-6
    C = solve_map(A, B, values_x, values_y, ops_x, ops_y, laplacian_weight=w_l,
                  commutativity_weight=w_d)
    # the energy as one stacked least-squares problem in vec(C), built term by term
    delta = np.square(values_y[:, None] - values_x[None, :])
    delta /= delta.max()
    blocks, targets = [], []
    basis = np.eye(k_y * k_x).reshape(-1, k_y, k_x)
    blocks.append(np.stack([(E @ A).ravel() for E in basis], axis=1) / np.sqrt(p))
    targets.append(B.ravel() / np.sqrt(p))
    blocks.append(np.diag(np.sqrt(w_l * delta.ravel() + ridge)))
    targets.append(np.zeros(k_y * k_x))
    for Dx, Dy in zip(ops_x, ops_y):
        blocks.append(np.stack([(E @ Dx - Dy @ E).ravel() for E in basis], axis=1)
                      * np.sqrt(w_d / q))
        targets.append(np.zeros(k_y * k_x))
    expected = np.linalg.lstsq(np.vstack(blocks), np.concatenate(targets), rcond=None)[0]
    np.testing.assert_allclose(C, expected.reshape(k_y, k_x), atol=1e-6)


def test_auto_takes_spectral_with_few_pairs_and_seeded_with_many(rng):
    X, Y, truth = _rotated_and_shuffled(rng, n=200)
    Y = Y + 0.05 * rng.normal(size=Y.shape)
    few = np.column_stack([np.arange(3), truth[:3]])
    many = np.column_stack([np.arange(30), truth[:30]])
    np.testing.assert_array_equal(match_spaces(X, Y, few),
                                  match_spaces(X, Y, few, method="spectral"))
    np.testing.assert_array_equal(match_spaces(X, Y, many),
                                  match_spaces(X, Y, many, method="seeded"))
    # too few rows for the basis: seeded, not an error
    np.testing.assert_array_equal(match_spaces(X[:40], Y, few[:1]),
                                  match_spaces(X[:40], Y, few[:1], method="seeded"))


@pytest.mark.parametrize("pairs, kwargs, error, message", [
    (None, {"method": "spectral"}, DataError,
     "method='spectral' grows known pairs, but no pair is known"),
    ([[0, 0]], {"method": "spectral", "n_components": 60}, DataError,
     r"'n_components' parameter of match_spaces must be below the rows of X left to match "
     r"\(59\) with method='spectral'; got 60"),
    ([[0, 0]], {"method": "spectral", "n_components": 1}, InvalidParameterError,
     "'n_components' parameter of match_spaces must be an int in the range"),
    ([[0, 0]], {"method": "spectral", "n_components": 2.5}, InvalidParameterError,
     "'n_components' parameter of match_spaces must be an int in the range"),
])
def test_bad_spectral_input_is_refused(rng, pairs, kwargs, error, message):
    X, Y = rng.normal(size=(60, 4)), rng.normal(size=(80, 4))
    with pytest.raises(error, match=message):
        match_spaces(X, Y, pairs, **kwargs)
