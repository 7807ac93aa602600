"""Representational similarity analysis: comparing the spaces' dissimilarity matrices."""

import numpy as np
from sklearn import get_config

from .._compat import StrOptions, validate_params
from .._parallel import row_blocks
from .._validation import DataError, check_paired_arrays
from ._base import centre_rows, exact_unit_rows, translated
from ._loops import average_ranks, permuted_pair_sums

__all__ = ["rsa"]

#: Peak bytes per pair of samples of the rank transform: the ranks of X's dissimilarities
#: (float64) kept while Y's are ranked (its values, their sort order and their ranks).
SPEARMAN_BYTES_PER_PAIR = 32
#: Bytes per entry of the two square float32 matrices of the permutation null.
NULL_BYTES_PER_ENTRY = 8
#: The tallest block of dissimilarities: taller ones are no faster, and the block's memory
#: comes on top of the ranks.
BLOCK_ROWS = 512


def _budget():
    """The memory budget, in bytes: scikit-learn's ``working_memory`` (MiB)."""
    return int(get_config()["working_memory"] * 2**20)


def _check_fits(needed, what, hint):
    budget = _budget()
    if needed > budget:
        raise DataError(
            f"{what} needs about {needed / 2**20:,.1f} MiB, more than the working_memory "
            f"budget of {budget / 2**20:,.1f} MiB. Raise the budget "
            "(sklearn.set_config(working_memory=...) or sklearn.config_context, in MiB), "
            f"compare fewer samples{hint}."
        )


def _prepared(Z, distance, name):
    """Rows ready for the blocked dissimilarities, and their squared norms (euclidean).

    Scale-safe: for the Euclidean distance the space is translated to the middle of its
    columns' ranges and brought to ``[-1, 1]`` by a power of two (:func:`translated`: the
    correlations of the distances see neither; tied distances of integer data stay tied),
    for the correlation distance each row is, before it is centred and normalised.
    """
    if distance == "euclidean":
        Z, _ = translated(Z)
        return Z, np.einsum("ij,ij->i", Z, Z)
    if Z.shape[1] < 2:
        raise DataError(
            "rsa with distance='correlation' correlates each sample's features, so it needs at "
            f"least 2 features; got {name} with shape {Z.shape}. Use distance='euclidean'."
        )
    # A constant row gets correlation 0 with every row: dissimilarity 1 (see rsa).
    Z, _ = centre_rows(Z)
    return exact_unit_rows(Z), None


def _upper_values(Z, norms, distance):
    """Yield the dissimilarities ``D[i, j]``, ``j > i``, block of rows by block, in the
    order of :func:`scipy.spatial.distance.pdist`, with the block's first position."""
    n = Z.shape[0]
    position = 0
    # Per row: the block of products (float64), the mask of pairs j > i, the values taken.
    for rows in row_blocks(n, 17 * n, max_rows=BLOCK_ROWS):
        D = Z[rows] @ Z.T
        if distance == "correlation":
            np.subtract(1.0, D, out=D)
        else:
            D *= -2.0
            D += norms[rows, None]
            D += norms[None, :]
            np.maximum(D, 0.0, out=D)  # rounding of the expanded form can go below zero
            np.sqrt(D, out=D)
        values = D[np.arange(n)[None, :] > np.arange(rows.start, rows.stop)[:, None]]
        yield position, values
        position += values.size


