"""``match_spaces``: pairs of rows of two unpaired spaces believed to be the same sample."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._compat import HasMethods, StrOptions, validate_params
from .._constraints import COUNT, RANDOM_STATE, NumberInterval
from .._validation import DataError
from ..exceptions import MatchingWarning
from ..kernels._unit import unit_rows
from ._checks import check_known_pairs, check_unpaired_spaces
from ._seeded import centred_units, relative_descriptors, seeded_pairs
from ._spectral import spectral_pairs
from ._unpaired import padded, unpaired_rotation

__all__ = ["MATCHING_METHODS", "match_spaces"]

#: The methods of :func:`match_spaces`, besides ``"auto"``.
MATCHING_METHODS = ("seeded", "spectral", "unpaired")
#: Describe rows through a fitted map (not relative descriptors) once this many pairs exist.
MAP_AFTER = 100
#: Below this quality an unpaired match warns (:class:`MatchingWarning`); see the user guide for
#: its calibration.
QUALITY_THRESHOLD = 0.5


def _single(Z):
    """``Z`` in single precision (only the similarities' order matters), brought to [-1, 1]
    first so that no magnitude the input's dtype holds overflows or underflows."""
    largest = float(np.max(np.abs(Z))) if Z.size else 0.0
    return (Z / largest if largest > 0 else Z).astype(np.float32, copy=False)


# --- method "spectral" and the choice of "auto" (spectral map, issue 21) ---
#: "auto" takes the spectral map below this many known pairs (the user guide's measurements).
SPECTRAL_BELOW = 30
#: The spectral map's most confident pairs that start the seeded refinement.
SPECTRAL_ANCHORS = 300


def _choose(method, n_known, spectral_fits=True):
    if method == "auto":
        if not n_known:
            return "unpaired"
        return "spectral" if n_known < SPECTRAL_BELOW and spectral_fits else "seeded"
    if method in ("seeded", "spectral") and not n_known:
        raise DataError(
            f"method={method!r} grows known pairs, but no pair is known (pairs=None or empty): "
            "pass some known pairs, or use method='unpaired' (or 'auto')."
        )
    return method


def _check_spectral(n_x, n_y, n_known, n_components):
    for name, n_rows in (("X", n_x), ("Y", n_y)):
        if n_components >= n_rows - n_known:
            raise DataError(
                f"The 'n_components' parameter of match_spaces must be below the rows of {name} "
                f"left to match ({n_rows - n_known}) with method='spectral'; got "
                f"{n_components} instead."
            )


def _spectral_start(U, V, known, n_components, n_neighbors, working_memory):
    """The first round's descriptors of the seeded refinement: the rows' relative descriptors
    to the known pairs and the spectral map's surest pairs."""
    found, _ = spectral_pairs(U, V, known, n_components=n_components,
                              n_neighbors=n_neighbors, working_memory=working_memory)
    found = found[len(known):][:SPECTRAL_ANCHORS]  # the surest: more only slow the first round
    anchors = np.vstack([known, found])
    return (relative_descriptors(U, U[anchors[:, 0]]),
            relative_descriptors(V, V[anchors[:, 1]]))
# --- end of method "spectral" ---


def _check_sizes(method, n_x, n_y, n_known, n_neighbors, n_clusters):
    for name, n_rows in (("X", n_x), ("Y", n_y)):
        free = n_rows - n_known
        if method == "unpaired":
            need, why = 2 * n_clusters, f"two per cluster, n_clusters={n_clusters}"
        else:
            need, why = 2, "rows to match"
        if free < need:
            raise DataError(
                f"match_spaces(method={method!r}) needs at least {need} rows of {name} besides "
                f"the known pairs ({why}); got {n_rows} rows of which {n_known} are known "
                "pairs."
            )
    if n_neighbors > min(n_x, n_y) - n_known:
        raise DataError(
            f"The 'n_neighbors' parameter of match_spaces must be at most the rows left to "
            f"match in either space ({min(n_x, n_y) - n_known}); got {n_neighbors} instead."
        )


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "pairs": ["array-like", None],
        "method": [StrOptions({"auto", *MATCHING_METHODS})],
        "n_neighbors": [COUNT],
        "n_iter": [COUNT],
        "alignment": [HasMethods(["fit", "transform"]), None],
        "n_clusters": [NumberInterval(Integral, 2, None, closed="left")],
        "n_runs": [COUNT],
        "n_components": [NumberInterval(Integral, 2, None, closed="left")],
        "return_confidence": ["boolean"],
        "return_quality": ["boolean"],
        "working_memory": [NumberInterval(Real, 0, None, closed="neither"), None],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def match_spaces(X, Y, pairs=None, *, method="auto", n_neighbors=10, n_iter=5, alignment=None,
                 n_clusters=10, n_runs=30, n_components=50, return_confidence=False,
                 return_quality=False,
                 working_memory=None, random_state=None):
    """Pairs of rows of ``X`` and ``Y`` believed to embed the same sample.

    The two spaces are *unpaired*: their row order carries no information and their row counts
    and widths may differ. A few known pairs (or none) seed the search; the pairs found can
    then serve as parallel anchors for any anchor-fitted estimator. Read more in the
    :ref:`User Guide <matching>`.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features_X)
        The first space.
    Y : array-like of shape (n_samples_Y, n_features_Y)
        The second space.
    pairs : array-like of shape (n_known, 2), default=None
        Known pairs: ``pairs[i] = (row of X, row of Y)``, each row at most once. They are
        kept, first and in the order given.
    method : {"auto", "seeded", "spectral", "unpaired"}, default="auto"
        - ``"seeded"``: grow the known pairs by mutual nearest neighbours of relative
          descriptors, then of a map fitted on the pairs found (needs known pairs);
        - ``"spectral"``: a functional map between the two spaces' k-NN graphs, fitted on
          functions of the known pairs (latent functional maps), whose pairs then start the
          seeded refinement (needs at least one known pair);
        - ``"unpaired"``: match k-means centroids of the two spaces by the structure of their
          Gram matrices, fit and refine a rotation on them, then refine as ``"seeded"`` does
          (the known pairs, if any, are kept);
        - ``"auto"``: ``"spectral"`` with 1 to 29 known pairs (when more than
          ``n_components`` rows are left to match), ``"seeded"`` with 30 or more,
          ``"unpaired"`` with none (measured: :ref:`matching`).
    n_neighbors : int, default=10
        Neighbours averaged into each row's hubness correction (CSLS).
    n_iter : int, default=5
        Rounds of refinement; each keeps a larger share of the pairs found, the last all.
    alignment : estimator, default=None
        The map fitted on the pairs found once there are 100 of them (``fit(X_rows, Y_rows)``,
        ``transform``); ``None`` is a ridge regression of strength 1 on the centred unit rows.
    n_clusters : int, default=10
        Centroids per clustering (``"unpaired"``).
    n_runs : int, default=30
        Clusterings (``"unpaired"``), their matched centroids stacked as anchors; the quality
        makes a second match of as many.
    n_components : int, default=50
        Eigenvectors of each graph's Laplacian, the size of the functional map
        (``"spectral"``); below the rows left to match.
    return_confidence : bool, default=False
        Also return each pair's confidence.
    return_quality : bool, default=False
        Also return the match's label-free quality (``"unpaired"``): below 0.5 the pairs are
        likely wrong, and a :class:`~skinvariance.exceptions.MatchingWarning` says so.
    working_memory : float, default=None
        MiB for one block of similarities (no ``n_samples_X x n_samples_Y`` matrix is held);
        ``None`` uses scikit-learn's ``working_memory`` configuration.
    random_state : int, RandomState instance or None, default=None
        Seeds the clusterings and the assignment solver (``"unpaired"``).

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2)
        Rows of X (column 0) and of Y (column 1): the known pairs, then those found, by
        decreasing confidence.
    confidence : ndarray of shape (n_pairs,)
        Returned with ``return_confidence=True``: ``inf`` for a known pair, otherwise the pair's
        CSLS margin (how far it beats the next best candidate of either row; in ``[0, 4]``).
    quality : float
        Returned with ``return_quality=True``: how well two independent matches (each from
        ``n_runs`` clusterings of its own) agree on where the rows of X go (near 1: the same
        correspondence; near 0: unrelated); ``nan`` for ``"seeded"`` and ``"spectral"``
        (no coarse match is made).

    See Also
    --------
    MatchedAlignment : Fits an alignment on the pairs found.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance import match_spaces
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8)) * np.linspace(1, 3, 8)
    >>> order = rng.permutation(300)
    >>> Y = X[order] @ ortho_group.rvs(8, random_state=0)  # rotated, rows shuffled
    >>> truth = np.argsort(order)  # row i of X is row truth[i] of Y
    >>> known = np.column_stack([np.arange(10), truth[:10]])
    >>> P = match_spaces(X, Y, known)
    >>> bool(np.mean(truth[P[:, 0]] == P[:, 1]) > 0.95)
    True

    One known pair is too few to describe the rows by; the spectral map finds them from the
    shape of the two neighbour graphs:

    >>> P = match_spaces(X, Y, known[:1], method="spectral")
    >>> bool(np.mean(truth[P[:, 0]] == P[:, 1]) > 0.95)
    True
    """
    found, margin, quality = _matched(
        X, Y, pairs, method=method, n_neighbors=n_neighbors, n_iter=n_iter,
        alignment=alignment, n_clusters=n_clusters, n_runs=n_runs, n_components=n_components,
        working_memory=working_memory, random_state=random_state)
    confidence = np.concatenate([np.full(len(found) - len(margin), np.inf),
                                 margin.astype(np.float64)])
    returned = (found,) + ((confidence,) if return_confidence else ()) + \
        ((quality,) if return_quality else ())
    return returned if len(returned) > 1 else found


def _matched(X, Y, pairs, *, method, n_neighbors, n_iter, alignment, n_clusters, n_runs,
             n_components, working_memory, random_state):
    """The pairs, the margins of those found, and the quality (``nan`` without coarse match);
    warns when the quality is low."""
    X, Y = check_unpaired_spaces(X, Y)
    known = check_known_pairs(pairs, len(X), len(Y))
    method = _choose(method, len(known),
                     spectral_fits=min(len(X), len(Y)) - len(known) > n_components)
    _check_sizes(method, len(X), len(Y), len(known), n_neighbors, n_clusters)
    if method == "spectral":
        _check_spectral(len(X), len(Y), len(known), n_components)
    U, V = centred_units(_single(X)), centred_units(_single(Y))
    start, quality = None, np.nan
    if method == "unpaired":
        W, quality = unpaired_rotation(
            U, V, n_clusters=n_clusters, n_runs=n_runs, n_neighbors_csls=n_neighbors,
            working_memory=working_memory, random_state=check_random_state(random_state))
        if quality < QUALITY_THRESHOLD:
            warnings.warn(
                f"match_spaces found no reliable match without known pairs: its quality is "
                f"{quality:.2f} (below {QUALITY_THRESHOLD}; two independent matches led to "
                "different correspondences), so the pairs found are likely wrong. Pass a few "
                "known pairs (pairs=...), or more rows of each space.",
                MatchingWarning, stacklevel=4)  # the caller of match_spaces (validated)
        mapped = (padded(U, V)[0] @ W)[:, :V.shape[1]]
        start = (unit_rows(mapped.astype(U.dtype)), V)
    elif method == "spectral":
        start = _spectral_start(U, V, known, n_components, n_neighbors, working_memory)
    found, margin = seeded_pairs(U, V, known, start=start, n_iter=n_iter,
                                 n_neighbors=n_neighbors, map_after=MAP_AFTER,
                                 alignment=alignment, working_memory=working_memory)
    return found, margin, quality
