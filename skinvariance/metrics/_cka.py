"""Centered Kernel Alignment: linear (feature-space form), RBF, and debiased."""

import threading
from numbers import Real

import numpy as np
from sklearn import get_config
from sklearn.metrics.pairwise import euclidean_distances

from .._compat import InvalidParameterError, StrOptions, validate_params
from .._constraints import NumberInterval
from .._dask import any_dask
from .._parallel import MAX_BLOCK_ROWS, row_blocks
from .._validation import DataError, check_paired_arrays
from ._base import Centring, check_not_constant, translated
from ._dask import check_dask_pair, dask_hsic_terms_linear, dask_terms_inputs

__all__ = ["cka", "linear_cka", "rbf_cka"]


def _hsic_terms_linear(X, Y):
    """Sufficient statistics of the linear-kernel HSIC of (X, X), (Y, Y) and (X, Y).

    Returns ``(kl, kk, ll, rk_rl, rk_rk, rl_rl, tr_k, tr_l)`` for ``K = Xc Xc^T`` and
    ``L = Yc Yc^T`` built from column-centred ``Xc``, ``Yc``: Frobenius products
    ``<K, L>``, ``<K, K>``, ``<L, L>``, products of the diagonals, and traces, from the terms
    of each space alone and one cross term (:class:`LinearTerms`).
    """
    if any_dask(X, Y):
        X, Y = dask_terms_inputs(X, Y)
        if not isinstance(X, np.ndarray):
            return dask_hsic_terms_linear(X, Y)
    return LinearTerms(X).with_other(LinearTerms(Y))


