"""
=========================================
How many anchors do I need? The curve
=========================================

Every invariance of this package is fitted on *parallel anchors*: rows that embed the same
inputs in every space. Users who compare models across modalities or languages, or who hold
only the embeddings, know a handful of such pairs, or none, but have many *unpaired* rows of
each space. This example draws the anchor curve: zero-shot stitching against the number of
known pairs, for two invariances, with the given anchors alone (``pairing="given"``) and with
pseudo-anchors matched among the unpaired rows (``pairing="match"``,
:func:`skinvariance.match_spaces`), against chance and the non-stitched ceiling.
"""

# %%
# A zoo of five networks that differ by their architecture
# ---------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skinvariance import (
    AffineAlignment,
    RelativeProjection,
    compare_invariances,
)
from skinvariance.datasets import make_model_zoo
from skinvariance.plotting import plot_anchor_curve

zoo = make_model_zoo(factors="architecture", random_state=0)
invariances = {
    "relative_cosine_centered": RelativeProjection("cosine", center=True),
    "affine_ridge": AffineAlignment(alpha="auto"),
}

# %%
# The curve, with the given anchors alone and with matching
# ----------------------------------------------------------
# With ``pairing="match"`` only the ``anchors`` rows are known pairs (0: none); the other
# training rows of each space are matched unpaired (their order is never read) and the
# invariances are fitted on 300 pseudo-anchors.
spaces, y = zoo.spaces, zoo.target
given = compare_invariances(spaces, y, invariances, metrics=["cka"],
                            anchors=[10, 30, 100, 300], random_state=0)
matched = compare_invariances(spaces, y, invariances, metrics=["cka"],
                              anchors=[0, 10, 30, 100], pairing="match",
                              random_state=0)
chance = np.bincount(y).max() / len(y)  # the most frequent class

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
plot_anchor_curve(given, chance=chance, ax=axes[0], title="given anchors only")
plot_anchor_curve(matched, chance=chance, ax=axes[1],
                  title="with matched pseudo-anchors")
fig.tight_layout()

# %%
# The tables behind the curves (stitching means, three decimals; the last digit may move on
# another machine):
columns = ["anchors", "invariance", "stitching_mean"]
print(given[columns].round(3).to_string(index=False))
print(matched[columns].round(3).to_string(index=False))
