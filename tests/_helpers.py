"""Helpers shared by several test modules: oracles, data makers, constants.

Fixtures (anything seeded) are in ``conftest.py``; these are plain functions of their
arguments.
"""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance.cli import main

# -- projections -------------------------------------------------------------------------------

CDIST = {"euclidean": "euclidean", "l1": "cityblock", "linf": "chebyshev"}


def kernel_reference(X, A, kernel):
    """scipy's ``cdist`` as the kernel's oracle (cosine as a similarity)."""
    if kernel == "cosine":
        return 1 - cdist(X, A, "cosine")
    return cdist(X, A, CDIST[kernel])


def layer_norm(R):
    """Each row minus its mean, divided by its (population) standard deviation."""
    R = R - R.mean(axis=1, keepdims=True)
    return R / R.std(axis=1, keepdims=True)


# -- measures ----------------------------------------------------------------------------------

# A working memory of a few KiB makes the blocked loops run over several blocks (checked by
# the ``blocks`` fixture), yet holds the 300 pairwise distances of 25 rows (exact median).
SMALL_MEMORY = 0.003


def several_blocks(seen):
    """Whether every blocked loop recorded by the ``blocks`` fixture ran over several blocks."""
    return bool(seen) and all(chunk < n_rows for chunk, n_rows in seen)


def paired_spaces(seed, n=30, d_x=5, d_y=7, mix=0.5):
    """Two related spaces of the same ``n`` samples: Y is a linear image of X plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x))
    Y = mix * X @ rng.normal(size=(d_x, d_y)) + rng.normal(size=(n, d_y))
    return X, Y


#: The fixed-seed profile of the property tests: the same examples on every run, no deadline
#: (the first example compiles kernels), a few seconds per test.
PROPERTY = settings(derandomize=True, database=None, max_examples=50, deadline=None)

SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def related_spaces(draw, *, min_rows=4, max_rows=40, min_width=1, max_width=8,
                   same_width=False):
    """``(X, Y)``: two related spaces of the same samples (:func:`paired_spaces`), with the
    seed, the row count, the widths and how strongly Y depends on X drawn."""
    n = draw(st.integers(min_rows, max_rows))
    d_x = draw(st.integers(min_width, max_width))
    d_y = d_x if same_width else draw(st.integers(min_width, max_width))
    return paired_spaces(draw(SEEDS), n, d_x, d_y, mix=draw(st.floats(0.0, 2.0)))


class Similarity:
    """``Z -> scale * Z @ Q + t``: an orthogonal map ``Q`` (drawn from its seed), an isotropic
    scale and a translation of ``shift`` times ``scale`` per coordinate at most."""

    def __init__(self, seed, scale, shift):
        self.seed, self.scale, self.shift = seed, scale, shift

    def __call__(self, Z):
        d = Z.shape[1]
        rng = np.random.default_rng(self.seed)
        Q = ortho_group.rvs(d, random_state=self.seed) if d > 1 else rng.choice([-1.0, 1.0],
                                                                               size=(1, 1))
        t = self.shift * self.scale * rng.uniform(-1.0, 1.0, size=d)
        return self.scale * Z @ Q + t

    def orthogonal_only(self):
        return Similarity(self.seed, 1.0, 0.0)

    def __repr__(self):
        return f"Similarity(seed={self.seed}, scale={self.scale:.3g}, shift={self.shift:.3g})"


#: Similarity transformations with scales from 1e-3 to 1e3 and translations up to 10 times
#: the scale: moderate magnitudes (the extreme ones are tested elsewhere).
SIMILARITIES = st.builds(Similarity, SEEDS, st.floats(-3.0, 3.0).map(lambda e: 10.0**e),
                         st.floats(0.0, 10.0))


class RowAffine:
    """``z_i -> a_i z_i + b_i 1`` with ``a_i`` from 1e-3 to 1e3 and, if ``shift``, ``b_i`` up to
    ``shift`` times ``a_i`` times the row's magnitude (drawn from the seed)."""

    def __init__(self, seed, shift=0.0):
        self.seed, self.shift = seed, shift

    def __call__(self, Z):
        rng = np.random.default_rng(self.seed)
        a = 10.0 ** rng.uniform(-3.0, 3.0, size=(len(Z), 1))
        magnitude = np.abs(Z).max(axis=1, keepdims=True)
        b = self.shift * a * magnitude * rng.uniform(-1.0, 1.0, size=(len(Z), 1))
        return a * Z + b

    def __repr__(self):
        return f"RowAffine(seed={self.seed}, shift={self.shift:.3g})"


#: Positive per-row scalings (no shift).
ROW_SCALINGS = st.builds(RowAffine, SEEDS)


# -- stitching ---------------------------------------------------------------------------------

#: Rows of the ``stitching_data`` fixture: the first N_TRAIN train, the last N_TEST test.
N_TRAIN, N_TEST = 300, 100


def decoder():
    """A linear probe with a closed-form fit (fast and deterministic)."""
    return make_pipeline(StandardScaler(), RidgeClassifier())


# -- files, Dask, the command line -------------------------------------------------------------


def save_npy(tmp_path, name, array):
    """``array`` saved as ``tmp_path / name``; returns the path."""
    path = tmp_path / name
    np.save(path, array)
    return path


def chunked(X, rows=90, cols=3):
    """``X`` as a Dask array of ``rows x cols`` chunks (the ``dask`` extra is needed)."""
    import dask.array as da

    return da.from_array(X, chunks=(rows, cols))


def run_cli(argv, capsys):
    """``skinvariance argv``: (exit status, standard output, standard error)."""
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err
