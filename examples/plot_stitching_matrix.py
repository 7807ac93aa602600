"""
=========================================
Zero-shot stitching across trained models
=========================================

Five small networks are trained on the same handwritten digits, identical except for their
random seed. Each embeds the same held-out digits in its own latent space. We train one
classifier per network on its own embeddings, then feed every classifier the embeddings of every
other network, with no retraining: zero-shot stitching.

On the absolute embeddings the classifiers fail off the diagonal, although the networks learned
the same task equally well: their latent spaces differ by a transformation (largely a rotation,
for a change of seed). A relative projection with the cosine kernel removes it, and the
classifiers work across networks.
"""

# %%
# The model zoo
# -------------
# :func:`~skinvariance.datasets.make_model_zoo` trains the networks on the fly (offline, a few
# seconds) and returns their latent spaces of the held-out digits, row-aligned.
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import (
    RelativeProjection,
    StitchingEvaluator,
    stack_spaces,
)
from skinvariance.datasets import make_model_zoo
from skinvariance.plotting import plot_matrix

zoo = make_model_zoo(
    factors="initialization", n_models=5, random_state=0
)
zoo.models[["name", "factor", "hidden_layer_sizes", "test_accuracy"]]

# %%
# Train and test rows
# -------------------
# Stacking the spaces into one table keeps them row-aligned through the split.
spaces = stack_spaces(zoo.spaces)
spaces_train, spaces_test, y_train, y_test = train_test_split(
    spaces,
    zoo.target,
    test_size=0.5,
    stratify=zoo.target,
    random_state=0,
)

# %%
# Absolute spaces against a relative projection
# ---------------------------------------------
# ``None`` as the projection uses the absolute spaces: the baseline. The relative projection
# uses 100 anchors, the same rows of the training set in every space. The decoder is a
# standardised logistic regression.
decoder = make_pipeline(
    StandardScaler(), LogisticRegression(max_iter=500)
)
evaluators = {
    "absolute spaces": StitchingEvaluator(
        None, decoder, random_state=0
    ),
    "relative (cosine)": StitchingEvaluator(
        RelativeProjection("cosine"),
        decoder,
        anchors=100,
        random_state=0,
    ),
}
matrices = {
    name: ev.fit(spaces_train, y_train).stitching_matrix(
        spaces_test, y_test
    )
    for name, ev in evaluators.items()
}

fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.6), layout="constrained")
for ax, (name, matrix) in zip(axes, matrices.items()):
    plot_matrix(
        matrix, ax=ax, vmin=0, vmax=1, colorbar=False, title=name
    )
fig.colorbar(axes[0].images[0], ax=axes, shrink=0.8, label="accuracy")
fig.suptitle("Accuracy of each decoder (column) on each encoder (row)")
plt.show()

# %%
# The diagonal is each network with its own classifier; everything off it is zero-shot. The
# mean of the off-diagonal entries is the evaluator's ``score``:
for name, ev in evaluators.items():
    score = ev.score(spaces_test, y_test)
    print(f"{name:18s} zero-shot accuracy {score:.3f}")
