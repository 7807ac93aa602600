"""Similarity measures between latent spaces of the same samples.

Every measure takes two row-aligned spaces ``X`` (n_samples, d_x) and ``Y`` (n_samples, d_y):
row ``i`` of each embeds the same input. Each returns one float where **higher means more
similar**, and documents its range and the transformations it is invariant to, so that it can
tell which invariance (METHOD.md §2) relates two spaces. :func:`similarity_matrix` applies a
measure to every pair of spaces of a multi-space input.

Conventions shared by all measures:

- inputs must be finite, have the same number of rows and at least two rows (four for debiased
  CKA); the error names the argument at fault;
- computations run in float64 whatever the input dtype;
- memory stays bounded: nothing of size ``n_samples x n_samples`` is built at once; work that
  needs pairs of samples runs over blocks of rows sized by scikit-learn's ``working_memory``
  setting (``sklearn.config_context(working_memory=...)``, in MiB).
- linear CKA, mean cosine similarity and Pearson similarity also accept Dask arrays (the
  ``dask`` extra) and reduce them block by block, without gathering them in memory.

========================  ================  =============================================
measure                   range             invariant to
========================  ================  =============================================
linear CKA                [0, 1]            orthogonal maps, isotropic scaling and
                                            translation of either space, independently
debiased linear CKA       [-1, 1]           the same
RBF CKA (median sigma)    [0, 1]            the same (sigma follows the scale)
mean cosine similarity    [-1, 1]           positive per-sample scaling of either space;
                                            one orthogonal map applied to both
Pearson similarity        [-1, 1]           per-sample positive affine maps ``a x + b 1``
                                            of either space; one permutation applied to both
Procrustes similarity     [0, 1]            orthogonal maps, isotropic scaling and
                                            translation of either space, independently
kNN Jaccard               [0, 1]            any map preserving cosine-neighbour order in
                                            either space (orthogonal, positive scaling)
mean reciprocal rank      [1/n, 1]          positive per-sample scaling of either space;
                                            one orthogonal map applied to both
========================  ================  =============================================
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.linalg import svdvals
from sklearn import get_config
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_array

from . import _dask
from ._compat import Interval, StrOptions, get_chunk_n_rows, validate_params
from .spaces import check_spaces

__all__ = [
    "cka",
    "knn_jaccard",
    "linear_cka",
    "mean_cosine_similarity",
    "mean_reciprocal_rank",
    "pearson_similarity",
    "procrustes_similarity",
    "rbf_cka",
    "similarity_matrix",
]

_FLOAT_DTYPES = (np.float64, np.float32)


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _check_xy(X, Y, measure, *, same_width=False, min_samples=2):
    """Validate a pair of row-aligned spaces; keep float32/float64, else float64."""
    X = check_array(X, dtype=_FLOAT_DTYPES, input_name="X")
    Y = check_array(Y, dtype=_FLOAT_DTYPES, input_name="Y")
    _check_paired_shapes(X.shape, Y.shape, measure, same_width=same_width,
                        min_samples=min_samples)
    return X, Y


def _check_paired_shapes(x_shape, y_shape, measure, *, same_width=False, min_samples=2):
    """Shape checks of a pair of row-aligned spaces, shared by NumPy and Dask inputs."""
    if x_shape[0] != y_shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (samples, paired by row); got X with "
            f"shape {x_shape} and Y with shape {y_shape}."
        )
    if x_shape[0] < min_samples:
        raise ValueError(
            f"{measure} needs at least {min_samples} samples; got X and Y with "
            f"n_samples={x_shape[0]}."
        )
    if same_width and x_shape[1] != y_shape[1]:
        raise ValueError(
            f"{measure} compares X and Y feature by feature, so they must have the same number "
            f"of features; got X with shape {x_shape} and Y with shape {y_shape}. Project both "
            "spaces onto parallel anchors (RelativeProjection) or align one onto the other "
            "(OrthogonalAlignment, AffineAlignment) first."
        )


def _check_not_constant(Z, name, measure):
    """Raise if every row of ``Z`` is the same vector (zero variance, zero centred Gram)."""
    if not np.ptp(Z, axis=0).any():
        raise ValueError(
            f"{measure} is undefined when an input has zero variance: every row of {name} is "
            f"the same vector (shape={Z.shape})."
        )


#: Row blocks of the O(n d) loops (feature-space Gram matrices, row-wise measures) need not be
#: larger than this to keep BLAS efficient; the cap keeps their memory far below
#: ``working_memory`` on large inputs.
_MAX_FEATURE_BLOCK = 4096


def _chunk_rows(row_bytes, n_rows):
    """Rows per block so that a block takes about ``working_memory`` MiB."""
    return get_chunk_n_rows(row_bytes=max(int(row_bytes), 1), max_n_rows=n_rows)


def _blocks(n_rows, chunk):
    for start in range(0, n_rows, chunk):
        yield start, min(start + chunk, n_rows)


# ---------------------------------------------------------------------------------------------
# CKA
# ---------------------------------------------------------------------------------------------


def _hsic_terms_linear(X, Y):
    """Sufficient statistics of the linear-kernel HSIC of (X, X), (Y, Y) and (X, Y).

    Returns ``(kl, kk, ll, rk_rl, rk_rk, rl_rl, tr_k, tr_l)`` for ``K = Xc Xc^T`` and
    ``L = Yc Yc^T`` built from column-centred ``Xc``, ``Yc``: Frobenius products
    ``<K, L>``, ``<K, K>``, ``<L, L>``, products of the diagonals, and traces. With n > d they
    come from the feature-space matrices ``Xc^T Xc`` (never an n x n matrix); with n smaller
    than both widths, from the n x n Gram matrices, which is then cheaper.
    """
    if _dask.any_dask(X, Y):
        return _dask.hsic_terms_linear(X, Y, _hsic_terms_linear)
    n, d_x = X.shape
    d_y = Y.shape[1]
    mx = X.mean(axis=0, dtype=np.float64)
    my = Y.mean(axis=0, dtype=np.float64)
    if n < min(d_x, d_y):
        Xc = X.astype(np.float64) - mx
        Yc = Y.astype(np.float64) - my
        K = Xc @ Xc.T
        L = Yc @ Yc.T
        rk, rl = np.diag(K).copy(), np.diag(L).copy()
        kl, kk, ll = np.vdot(K, L), np.vdot(K, K), np.vdot(L, L)
        return kl, kk, ll, rk @ rl, rk @ rk, rl @ rl, rk.sum(), rl.sum()
    Gxx = np.zeros((d_x, d_x))
    Gyy = np.zeros((d_y, d_y))
    Gyx = np.zeros((d_y, d_x))
    rk_rl = rk_rk = rl_rl = 0.0
    chunk = _chunk_rows(8 * 2 * (d_x + d_y), min(n, _MAX_FEATURE_BLOCK))
    for start, stop in _blocks(n, chunk):
        xb = X[start:stop].astype(np.float64) - mx
        yb = Y[start:stop].astype(np.float64) - my
        Gxx += xb.T @ xb
        Gyy += yb.T @ yb
        Gyx += yb.T @ xb
        rk = np.einsum("ij,ij->i", xb, xb)
        rl = np.einsum("ij,ij->i", yb, yb)
        rk_rl += rk @ rl
        rk_rk += rk @ rk
        rl_rl += rl @ rl
    kl = np.vdot(Gyx, Gyx)
    kk = np.vdot(Gxx, Gxx)
    ll = np.vdot(Gyy, Gyy)
    return kl, kk, ll, rk_rl, rk_rk, rl_rl, np.trace(Gxx), np.trace(Gyy)


def _median_sq_distance(Z, name):
    """Median of the non-zero squared Euclidean distances between rows of ``Z``.

    Exact when the ``n (n - 1) / 2`` distances fit in ``working_memory``; otherwise computed on
    an evenly spaced subset of rows whose pairs do (a deterministic estimate).
    """
    n = Z.shape[0]
    budget = max(int(get_config()["working_memory"] * 2**20 // 8), 1)
    m = n
    if n * (n - 1) // 2 > budget:
        m = max(int((1 + np.sqrt(1 + 8 * budget)) // 2), 2)
        Z = Z[np.linspace(0, n - 1, m).round().astype(np.intp)]
    Z = Z.astype(np.float64)
    norms = np.einsum("ij,ij->i", Z, Z)
    out = np.empty(m * (m - 1) // 2)
    pos = 0
    chunk = _chunk_rows(8 * 3 * m, m)
    for start, stop in _blocks(m, chunk):
        D = euclidean_distances(
            Z[start:stop],
            Z,
            squared=True,
            X_norm_squared=norms[start:stop, None],
            Y_norm_squared=norms[None, :],
        )
        # Rounding of the expanded form leaves duplicate rows a few ulps apart: count as zero.
        D[D <= 64 * np.finfo(np.float64).eps * (norms[start:stop, None] + norms[None, :])] = 0.0
        vals = D[np.arange(m)[None, :] > np.arange(start, stop)[:, None]]  # pairs j > i
        out[pos : pos + vals.size] = vals
        pos += vals.size
    out = out[out > 0]
    if out.size == 0:
        raise ValueError(
            f"The median heuristic for sigma needs two distinct rows in {name}; every row of "
            f"{name} is the same vector."
        )
    return float(np.median(out))


def _rbf_rows(Z, norms, start, stop, gamma):
    """Rows ``start:stop`` of ``exp(-gamma |z_i - z_j|^2)``, with an exact unit diagonal."""
    K = euclidean_distances(
        Z[start:stop],
        Z,
        squared=True,
        X_norm_squared=norms[start:stop, None],
        Y_norm_squared=norms[None, :],
    )
    rows = np.arange(stop - start)
    K[rows, rows + start] = 0.0
    K *= -gamma
    np.exp(K, out=K)
    return K


def _hsic_terms_rbf(X, Y, gamma_x, gamma_y):
    """Same statistics as :func:`_hsic_terms_linear` for RBF Gram matrices, blockwise.

    ``K_ij = exp(-gamma_x |x_i - x_j|^2)``, ``L_ij = exp(-gamma_y |y_i - y_j|^2)``, both with a
    unit diagonal. Returns the Frobenius products ``<K, L>``, ``<K, K>``, ``<L, L>`` and the row
    sums ``K 1``, ``L 1``, from which biased and unbiased HSIC follow without an n x n matrix.
    """
    n = X.shape[0]
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    nx = np.einsum("ij,ij->i", X, X)
    ny = np.einsum("ij,ij->i", Y, Y)
    k1 = np.empty(n)
    l1 = np.empty(n)
    kl = kk = ll = 0.0
    chunk = _chunk_rows(8 * 4 * n, n)
    for start, stop in _blocks(n, chunk):
        K = _rbf_rows(X, nx, start, stop, gamma_x)
        L = _rbf_rows(Y, ny, start, stop, gamma_y)
        kl += np.vdot(K, L)
        kk += np.vdot(K, K)
        ll += np.vdot(L, L)
        k1[start:stop] = K.sum(axis=1)
        l1[start:stop] = L.sum(axis=1)
    return kl, kk, ll, k1, l1


def _cka_from_terms(kl, kk, ll, n, debiased, names=("X", "Y")):
    """CKA value from (already centred or U-centred) HSIC estimates."""
    if kk <= 0 or ll <= 0:
        which = names[0] if kk <= 0 else names[1]
        estimator = "debiased (unbiased) HSIC" if debiased else "HSIC"
        raise ValueError(
            f"CKA is undefined: the {estimator} of {which} with itself is not positive "
            f"({kk if which == names[0] else ll:.3g}) for n_samples={n}; {which} has too little "
            "variance to compare."
        )
    value = kl / np.sqrt(kk * ll)
    return float(np.clip(value, -1.0 if debiased else 0.0, 1.0))


def _unbiased(ab, ra_rb, sa, sb, n):
    """``n (n - 3) HSIC_u`` from <K, L> (zero-diagonal parts handled by ``ra_rb``)."""
    return ab - n / (n - 2) * ra_rb + sa * sb / ((n - 1) * (n - 2))


def _linear_cka(X, Y, debiased):
    n = X.shape[0]
    kl, kk, ll, rk_rl, rk_rk, rl_rl, tk, tl = _hsic_terms_linear(X, Y)
    if debiased:
        kl = _unbiased(kl, rk_rl, tk, tl, n)
        kk = _unbiased(kk, rk_rk, tk, tk, n)
        ll = _unbiased(ll, rl_rl, tl, tl, n)
        # Rounding guard: a U-centred squared norm this small relative to its terms is zero.
        eps = 64 * np.finfo(np.float64).eps
        kk = 0.0 if kk <= eps * tk * tk else kk
        ll = 0.0 if ll <= eps * tl * tl else ll
    return _cka_from_terms(kl, kk, ll, n, debiased)


def _rbf_cka(X, Y, debiased, sigma):
    n = X.shape[0]
    if sigma is None:
        sx2 = _median_sq_distance(X, "X")
        sy2 = _median_sq_distance(Y, "Y")
    else:
        sx2 = sy2 = float(sigma) ** 2
    kl, kk, ll, k1, l1 = _hsic_terms_rbf(X, Y, 1 / (2 * sx2), 1 / (2 * sy2))
    sk, sl = k1.sum(), l1.sum()
    if debiased:
        # Zero the unit diagonals: <K~, L~> = <K, L> - n, K~ 1 = K 1 - 1.
        k1t, l1t = k1 - 1.0, l1 - 1.0
        skt, slt = sk - n, sl - n

        def u(ab, a1, b1, sa, sb):
            return ab + sa * sb / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (a1 @ b1)

        kl_ = u(kl - n, k1t, l1t, skt, slt)
        kk_ = u(kk - n, k1t, k1t, skt, skt)
        ll_ = u(ll - n, l1t, l1t, slt, slt)
    else:
        # tr(K H L H) = <K, L> - (2/n) (K 1).(L 1) + (1'K1)(1'L1) / n^2
        kl_ = kl - 2.0 / n * (k1 @ l1) + sk * sl / n**2
        kk_ = kk - 2.0 / n * (k1 @ k1) + sk * sk / n**2
        ll_ = ll - 2.0 / n * (l1 @ l1) + sl * sl / n**2
    eps = 64 * np.finfo(np.float64).eps
    kk_ = 0.0 if kk_ <= eps * kk else kk_
    ll_ = 0.0 if ll_ <= eps * ll else ll_
    return _cka_from_terms(kl_, kk_, ll_, n, debiased)


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "kernel": [StrOptions({"linear", "rbf"})],
        "debiased": ["boolean"],
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
    },
    prefer_skip_nested_validation=True,
)
def cka(X, Y, kernel="linear", *, debiased=False, sigma=None):
    """Centered Kernel Alignment between two row-aligned spaces.

    ``CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` where ``K`` and ``L`` are the
    Gram matrices of ``X`` and ``Y`` under ``kernel`` and HSIC is the Hilbert-Schmidt
    independence criterion ``tr(K H L H) / (n - 1)^2``, ``H = I - 11^T / n`` (Kornblith et
    al., 2019).

    - ``kernel="linear"``: ``K = X X^T``. Computed in the feature-space form
      ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` on column-centred data, accumulated
      over blocks of rows: O(n (d_x + d_y)^2) time, O(d_x^2 + d_y^2 + d_x d_y) memory, no
      n x n matrix (when n is below both widths, the n x n Gram form is used instead, being
      smaller).
    - ``kernel="rbf"``: ``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))``. By default each space
      gets its own ``sigma = sqrt(median of the non-zero squared distances between its
      rows)`` (the median heuristic). The Gram matrices are formed one block of rows at a time,
      so memory is O(n (d_x + d_y)) plus blocks of ``working_memory``, but time is
      O(n^2 (d_x + d_y)); each median costs one more such pass, and is exact while the
      ``n (n - 1) / 2`` distances fit in ``working_memory`` (otherwise it is taken over an
      evenly spaced subset of rows whose pairs do: pass ``sigma`` to avoid the estimate).

    **Debiased CKA** (``debiased=True``) replaces HSIC by the unbiased estimator of Song et
    al. (2012),
    ``HSIC_u = [tr(K~ L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3))``
    with ``K~`` the Gram matrix with its diagonal set to zero. It removes the bias that
    pushes biased CKA of unrelated spaces up when the width is large against ``n``. HSIC_u is
    an inner product of U-centred matrices, so debiased CKA lies in **[-1, 1]**: a value
    near 0 means no more similarity than chance, a negative value means that the sample
    estimate fell below chance level (it happens for unrelated spaces, and is returned as
    is, never clipped to 0). It needs at least 4 samples.

    Range: [0, 1] (biased) or [-1, 1] (debiased); higher = more similar; ``cka(X, X) = 1``;
    symmetric in X and Y.
    Invariances: orthogonal maps, isotropic scaling and translation of X or Y, each
    independently (for RBF with the median heuristic, since sigma scales with the data; with a
    fixed ``sigma`` only orthogonal maps and translations). Not invariant to anisotropic
    scaling or general invertible linear maps. X and Y may have different widths.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    kernel : {"linear", "rbf"}, default="linear"
        Kernel of the Gram matrices.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (see above).
    sigma : float, default=None
        RBF bandwidth, used for both spaces. None: the median heuristic, per space. Only
        meaningful with ``kernel="rbf"``.

    Returns
    -------
    similarity : float
        The CKA value.

    Raises
    ------
    ValueError
        On mismatched row counts, fewer than 2 samples (4 when debiased), non-finite values,
        ``sigma`` given with the linear kernel, or an input with zero variance (every row the
        same vector), for which CKA is undefined.

    See Also
    --------
    linear_cka, rbf_cka : The two kernels as separate functions.

    References
    ----------
    Kornblith, Norouzi, Lee, Hinton. Similarity of Neural Network Representations Revisited.
    ICML 2019. Song, Smola, Gretton, Bedo, Borgwardt. Feature Selection via Dependence
    Maximization. JMLR 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import cka
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 8))
    >>> round(cka(X, 2.0 * X + 1.0), 6)
    1.0
    >>> Y = rng.normal(size=(100, 8))
    >>> cka(X, Y) > cka(X, Y, debiased=True)
    True
    >>> round(cka(X, X, kernel="rbf"), 6)
    1.0
    """
    if kernel == "linear" and sigma is not None:
        raise ValueError(
            f"The 'sigma' parameter of cka is only used with kernel='rbf'; got sigma={sigma!r} "
            "with kernel='linear'."
        )
    if kernel == "linear" and _dask.any_dask(X, Y):  # reduced blockwise, never gathered
        measure = "debiased CKA" if debiased else "CKA"
        X, Y = _dask.check_xy(X, Y, measure, min_samples=4 if debiased else 2)
        return _linear_cka(X, Y, debiased)
    X, Y = _check_xy(X, Y, "debiased CKA" if debiased else "CKA", min_samples=4 if debiased else 2)
    _check_not_constant(X, "X", "CKA")
    _check_not_constant(Y, "Y", "CKA")
    if kernel == "linear":
        return _linear_cka(X, Y, debiased)
    return _rbf_cka(X, Y, debiased, sigma)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "debiased": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def linear_cka(X, Y, *, debiased=False):
    """Linear Centered Kernel Alignment, in the feature-space form.

    ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` on column-centred X and Y, the same
    as ``cka(X, Y, kernel="linear", debiased=debiased)``; see :func:`cka` for the debiased
    estimator and the cost. No n x n matrix is built when n exceeds a width.

    Range: [0, 1] ([-1, 1] when debiased); higher = more similar; symmetric.
    Invariances: orthogonal maps, isotropic scaling and translation of either space,
    independently. Widths may differ.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (Song et al., 2012).

    Returns
    -------
    similarity : float
        The linear CKA value.

    See Also
    --------
    cka : Linear or RBF kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance.metrics import linear_cka
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> Q = ortho_group.rvs(5, random_state=1)
    >>> round(linear_cka(X, 3.0 * X @ Q - 2.0), 6)
    1.0
    """
    return cka(X, Y, kernel="linear", debiased=debiased)


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "debiased": ["boolean"],
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
    },
    prefer_skip_nested_validation=True,
)
def rbf_cka(X, Y, *, debiased=False, sigma=None):
    """Centered Kernel Alignment with Gaussian (RBF) Gram matrices.

    ``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))``, the same as
    ``cka(X, Y, kernel="rbf", debiased=debiased, sigma=sigma)``. By default sigma is set per
    space by the median heuristic, ``sigma^2 = median of the non-zero squared distances``.
    Memory is bounded (blocks of rows); time is O(n^2 (d_x + d_y)) per pass, see
    :func:`cka`.

    Range: [0, 1] ([-1, 1] when debiased); higher = more similar; symmetric.
    Invariances: orthogonal maps and translation of either space; isotropic scaling too with
    the median heuristic (not with a fixed ``sigma``). Widths may differ.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (Song et al., 2012).
    sigma : float, default=None
        Bandwidth for both spaces; None for the median heuristic per space.

    Returns
    -------
    similarity : float
        The RBF CKA value.

    See Also
    --------
    cka : Linear or RBF kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import rbf_cka
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> round(rbf_cka(X, 10.0 * X), 6)
    1.0
    >>> 0.0 <= rbf_cka(X, rng.normal(size=(60, 4))) < 0.5
    True
    """
    return cka(X, Y, kernel="rbf", debiased=debiased, sigma=sigma)


# ---------------------------------------------------------------------------------------------
# Matched-row measures
# ---------------------------------------------------------------------------------------------


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def mean_cosine_similarity(X, Y):
    """Mean cosine similarity between matched rows, ``mean_i cos(x_i, y_i)``.

    Compares the two spaces coordinate by coordinate, so it needs equal widths and is
    meaningful when the coordinates correspond, e.g. relative representations of both spaces
    on parallel anchors, or one space aligned onto the other. A zero row has cosine similarity
    0 with anything (scikit-learn's convention), so it counts as 0 in the mean.

    Range: [-1, 1]; higher = more similar; symmetric; 1 iff every ``y_i`` is a positive
    multiple of ``x_i``.
    Invariances: positive rescaling of any row of either space; one orthogonal map applied to
    both spaces. Not invariant to a map of one space alone, nor to translation.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        First space.
    Y : array-like of shape (n_samples, n_features)
        Second space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        Mean of the per-sample cosine similarities.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import mean_cosine_similarity
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> mean_cosine_similarity(X, np.array([[3.0, 0.0], [1.0, 0.0]]))
    0.5
    """
    if _dask.any_dask(X, Y):  # reduced blockwise, never gathered
        X, Y = _dask.check_xy(X, Y, "mean_cosine_similarity", same_width=True)
        return float(_dask.mean_rowwise_cosine(X, Y, _rowwise_cosine))
    X, Y = _check_xy(X, Y, "mean_cosine_similarity", same_width=True)
    return float(np.mean(_rowwise_cosine(X, Y)))


def _rowwise_cosine(X, Y):
    """Cosine between matched rows in float64; 0 where either row is zero."""
    dots = np.einsum("ij,ij->i", X, Y, dtype=np.float64)
    nx = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    ny = np.sqrt(np.einsum("ij,ij->i", Y, Y, dtype=np.float64))
    denom = nx * ny
    out = np.zeros_like(dots)
    nonzero = denom > 0
    out[nonzero] = dots[nonzero] / denom[nonzero]
    return np.clip(out, -1.0, 1.0)


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def pearson_similarity(X, Y):
    """Mean Pearson correlation between matched representations, ``mean_i corr(x_i, y_i)``.

    For each sample, the correlation across features of its representation in X and in Y
    (the cross-seed "Pearson correlation of latent spaces" of the product-of-invariances
    paper): the cosine similarity of the row-centred rows. Needs equal widths, with
    corresponding coordinates (e.g. relative representations on parallel anchors). A
    constant row (zero variance across features) has correlation 0 with anything, by
    convention, and counts as 0 in the mean.

    Range: [-1, 1]; higher = more similar; symmetric.
    Invariances: per-sample positive affine maps ``a_i x_i + b_i 1`` of either space (a_i > 0);
    one permutation of the features applied to both. Not invariant to rotations.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        First space; at least 2 features.
    Y : array-like of shape (n_samples, n_features)
        Second space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        Mean of the per-sample correlations.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import pearson_similarity
    >>> X = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    >>> pearson_similarity(X, 2.0 * X + 5.0)
    1.0
    """
    dask_input = _dask.any_dask(X, Y)
    check_xy = _dask.check_xy if dask_input else _check_xy
    X, Y = check_xy(X, Y, "pearson_similarity", same_width=True)
    if X.shape[1] < 2:
        raise ValueError(
            "pearson_similarity correlates each sample's features, so it needs at least 2 "
            f"features; got X and Y with shape {X.shape}."
        )
    if dask_input:  # reduced blockwise, never gathered
        return float(_dask.mean_rowwise_cosine(X, Y, _rowwise_cosine, centre=True))
    n, d = X.shape
    out = np.empty(n)
    chunk = _chunk_rows(8 * 2 * d, min(n, _MAX_FEATURE_BLOCK))
    for start, stop in _blocks(n, chunk):
        xb = X[start:stop].astype(np.float64)
        yb = Y[start:stop].astype(np.float64)
        const = (np.ptp(xb, axis=1) == 0) | (np.ptp(yb, axis=1) == 0)
        xb -= xb.mean(axis=1, keepdims=True)
        yb -= yb.mean(axis=1, keepdims=True)
        xb[const] = 0.0  # rounding of the mean must not turn a constant row into noise
        out[start:stop] = _rowwise_cosine(xb, yb)
    return float(out.mean())


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def procrustes_similarity(X, Y):
    """One minus half the squared Procrustes residual of the normalised spaces.

    Both spaces are centred and scaled to unit Frobenius norm (``Xh``, ``Yh``); then
    ``1 - min_R ||Xh R - Yh||_F^2 / 2`` over orthogonal ``R``, which equals the nuclear norm
    ``||Xh^T Yh||_*`` (the sum of its singular values). Different widths are compared by
    zero-padding the narrower space, which the nuclear norm does implicitly. For equal shapes,
    :func:`scipy.spatial.procrustes` (which also fits a scale) reports the disparity
    ``1 - procrustes_similarity(X, Y) ** 2``.

    Range: [0, 1]; higher = more similar; symmetric; 1 iff Y is a rotated, scaled, translated
    copy of X (or X of Y, for different widths). Invariances: orthogonal maps, isotropic
    scaling and translation of either space, independently.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.

    Returns
    -------
    similarity : float
        The Procrustes similarity.

    Raises
    ------
    ValueError
        If either space has zero variance (every row the same vector).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance.metrics import procrustes_similarity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 3))
    >>> Y = 0.5 * X @ ortho_group.rvs(3, random_state=0) + 4.0
    >>> round(procrustes_similarity(X, Y), 6)
    1.0
    """
    X, Y = _check_xy(X, Y, "procrustes_similarity")
    _check_not_constant(X, "X", "procrustes_similarity")
    _check_not_constant(Y, "Y", "procrustes_similarity")
    n, d_x = X.shape
    d_y = Y.shape[1]
    mx = X.mean(axis=0, dtype=np.float64)
    my = Y.mean(axis=0, dtype=np.float64)
    cross = np.zeros((d_x, d_y))
    sx = sy = 0.0
    chunk = _chunk_rows(8 * 2 * (d_x + d_y), min(n, _MAX_FEATURE_BLOCK))
    for start, stop in _blocks(n, chunk):
        xb = X[start:stop].astype(np.float64) - mx
        yb = Y[start:stop].astype(np.float64) - my
        cross += xb.T @ yb
        sx += np.vdot(xb, xb)
        sy += np.vdot(yb, yb)
    value = svdvals(cross).sum() / np.sqrt(sx * sy)
    return float(np.clip(value, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# Neighbourhood measures
# ---------------------------------------------------------------------------------------------


def _unit_rows(Z):
    """Rows scaled to unit norm in float64; zero rows stay zero (cosine 0 with anything)."""
    Z = Z.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    norms[norms == 0] = 1.0
    Z /= norms[:, None]
    return Z


def _top_k_mask(S, k):
    """Boolean mask of the ``k`` largest entries of each row of ``S``.

    Ties at the k-th value are broken in favour of the lower column index, so the result is
    deterministic; found with a partial selection (``np.partition``), not a full sort.
    """
    n = S.shape[1]
    kth = np.partition(S, n - k, axis=1)[:, n - k, None]
    mask = S > kth
    ties = S == kth
    need = k - np.count_nonzero(mask, axis=1)
    n_ties = np.count_nonzero(ties, axis=1)
    # Usually the k-th value occurs just as often as places remain: take every tie. Rows with
    # more ties than places keep the lowest column indices.
    crowded = np.flatnonzero(n_ties > need)
    if crowded.size:
        ties[crowded] &= np.cumsum(ties[crowded], axis=1) <= need[crowded, None]
    mask |= ties
    return mask


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "k": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def knn_jaccard(X, Y, k=10):
    """Mean Jaccard index of each sample's k nearest neighbours in X and in Y.

    For each sample ``i``, ``N_k^X(i)`` is the set of the ``k`` samples whose rows of X are
    most cosine-similar to ``x_i``, searched within X; likewise ``N_k^Y(i)`` within Y. The
    score is ``mean_i |N_k^X(i) & N_k^Y(i)| / |N_k^X(i) | N_k^Y(i)|``. A sample is **not its
    own neighbour**: it is left out of its own search, so ``k`` may be at most
    ``n_samples - 1``. Among equally similar candidates for the last place, the lower row index
    wins (a zero row has cosine similarity 0 with every row).

    Neighbours are found one block of rows at a time (``working_memory``) with a partial
    selection, never a full n x n similarity matrix or sort: O(n^2 (d_x + d_y)) time,
    O(block * n) memory.

    Range: [0, 1]; higher = more similar; symmetric; ``knn_jaccard(X, X) = 1``.
    Invariances: anything that keeps the cosine-neighbour order within X or within Y,
    independently: orthogonal maps and positive per-sample scaling of either space. Not
    invariant to translation. X and Y may have different widths.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    k : int, default=10
        Neighbourhood size, ``1 <= k < n_samples``.

    Returns
    -------
    similarity : float
        The mean Jaccard index.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import knn_jaccard
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 6))
    >>> knn_jaccard(X, -3.0 * X, k=5)
    1.0
    >>> knn_jaccard(X, rng.normal(size=(50, 6)), k=5) < 0.3
    True
    """
    X, Y = _check_xy(X, Y, "knn_jaccard")
    n = X.shape[0]
    if k >= n:
        raise ValueError(
            f"The 'k' parameter of knn_jaccard must be smaller than n_samples={n} (a sample is "
            f"not its own neighbour); got k={k}."
        )
    Xn, Yn = _unit_rows(X), _unit_rows(Y)
    scores = np.empty(n)
    # Per row: two similarity rows, the partition copy, cumsum (int64) and a few masks.
    chunk = _chunk_rows(8 * 5 * n, n)
    for start, stop in _blocks(n, chunk):
        rows = np.arange(stop - start)
        Sx = Xn[start:stop] @ Xn.T
        Sx[rows, rows + start] = -np.inf
        mask = _top_k_mask(Sx, k)
        del Sx
        Sy = Yn[start:stop] @ Yn.T
        Sy[rows, rows + start] = -np.inf
        mask &= _top_k_mask(Sy, k)
        del Sy
        inter = mask.sum(axis=1)
        scores[start:stop] = inter / (2 * k - inter)
    return float(scores.mean())


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def mean_reciprocal_rank(X, Y):
    """Mean reciprocal rank of ``y_i`` when ``x_i`` searches the rows of Y by cosine.

    For each sample ``i``, all rows ``y_j`` of Y are ranked by cosine similarity to ``x_i``;
    ``rank_i`` is the position of ``y_i``, its matched row; the score is
    ``mean_i 1 / rank_i``. This is cross-space retrieval, so X and Y must have the same width
    with corresponding coordinates (e.g. relative representations on parallel anchors).

    **Ties count against the match**: ``rank_i = 1 + #{j != i : cos(x_i, y_j) >= cos(x_i,
    y_i)}``, the pessimistic convention, so a retrieval that cannot tell ``y_i`` from another
    row is never scored as perfect. A zero row has cosine similarity 0 with every row, so a
    zero ``x_i`` gets rank n. Ranks are counted one block of rows at a time, without
    sorting.

    Range: [1/n, 1]; higher = more similar; not symmetric in general;
    ``mean_reciprocal_rank(X, X) = 1`` when the rows of X are pairwise non-parallel.
    Invariances: positive rescaling of any row of either space; one orthogonal map applied to
    both. Not invariant to a map of one space alone (align or project first).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Query space.
    Y : array-like of shape (n_samples, n_features)
        Searched space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        The mean reciprocal rank.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import mean_reciprocal_rank
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))
    >>> mean_reciprocal_rank(X, 2.0 * X)
    1.0
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # first two rows swapped
    >>> round(mean_reciprocal_rank(X, Y), 4)  # ranks 3, 3, 1
    0.5556
    """
    X, Y = _check_xy(X, Y, "mean_reciprocal_rank", same_width=True)
    n = X.shape[0]
    Xn, Yn = _unit_rows(X), _unit_rows(Y)
    ranks = np.empty(n)
    chunk = _chunk_rows(8 * 2 * n, n)
    for start, stop in _blocks(n, chunk):
        rows = np.arange(stop - start)
        S = Xn[start:stop] @ Yn.T
        matched = S[rows, rows + start]
        ranks[start:stop] = np.count_nonzero(S >= matched[:, None], axis=1)
    return float(np.mean(1.0 / ranks))


# ---------------------------------------------------------------------------------------------
# All pairs of a multi-space input
# ---------------------------------------------------------------------------------------------

#: Measures by name, and whether each is symmetric in (X, Y).
_METRICS = {
    "cka": (cka, True),
    "linear_cka": (linear_cka, True),
    "rbf_cka": (rbf_cka, True),
    "mean_cosine_similarity": (mean_cosine_similarity, True),
    "pearson_similarity": (pearson_similarity, True),
    "procrustes_similarity": (procrustes_similarity, True),
    "knn_jaccard": (knn_jaccard, True),
    "mean_reciprocal_rank": (mean_reciprocal_rank, False),
}


def _evaluate(func, X, Y, params, pair, name):
    try:
        value = func(X, Y, **params)
    except ValueError as exc:
        raise ValueError(
            f"The metric {name} failed on the spaces {pair[0]!r} (X) and {pair[1]!r} (Y): {exc}"
        ) from exc
    if not isinstance(value, Real | np.number) or not np.isfinite(value):
        raise ValueError(
            f"The metric {name} must return a finite real number; got {value!r} for the "
            f"spaces {pair[0]!r} and {pair[1]!r}."
        )
    return float(value)


@validate_params(
    {
        "spaces": "no_validation",
        "metric": [StrOptions(set(_METRICS)), callable],
        "n_jobs": [Integral, None],
        "metric_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def similarity_matrix(spaces, metric="linear_cka", *, n_jobs=None, metric_params=None):
    """A similarity measure between every pair of spaces of a multi-space input.

    Parameters
    ----------
    spaces : mapping of str to array-like or DataFrame
        Row-aligned spaces: ``{name: array (n_samples, d_name)}`` or a DataFrame with two
        column levels (space, feature) as made by :func:`~skinvariance.stack_spaces`; at least
        two spaces, validated by :func:`skinvariance.spaces.check_spaces`.
    metric : str or callable, default="linear_cka"
        A measure of this module by name (``"cka"``, ``"linear_cka"``, ``"rbf_cka"``,
        ``"mean_cosine_similarity"``, ``"pearson_similarity"``, ``"procrustes_similarity"``,
        ``"knn_jaccard"``, ``"mean_reciprocal_rank"``) or a callable ``metric(X, Y) -> float``.
        Named measures are evaluated once per unordered pair and mirrored, except the
        asymmetric ``"mean_reciprocal_rank"``; a callable is evaluated on every ordered pair.
        The diagonal is evaluated too (``metric(X, X)``), not assumed.
    n_jobs : int, default=None
        Pairs evaluated in parallel with :class:`joblib.Parallel`; None means 1 unless in a
        ``joblib.parallel_config`` context, -1 means all processors.
    metric_params : dict, default=None
        Keyword arguments for the measure, e.g. ``{"k": 20}`` for ``"knn_jaccard"``.

    Returns
    -------
    matrix : DataFrame of shape (n_spaces, n_spaces)
        ``matrix.loc[a, b] = metric(spaces[a], spaces[b])``, indexed and columned by the space
        names in input order (row = first argument).

    Raises
    ------
    ValueError
        If the spaces are invalid (the message names the space), or the measure cannot compare
        two of them (e.g. different widths for ``"mean_cosine_similarity"``), or a callable
        returns anything but a finite number.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import similarity_matrix
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(50, 4))
    >>> spaces = {"a": A, "a_scaled": 3.0 * A, "noise": rng.normal(size=(50, 6))}
    >>> similarity_matrix(spaces, "linear_cka").round(2)
                 a  a_scaled  noise
    a         1.00      1.00   0.08
    a_scaled  1.00      1.00   0.08
    noise     0.08      0.08   1.00
    """
    checked = check_spaces(spaces, ensure_min_samples=1)
    names = list(checked)
    params = dict(metric_params or {})
    if callable(metric):
        func, symmetric = metric, False
        label = getattr(metric, "__name__", repr(metric))
    else:
        func, symmetric = _METRICS[metric]
        label = repr(metric)
    if symmetric:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i:]]
    else:
        pairs = [(a, b) for a in names for b in names]
    values = Parallel(n_jobs=n_jobs)(
        delayed(_evaluate)(func, checked[a], checked[b], params, (a, b), label) for a, b in pairs
    )
    out = pd.DataFrame(np.nan, index=pd.Index(names), columns=pd.Index(names), dtype=np.float64)
    for (a, b), value in zip(pairs, values, strict=True):
        out.loc[a, b] = value
        if symmetric:
            out.loc[b, a] = value
    return out