class LinearTerms:
    """The terms of linear CKA that one space gives alone, computed once and kept.

    Linear CKA is ``<K, L> / sqrt(<K, K> <L, L>)`` for ``K = Xc Xc^T``, ``L = Yc Yc^T``: the
    self terms ``<K, K>`` (with the diagonal of ``K`` and its trace, for the debiased
    estimator) belong to one space, and a comparison of many spaces computes them once per
    space instead of once per pair; only the cross term ``<K, L>`` is a pair's own
    (:meth:`with_other`). With n > d the terms come from the feature-space matrices
    (``<K, K> = ||Xc^T Xc||_F^2``, ``<K, L> = ||Yc^T Xc||_F^2``, never an n x n matrix,
    accumulated over blocks of rows within ``working_memory``); with few rows against the
    widths, from the n x n Gram matrices (kept while small, else rebuilt by blocks of rows),
    whichever is cheaper for the pair (:func:`gram_form_is_cheaper`): a wide space never
    gets a d x d matrix. Each form's self terms are computed the first time a pair needs
    them, once even when pairs measured on several threads at once need them together.
    ``Xc`` is divided by a power of two that brings it into ``[-1, 1]`` (:class:`Centring`):
    no fourth power of a large or small number can overflow or vanish, and CKA does not see
    the factor.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        A validated space (finite, float32 or float64); kept by reference, not copied.
    """

    def __init__(self, Z):
        self.Z = Z
        self.centring = Centring.of(Z)
        self._feature = None  # (<K, K>, diagonal of K, trace) from Xc^T Xc
        self._gram = None  # (<K, K>, diagonal of K, K if small)
        self._computing = threading.Lock()  # pairs on several threads compute a form once

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_computing"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._computing = threading.Lock()

    @property
    def shape(self):
        return self.Z.shape

    def feature(self):
        """``(kk, rk, tr_k)`` in the feature-space form, computed once."""
        with self._computing:
            if self._feature is None:
                self._feature = self._feature_terms()
        return self._feature

    def _feature_terms(self):
        n, d = self.Z.shape
        G = np.zeros((d, d))
        rk = np.empty(n)
        for rows in row_blocks(n, 8 * 2 * d, max_rows=MAX_BLOCK_ROWS):
            block = self.centring.block(self.Z[rows])
            G += block.T @ block
            rk[rows] = np.einsum("ij,ij->i", block, block)
        return np.vdot(G, G), rk, np.trace(G)

    def gram(self):
        """``(kk, rk, K or None)`` in the Gram form, computed once; ``K = Xc Xc^T`` is kept
        only while it is small against ``working_memory`` (else each pair rebuilds it, one
        block of rows at a time)."""
        with self._computing:
            if self._gram is None:
                self._gram = self._gram_terms()
        return self._gram

    def _gram_terms(self):
        n = self.Z.shape[0]
        Zc = self.centring.apply(self.Z)
        kk, rk = 0.0, np.empty(n)
        keep = 8 * n * n <= get_config()["working_memory"] * 2**20 / 16
        K = np.empty((n, n)) if keep else None
        for rows in row_blocks(n, 8 * 2 * n, max_rows=MAX_BLOCK_ROWS):
            block = Zc[rows] @ Zc.T
            kk += np.vdot(block, block)
            rk[rows] = block[np.arange(block.shape[0]), np.arange(rows.start, rows.stop)]
            if keep:
                K[rows] = block
        return kk, rk, K

    def gram_cross(self, other):
        """``<K, L>`` for this space X and ``other`` Y, from the kept Gram matrices or over
        blocks of rows."""
        (_, _, K), (_, _, L) = self.gram(), other.gram()
        if K is not None and L is not None:
            return np.vdot(K, L)
        Xc, Yc = self.centring.apply(self.Z), other.centring.apply(other.Z)
        total = 0.0
        for rows in row_blocks(Xc.shape[0], 8 * 3 * Xc.shape[0], max_rows=MAX_BLOCK_ROWS):
            K_rows = Xc[rows] @ Xc.T if K is None else K[rows]
            L_rows = Yc[rows] @ Yc.T if L is None else L[rows]
            total += np.vdot(K_rows, L_rows)
        return total

    def cross(self, other):
        """``||Yc^T Xc||_F^2`` for this space X and ``other`` Y, over blocks of rows."""
        X, Y = self.Z, other.Z
        n, d_x = X.shape
        d_y = Y.shape[1]
        G = np.zeros((d_y, d_x))
        for rows in row_blocks(n, 8 * 2 * (d_x + d_y), max_rows=MAX_BLOCK_ROWS):
            G += other.centring.block(Y[rows]).T @ self.centring.block(X[rows])
        return np.vdot(G, G)

    def with_other(self, other):
        """``(kl, kk, ll, rk_rl, rk_rk, rl_rl, tr_k, tr_l)`` of this space X and ``other``
        Y (row-aligned), in the form :func:`gram_form_is_cheaper` picks for the pair."""
        n, d_x = self.shape
        if gram_form_is_cheaper(n, d_x, other.shape[1]):
            (kk, rk, _), (ll, rl, _) = self.gram(), other.gram()
            kl = self.gram_cross(other)
            return kl, kk, ll, rk @ rl, rk @ rk, rl @ rl, rk.sum(), rl.sum()
        (kk, rk, tk), (ll, rl, tl) = self.feature(), other.feature()
        return self.cross(other), kk, ll, rk @ rl, rk @ rk, rl @ rl, tk, tl


def gram_form_is_cheaper(n, d_x, d_y):
    """Whether the n x n Gram form of linear CKA costs less than the feature-space form:
    ``n^2 (d_x + d_y)`` against ``n (d_x^2 + d_y^2 + d_x d_y)`` multiply-adds (and ``n^2``
    against ``d_x^2 + d_y^2 + d_x d_y`` floats of memory)."""
    return n * (d_x + d_y) < d_x * d_x + d_y * d_y + d_x * d_y


def _squared_distances(Z, norms, start, stop, *, exact_zeros=True):
    """Rows ``start:stop`` of the squared distances between the rows of ``Z``, with an exact
    zero diagonal. Rounding of the expanded form leaves duplicate rows a few ulps apart: with
    ``exact_zeros``, those count as zero."""
    D = euclidean_distances(
        Z[start:stop],
        Z,
        squared=True,
        X_norm_squared=norms[start:stop, None],
        Y_norm_squared=norms[None, :],
    )
    if exact_zeros:
        D[D <= _ROUNDING * (norms[start:stop, None] + norms[None, :])] = 0.0
    rows = np.arange(stop - start)
    D[rows, rows + start] = 0.0
    return D


