"""
==============================================
Which transformations each kernel is blind to
==============================================

A relative representation describes every sample by its similarities or distances to a set of
anchors. When the whole latent space (samples *and* anchors) is transformed, the relative
representation stays the same exactly when the kernel is invariant to that transformation.

This example measures it rather than stating it: it draws random samples and anchors, applies
each transformation to both, projects the original and the transformed space with every kernel
of the registry, and plots the relative change of the representation. Values at the level of
floating-point round-off mean *invariant*; values near 1 mean the representation changed as
much as it can.
"""

# %%
# Samples, anchors and transformations
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from skinvariance import RelativeProjection
from skinvariance.kernels import kernel_table

rng = np.random.default_rng(0)
n_features = 16
X = rng.normal(size=(300, n_features))
anchors = rng.normal(size=(20, n_features))

rotation, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
signed_permutation = np.eye(n_features)[rng.permutation(n_features)]
signed_permutation *= rng.choice([-1.0, 1.0], size=n_features)
stretch = np.diag(rng.uniform(0.2, 3.0, size=n_features))
shift = rng.normal(scale=2.0, size=n_features)

transformations = {
    "orthogonal": lambda Z: Z @ rotation,
    "isotropic scaling": lambda Z: 3.7 * Z,
    "signed permutation": lambda Z: Z @ signed_permutation,
    "translation": lambda Z: Z + shift,
    "anisotropic scaling": lambda Z: Z @ stretch,
    "general affine": lambda Z: Z @ stretch @ rotation + shift,
}

# %%
# Every kernel of the registry (in the registry's order), plus two options that add an
# invariance: centring on the anchor mean (cosine becomes translation-invariant) and a
# per-sample layer normalisation of the output (distances become scale-invariant).
# Minkowski is shown with p=3: with p=2 it is the euclidean distance and inherits its
# invariance to rotations.
projections = {
    name.replace("minkowski", "minkowski\np=3"): RelativeProjection(
        name, p=3
    )
    for name in kernel_table().index
}
projections["cosine\ncenter=True"] = RelativeProjection(
    "cosine", center=True
)
projections["euclidean\nnormalize='layer'"] = RelativeProjection(
    "euclidean", normalize="layer"
)


def relative_change(projection, transform):
    """||R(T X; T A) - R(X; A)|| / ||R(X; A)|| (Frobenius norms)."""
    before = projection.fit(anchors).transform(X)
    after = projection.fit(transform(anchors)).transform(transform(X))
    return np.linalg.norm(after - before) / np.linalg.norm(before)


change = np.array(
    [
        [relative_change(p, transform) for p in projections.values()]
        for transform in transformations.values()
    ]
)

# %%
# The table, measured
# -------------------
floor = 1e-16
invariant = change < 1e-9
fig, ax = plt.subplots(figsize=(6.4, 6.4), layout="constrained")
# one row per projection, one column per transformation
image = ax.imshow(
    np.maximum(change, floor).T,
    cmap="YlGn_r",
    norm=LogNorm(floor, 10.0),
    aspect="auto",
)
ax.set_yticks(range(len(projections)), list(projections))
ax.set_xticks(
    range(len(transformations)),
    list(transformations),
    rotation=45,
    ha="left",
)
ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
for (i, j), value in np.ndenumerate(change):
    ax.text(
        i,
        j,
        "invariant" if invariant[i, j] else f"{value:.2f}",
        ha="center",
        va="center",
        fontsize=9,
        color="white" if invariant[i, j] else "black",
    )
fig.colorbar(
    image,
    ax=ax,
    location="bottom",
    shrink=0.8,
    label="relative change of the representation",
)
plt.show()

# %%
# Reading the figure: cosine ignores rotations, isotropic scaling and signed permutations but not
# translations, unless the space is centred on the anchor mean first; euclidean ignores
# rotations, translations and signed permutations, and scaling as well once each relative
# vector is layer-normalised; L1 and L∞ ignore translations and signed permutations only. No
# kernel ignores an anisotropic scaling or a general affine map, which is what the alignments
# (:class:`~skinvariance.alignment.AffineAlignment`) and the products of invariances are for.