def _condensed(Z, distance, name):
    Z, norms = _prepared(Z, distance, name)
    n = Z.shape[0]
    out = np.empty(n * (n - 1) // 2)
    for position, values in _upper_values(Z, norms, distance):
        out[position : position + values.size] = values
    return out


def _centred_ranks(Z, distance, name):
    """The average ranks of the dissimilarities, minus their mean; and their squared norm."""
    ranks = average_ranks(_condensed(Z, distance, name))
    ranks -= 0.5 * (ranks.size + 1)
    return ranks, float(ranks @ ranks)


def _check_variance(sq_x, sq_y, distance):
    for sq, name in ((sq_x, "X"), (sq_y, "Y")):
        if not sq > 0:
            raise DataError(
                f"rsa is undefined: every {distance} dissimilarity between the rows of {name} "
                "is the same, so it cannot be correlated with anything."
            )


def _streamed_pearson(X, Y, distance):
    """Pearson correlation of the two upper triangles, merging the blocks' statistics (Chan
    et al.), so that no more than a block of dissimilarities is ever held."""
    Zx, nx = _prepared(X, distance, "X")
    Zy, ny = _prepared(Y, distance, "Y")
    count = mean_x = mean_y = sxx = syy = sxy = 0.0
    blocks = zip(_upper_values(Zx, nx, distance), _upper_values(Zy, ny, distance), strict=True)
    for (_, a), (_, b) in blocks:
        m, ma, mb = a.size, a.mean(), b.mean()
        a -= ma
        b -= mb
        total = count + m
        da, db = ma - mean_x, mb - mean_y
        sxx += a @ a + da * da * count * m / total
        syy += b @ b + db * db * count * m / total
        sxy += a @ b + da * db * count * m / total
        mean_x += da * m / total
        mean_y += db * m / total
        count = total
    _check_variance(sxx, syy, distance)
    return sxy / np.sqrt(sxx * syy)


def _spearman(X, Y, distance):
    n = X.shape[0]
    _check_fits(
        SPEARMAN_BYTES_PER_PAIR * (n * (n - 1) // 2),
        "rsa with method='spearman' ranks all n(n-1)/2 dissimilarities of each space at once: "
        f"with n_samples={n} it",
        ", or use method='pearson', which runs in blocks of rows",
    )
    rx, sx = _centred_ranks(X, distance, "X")
    ry, sy = _centred_ranks(Y, distance, "Y")
    _check_variance(sx, sy, distance)
    return (rx @ ry) / np.sqrt(sx * sy)


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "distance": [StrOptions({"correlation", "euclidean"})],
        "method": [StrOptions({"pearson", "spearman"})],
    },
    prefer_skip_nested_validation=True,
)
def rsa(X, Y, *, distance="correlation", method="spearman"):
    """Representational similarity analysis: correlation of the two dissimilarity matrices.

    Each space gives a representational dissimilarity matrix (RDM) between its samples,
    ``D_ij = 1 - corr(x_i, x_j)`` (``distance="correlation"``: Pearson correlation across
    features, the usual choice in neuroscience) or ``D_ij = |x_i - x_j|``
    (``"euclidean"``); the score is the Spearman (``method="spearman"``, average ranks for
    ties) or Pearson correlation between the ``n (n - 1) / 2`` entries above the diagonals
    (Kriegeskorte et al., 2008). It equals ``spearmanr(pdist(X, distance), pdist(Y,
    distance))``. A sample whose features are all equal has correlation 0 with every other
    (dissimilarity 1), as in :func:`pearson_similarity`.

    Cost and memory: the dissimilarities are computed one block of rows at a time (at most
    512 rows, within ``working_memory``), O(n^2 (d_x + d_y)) time. The Pearson correlation
    is accumulated block by block: O(block * n) memory. The **Spearman correlation needs
    every dissimilarity at once** to rank it (a rank depends on all the others): about 32
    bytes per pair of samples, ``16 n^2`` bytes at the peak (1.5 GiB for 10,000 samples),
    plus one block, and O(n^2 log n) time for the sort. Beyond scikit-learn's
    ``working_memory`` (MiB, 1 GiB by default) it is refused with an error saying how much
    it needs; raise the budget with ``sklearn.config_context(working_memory=...)``, or use
    ``method="pearson"``.

    Range: [-1, 1]; higher = more similar; symmetric; ``rsa(X, X) = 1``.
    Invariances: with ``distance="euclidean"``, orthogonal maps, isotropic scaling and
    translation of either space, independently. With ``distance="correlation"``, per-sample
    positive affine maps ``a_i x_i + b_i 1`` and a permutation of the features of either
    space, but **not** a general rotation (correlation centres each sample across its
    features, which a rotation does not preserve) nor a per-feature translation. Spearman
    adds invariance to any increasing transform of the dissimilarities.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space; at least 3 samples.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    distance : {"correlation", "euclidean"}, default="correlation"
        Dissimilarity between samples: one minus the Pearson correlation (needs at least 2
        features), or the Euclidean distance.
    method : {"spearman", "pearson"}, default="spearman"
        Correlation between the two RDMs' upper triangles.

    Returns
    -------
    similarity : float
        The correlation between the RDMs.

    Raises
    ------
    ValueError
        On fewer than 3 samples, an unknown ``distance`` or ``method``, correlation distance
        with a single feature, an RDM whose entries are all equal, or a Spearman rank
        transform beyond the ``working_memory`` budget.

    References
    ----------
    Kriegeskorte, Mur, Bandettini. Representational similarity analysis - connecting the
    branches of systems neuroscience. Frontiers in Systems Neuroscience, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance.metrics import rsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))
    >>> Q = ortho_group.rvs(5, random_state=0)
    >>> round(rsa(X, 2.0 * X @ Q + 1.0, distance="euclidean"), 6)
    1.0
    >>> rsa(X, X @ Q) < 0.99  # correlation distance sees the rotation
    True
    """
    X, Y = check_paired_arrays(X, Y, "rsa", min_samples=3)
    if method == "pearson":
        value = _streamed_pearson(X, Y, distance)
    else:
        value = _spearman(X, Y, distance)
    return float(np.clip(value, -1.0, 1.0))


def _square(condensed, n):
    """The symmetric float32 matrix with ``condensed`` above the diagonal, zeros on it."""
    out = np.zeros((n, n), dtype=np.float32)
    position = 0
    for i in range(n - 1):
        segment = condensed[position : position + n - 1 - i]
        out[i, i + 1 :] = segment
        out[i + 1 :, i] = segment
        position += n - 1 - i
    return out


def rsa_null(X, Y, *, distance="correlation", method="spearman"):
    """Null of :func:`rsa`: ``perms -> rsa(X, Y[p])``, one gather pass per permutation.

    A permutation of Y's rows permutes the rows and columns of Y's RDM alike, so its set of
    entries, their ranks, mean and variance do not change: only the pairing with X's
    entries does. Both RDMs (centred ranks, or centred values) are held as square float32
    matrices, 8 n^2 bytes within ``working_memory``.
    """
    X, Y = check_paired_arrays(X, Y, "rsa", min_samples=3)
    n = X.shape[0]
    _check_fits(
        NULL_BYTES_PER_ENTRY * n * n,
        f"The permutation null of rsa holds both dissimilarity matrices: with n_samples={n} it",
        "",
    )
    if method == "spearman":
        cx, sx = _centred_ranks(X, distance, "X")
        cy, sy = _centred_ranks(Y, distance, "Y")
    else:
        cx, cy = _condensed(X, distance, "X"), _condensed(Y, distance, "Y")
        cx -= cx.mean()
        cy -= cy.mean()
        sx, sy = float(cx @ cx), float(cy @ cy)
    _check_variance(sx, sy, distance)
    A, B = _square(cx, n), _square(cy, n)
    del cx, cy
    scale = 2.0 * np.sqrt(sx * sy)  # each pair appears twice in the square matrices
    return lambda perms: np.clip(permuted_pair_sums(A, B, perms) / scale, -1.0, 1.0)