#: The rounding of the expanded form of a squared distance, relative to ``|z_i|^2 + |z_j|^2``.
_ROUNDING = 64 * np.finfo(np.float64).eps


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
    for rows in row_blocks(m, 8 * 4 * m, max_rows=m):
        D = _squared_distances(Z, norms, rows.start, rows.stop)
        vals = D[np.arange(m)[None, :] > np.arange(rows.start, rows.stop)[:, None]]  # j > i
        out[pos : pos + vals.size] = vals
        pos += vals.size
    out = out[out > 0]
    if out.size == 0:
        raise DataError(
            f"The median heuristic for sigma needs two distinct rows in {name}; every row of "
            f"{name} is the same vector."
        )
    return float(np.median(out))


def _rbf_rows(Z, norms, start, stop, sq_sigma):
    """Rows ``start:stop`` of ``exp(-|z_i - z_j|^2 / (2 sigma^2))``, with a unit diagonal.

    ``sq_sigma`` may be 0 (a bandwidth below the smallest number: distinct rows give 0) or
    infinite (every pair gives 1): the exact kernel of these numbers in float64.
    """
    with np.errstate(divide="ignore", over="ignore"):
        gamma = np.float64(0.5) / np.float64(sq_sigma)
        # Duplicate rows a few ulps apart matter only where that moves a kernel value.
        noise = gamma * _ROUNDING * 2 * norms.max(initial=0.0)
    K = _squared_distances(Z, norms, start, stop, exact_zeros=not noise < 1e-13)
    with np.errstate(over="ignore"):
        if np.isinf(gamma):
            return (K == 0).astype(np.float64)
        K *= -gamma
    np.exp(K, out=K)
    return K


def _rbf_inputs(X, Y, sigma):
    """X and Y translated and brought to ``[-1, 1]`` (:func:`translated`), and their squared
    bandwidths in the same units: the median heuristic's, or ``sigma`` rescaled alike."""
    (Xc, ex), (Yc, ey) = translated(X), translated(Y)
    if sigma is None:
        return Xc, Yc, _median_sq_distance(Xc, "X"), _median_sq_distance(Yc, "Y")
    with np.errstate(over="ignore", under="ignore"):
        return Xc, Yc, np.ldexp(sigma, -ex) ** 2, np.ldexp(sigma, -ey) ** 2


def _hsic_terms_rbf(X, Y, sx2, sy2):
    """Same statistics as :func:`_hsic_terms_linear` for RBF Gram matrices, blockwise.

    ``K_ij = exp(-|x_i - x_j|^2 / (2 sx2))``, ``L_ij = exp(-|y_i - y_j|^2 / (2 sy2))``, both
    with a unit diagonal, from the prepared inputs of :func:`_rbf_inputs`. Returns the
    Frobenius products ``<K, L>``, ``<K, K>``, ``<L, L>`` and the row sums ``K 1``, ``L 1``,
    from which biased and unbiased HSIC follow without an n x n matrix.
    """
    n = X.shape[0]
    nx = np.einsum("ij,ij->i", X, X)
    ny = np.einsum("ij,ij->i", Y, Y)
    k1 = np.empty(n)
    l1 = np.empty(n)
    kl = kk = ll = 0.0
    for rows in row_blocks(n, 8 * 6 * n, max_rows=n):
        start, stop = rows.start, rows.stop
        K = _rbf_rows(X, nx, start, stop, sx2)
        L = _rbf_rows(Y, ny, start, stop, sy2)
        kl += np.vdot(K, L)
        kk += np.vdot(K, K)
        ll += np.vdot(L, L)
        k1[start:stop] = K.sum(axis=1)
        l1[start:stop] = L.sum(axis=1)
    return kl, kk, ll, k1, l1


