"""
==============================================
Which invariance connects different networks?
==============================================

The workshop paper's two phases in one call: for each candidate invariance, make the latent
spaces invariant, measure how similar they become, stitch every encoder to every decoder
zero-shot, and pick the invariance that stitches best.

Here the networks differ in their **architecture** (depth, width, activation), which relates
their latent spaces by something less tidy than the rotation a change of seed gives: no single
kernel need win, and the comparison shows which does on these models.
"""

# %%
# Networks of different architectures
# -----------------------------------
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from skinvariance import compare_invariances
from skinvariance.datasets import make_model_zoo
from skinvariance.plotting import plot_invariances

zoo = make_model_zoo(factors="architecture", n_models=4, random_state=0)
zoo.models[
    ["name", "hidden_layer_sizes", "activation", "test_accuracy"]
]

# %%
# The comparison
# --------------
# By default: the absolute spaces, their L2 normalisation (the row "scale"), a relative
# projection with each kernel, centred cosine, the product of the four kernels, and
# orthogonal and affine alignment — all on the same 100 parallel anchors and the same
# train/test split.
table = compare_invariances(
    zoo.spaces, zoo.target, anchors=100, random_state=0
)
columns = ["invariance", "cka_mean", "mrr_mean", "stitching_mean"]
table[columns + ["best"]].round(3)

# %%
# ``stitching_mean`` is the mean zero-shot accuracy over ordered pairs of different networks;
# ``non_stitched_mean`` is each network with its own decoder, the ceiling.
print("best invariance:", table.attrs["best"])

# %%
# Similarity and stitching, side by side
# --------------------------------------
# Mean reciprocal rank asks whether each digit retrieves its own counterpart in the other
# network's representation; it needs comparable coordinates, so it is near 0 for absolute
# spaces. Linear CKA compares the spaces' structure and is high even without any invariance.
# The orange bar is the invariance that stitches best (the ``best`` column), in every panel;
# error bars are one standard deviation over the ordered pairs of networks, clipped to
# [0, 1], the range of all three measures. ``plot_invariances`` draws a legend on its own
# Axes; with three panels, one legend for the figure says it once.
fig, axes = plt.subplots(
    3, 1, figsize=(6.4, 8.4), sharex=True, layout="constrained"
)
titles = {
    "cka": "linear CKA",
    "mrr": "mean reciprocal rank",
    "stitching": "zero-shot stitching accuracy",
}
for ax, (measure, title) in zip(axes, titles.items()):
    plot_invariances(table, measure, ax=ax, title=title, legend=False)
    ax.set_ylabel(f"{measure}, mean")
    ax.set_xlabel("")
fig.legend(
    handles=[
        Patch(
            color="C1", label=f"best stitching: {table.attrs['best']}"
        ),
        Patch(color="C0", label="other invariances"),
        Line2D(
            [],
            [],
            color="black",
            marker="_",
            label="± 1 std over pairs",
        ),
    ],
    loc="outside upper center",
    ncols=3,
    frameon=False,
)
plt.show()
