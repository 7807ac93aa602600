"""
=====================================
Stitching a decoder that reconstructs
=====================================

Stitching is not only for classifiers. Here three small autoencoders are trained on the same
handwritten digits, differing only in their seed; each compresses an 8x8 digit into a
16-dimensional latent space. A linear decoder is trained to rebuild the pixels from one
autoencoder's representation, then fed another autoencoder's representation, zero-shot.

The target ``y`` is 2-D (the 64 pixels), the decoder a ridge regression, and the score the
negative mean squared error (higher is better, as scikit-learn's scorers have it).
"""

# %%
# Autoencoders and their latent spaces
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

from skinvariance import (
    RelativeProjection,
    StitchingEvaluator,
    stack_spaces,
    unstack_spaces,
)
from skinvariance.datasets import make_model_zoo

zoo = make_model_zoo(kind="autoencoder", n_models=3, random_state=0)
zoo.models[["name", "hidden_layer_sizes", "latent_dim"]]

# %%
# ``zoo.data`` holds the held-out digits themselves (pixels in [0, 1]): the reconstruction
# target.
spaces_train, spaces_test, pixels_train, pixels_test = train_test_split(
    stack_spaces(zoo.spaces), zoo.data, test_size=0.5, random_state=0
)

evaluators = {
    "absolute": StitchingEvaluator(None, Ridge(), random_state=0),
    "relative (cosine)": StitchingEvaluator(
        RelativeProjection("cosine"),
        Ridge(),
        anchors=100,
        random_state=0,
    ),
}
for name, ev in evaluators.items():
    ev.fit(spaces_train, pixels_train)
    mse = -ev.stitching_matrix(spaces_test, pixels_test)
    stitched = mse.to_numpy()[~np.eye(len(mse), dtype=bool)].mean()
    own_mse = np.diag(mse).mean()
    print(f"{name:18s} MSE: own {own_mse:.3f}, stitched {stitched:.3f}")

# %%
# What the stitched decoders draw
# -------------------------------
# Encoder ``init-1`` embeds the test digits; the decoder of ``init-0``, which never saw
# ``init-1``'s latent space, reconstructs them.
encoder, decoder = "init-1", "init-0"
test = unstack_spaces(spaces_test)
absolute = (
    evaluators["absolute"].decoders_[decoder].predict(test[encoder])
)
relative_ev = evaluators["relative (cosine)"]
relative = relative_ev.decoders_[decoder].predict(
    relative_ev.projections_[encoder].transform(test[encoder])
)
own = relative_ev.decoders_[decoder].predict(
    relative_ev.projections_[decoder].transform(test[decoder])
)

rows = {
    "input": pixels_test,
    "not stitched": own,
    "stitched,\nabsolute": absolute,
    "stitched,\nrelative": relative,
}
n_digits = 8
fig, axes = plt.subplots(
    len(rows), n_digits, figsize=(6.4, 4.2), layout="constrained"
)
for i, (label, images) in enumerate(rows.items()):
    for j in range(n_digits):
        ax = axes[i, j]
        digit = np.clip(images[j], 0, 1).reshape(8, 8)
        ax.imshow(digit, cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center")
fig.suptitle(
    f"Decoder of {decoder} reads {encoder}'s latent space, zero-shot"
)
plt.show()

# %%
# On the absolute spaces the stitched decoder draws digit-like strokes, but mostly the wrong
# digits; on the relative representation it draws the digits it is given, about as well as
# the decoder's own encoder does. The workshop paper reports the same pattern on MNIST:
# a mean squared error of 0.66 without stitching, 97.8 stitched on absolute spaces and 2.83
# stitched on relative ones (on its own pixel scale).