def _cka_from_terms(kl, kk, ll, n, debiased, names=("X", "Y"), sigma=None):
    """CKA value from (already centred or U-centred) HSIC estimates."""
    if kk <= 0 or ll <= 0:
        which = names[0] if kk <= 0 else names[1]
        estimator = "debiased (unbiased) HSIC" if debiased else "HSIC"
        hint = "" if sigma is None else (
            f" with sigma={sigma!r} (a bandwidth far above the spread of {which} makes every "
            "kernel value 1; far below it, with debiased=True, every kernel value off the "
            "diagonal 0)"
        )
        raise DataError(
            f"CKA is undefined: the {estimator} of {which} with itself is not positive "
            f"for n_samples={n}; {which} has too little variance to compare{hint}."
        )
    value = kl / np.sqrt(kk * ll)
    return float(np.clip(value, -1.0 if debiased else 0.0, 1.0))


def _unbiased(ab, ra_rb, sa, sb, n):
    """``n (n - 3) HSIC_u`` from <K, L> (zero-diagonal parts handled by ``ra_rb``)."""
    return ab - n / (n - 2) * ra_rb + sa * sb / ((n - 1) * (n - 2))


def _linear_cka(X, Y, debiased):
    return _cka_of_terms(_hsic_terms_linear(X, Y), X.shape[0], debiased)


def _cka_of_terms(terms, n, debiased):
    """Linear CKA (or debiased) from the statistics of :func:`_hsic_terms_linear`."""
    kl, kk, ll, rk_rl, rk_rk, rl_rl, tk, tl = terms
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
    kl, kk, ll, k1, l1 = _hsic_terms_rbf(*_rbf_inputs(X, Y, sigma))
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
    return _cka_from_terms(kl_, kk_, ll_, n, debiased, sigma=sigma)


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "kernel": [StrOptions({"linear", "rbf"})],
        "debiased": ["boolean"],
        "sigma": [NumberInterval(Real, 0, None, closed="neither"), None],
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
      n x n matrix; with few samples against the widths (``n (d_x + d_y) < d_x^2 + d_y^2 +
      d_x d_y``, e.g. 100 samples of 20,000 features), the n x n Gram form instead, O(n^2
      (d_x + d_y)) time and O(n (d_x + d_y)) memory (see :ref:`large_data`).
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

    Finite input of any magnitude gives the value at scale 1, a given ``sigma`` scaled alike
    (:term:`at any magnitude`).

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
        raise InvalidParameterError(
            f"The 'sigma' parameter of cka is only used with kernel='rbf'; got sigma={sigma!r} "
            "with kernel='linear'."
        )
    if kernel == "linear" and any_dask(X, Y):  # reduced blockwise, never gathered
        measure = "debiased CKA" if debiased else "CKA"
        X, Y = check_dask_pair(X, Y, measure, min_samples=4 if debiased else 2)
        return _linear_cka(X, Y, debiased)
    X, Y = check_paired_arrays(X, Y, "debiased CKA" if debiased else "CKA",
                               min_samples=4 if debiased else 2)
    check_not_constant(X, "X", "CKA")
    check_not_constant(Y, "Y", "CKA")
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

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

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
        "sigma": [NumberInterval(Real, 0, None, closed="neither"), None],
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

    Finite input of any magnitude gives the value at scale 1, ``sigma`` scaled alike: a
    bandwidth below the smallest number gives the identity kernel, one above the largest a
    kernel of ones, for which CKA is undefined (:term:`at any magnitude`).

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


class SharedLinearCKA:
    """:func:`linear_cka` from terms computed once per space (:class:`LinearTerms`).

    :meth:`prepare` validates a space as :func:`cka` does and keeps its terms; :meth:`compare`
    of two prepared spaces computes only their cross term: the same code as
    :func:`linear_cka`, so the same value, for one self term per space instead of two per
    pair.
    """

    key = ("linear CKA terms",)
    samples_queries = False

    def prepare(self, Z):
        """The terms of ``Z`` alone, validated as :func:`cka` validates its input."""
        Z, _ = check_paired_arrays(Z, Z, "CKA")
        check_not_constant(Z, "X", "CKA")
        return LinearTerms(Z)

    def compare(self, PX, PY):
        """Linear CKA of two prepared spaces (rows aligned)."""
        if PX.shape[0] != PY.shape[0]:
            raise DataError(
                f"CKA: the spaces have {PX.shape[0]} and {PY.shape[0]} rows; they must be "
                "row-aligned."
            )
        return _cka_of_terms(PX.with_other(PY), PX.shape[0], False)
