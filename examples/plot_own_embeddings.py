"""
============================================================
Your own embeddings: from ``.npy`` files to a stitched model
============================================================

You hold embeddings of the same inputs from several models, one ``.npy`` file per model, and
a file of labels. Which invariance connects the models? And once you know, how does a decoder
trained on one model serve a model that arrives later, without training anything new?

So that this example runs offline and on its own, it first *writes* such files: four small
networks of different architectures, trained now on scikit-learn's digits, embed the same
held-out digits. From then on the files are treated as foreign: only their contents are used.
The user guide's :ref:`own_embeddings` explains each step.
"""

import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from skinvariance import compare_invariances, make_evaluator
from skinvariance.datasets import make_model_zoo
from skinvariance.io import read_labels, read_spaces
from skinvariance.metrics import permutation_test
from skinvariance.plotting import plot_invariances

# %%
# Files to start from
# -------------------
# Skip this part with your own files. Each network's last hidden layer, for the same digits
# in the same order, goes to one ``.npy`` file (float32, as embeddings usually are); the
# labels go to their own file. ``model_d`` will play the model that arrives later.
workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name)
zoo = make_model_zoo(factors="architecture", n_models=4, random_state=0)
files = dict(zip("abcd", zoo.spaces.values()))
for letter, Z in files.items():
    np.save(folder / f"model_{letter}.npy", Z.astype(np.float32))
np.save(folder / "labels.npy", zoo.target)
zoo.models.assign(file=[f"model_{letter}.npy" for letter in files])[
    ["file", "hidden_layer_sizes", "activation", "test_accuracy"]
]

# %%
# Reading the files
# -----------------
# :func:`~skinvariance.io.read_spaces` reads one space per ``.npy`` file, named by the file's
# stem, and checks that they are row-aligned (the same number of rows), numeric and finite;
# :func:`~skinvariance.io.read_labels` checks one label per row. Widths may differ.
spaces = read_spaces(
    [folder / f"model_{letter}.npy" for letter in "abc"]
)
n_samples = len(spaces["model_a"])
y = read_labels(folder / "labels.npy", n_samples)
print({name: Z.shape for name, Z in spaces.items()}, y.shape)

# %%
# Which invariance connects them?
# -------------------------------
# :func:`~skinvariance.compare_invariances` holds a quarter of the rows out, chooses 300
# anchors among the others, and for every invariance measures how similar the spaces become
# and how well a decoder (a standardised logistic regression) trained on one space reads
# another, zero-shot.
table = compare_invariances(spaces, y, random_state=0)
columns = [
    "cka_mean",
    "stitching_mean",
    "stitching_std",
    "non_stitched_mean",
]
table.set_index("invariance")[columns].round(3)

# %%
# How to read it
# ~~~~~~~~~~~~~~
# ``stitching_mean`` lies between two references:
#
# - **chance**, what a decoder that read nothing would score: the share of the most frequent
#   class, about 1 / (number of classes) for balanced labels;
# - **the ceiling**, ``non_stitched_mean``: each decoder on its own model's held-out rows.
#
# ``stitching_std`` is the spread over the ordered pairs of models: a large one says that
# some pairs stitch and others do not.
chance = np.bincount(y).max() / y.size
best = table.attrs["best"]
row = table.set_index("invariance").loc[best]
print(f"chance {chance:.3f}")
print(
    f"best invariance: {best}, stitching "
    f"{row['stitching_mean']:.3f}, ceiling {row['non_stitched_mean']:.3f}"
)

# %%
# The figure puts every invariance between the two.
fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
plot_invariances(table, "stitching", ax=ax, legend=False, title="")
positions = range(len(table))
ax.scatter(
    positions,
    table["non_stitched_mean"],
    marker="_",
    s=300,
    color="black",
    zorder=3,
)
ax.axhline(chance, color="grey", linestyle="--")
ax.set_ylabel("accuracy, mean over pairs")
ax.set_ylim(0, 1.05)
fig.legend(
    handles=[
        Patch(color="C1", label=f"best stitching: {best}"),
        Patch(color="C0", label="zero-shot stitching, other"),
        Line2D(
            [],
            [],
            color="black",
            marker="_",
            linestyle="",
            markersize=14,
            label="ceiling (non-stitched)",
        ),
        Line2D(
            [],
            [],
            color="grey",
            linestyle="--",
            label="chance (most frequent class)",
        ),
        Line2D(
            [],
            [],
            color="black",
            marker="|",
            linestyle="",
            markersize=10,
            label="± 1 std over pairs",
        ),
    ],
    loc="outside upper center",
    ncols=2,
    frameon=False,
)
plt.show()

# %%
# Similarity scores, against their null
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Linear CKA is high for the absolute spaces while stitching them fails. Is a CKA this high a
# lot? :func:`~skinvariance.metrics.permutation_test` shuffles one space's rows to
# get the value the measure takes by chance on these spaces. CKA lies hundreds of null
# standard deviations above chance: the networks encode the same structure. The mean
# reciprocal rank, which asks whether each digit finds its own counterpart in the other
# network's coordinates, is at chance: the structure is shared, the coordinates are not —
# exactly what an invariance removes.
for measure in ["linear_cka", "mrr"]:
    result = permutation_test(
        spaces["model_a"],
        spaces["model_b"],
        measure,
        n_permutations=99,
        random_state=0,
    )
    print(
        f"{measure:10s} {result.statistic:.3f}  "
        f"p-value {result.pvalue:.2f}  z-score {result.zscore:.1f}"
    )

# %%
# Fit the winner and its decoders
# -------------------------------
# :func:`~skinvariance.make_evaluator` turns any row of the table, whichever wins, into the
# evaluator that scored it: the same invariance with the same seeded random states, the same
# decoder (the row's own for ``product_mlp_sum``), anchors and scoring. It takes the row's
# name, the target it will be fitted on and the comparison's arguments (here
# ``random_state=0``). Split the rows, fit it on the training rows and check the stitching
# matrix on the others. The row numbers of the anchors *in the files* are worth saving: they
# name the inputs a new model must embed.
rows_train, rows_test = train_test_split(
    np.arange(n_samples), test_size=0.25, stratify=y, random_state=0
)
train = {name: Z[rows_train] for name, Z in spaces.items()}
test = {name: Z[rows_test] for name, Z in spaces.items()}
ev = make_evaluator(best, y[rows_train], random_state=0)
ev.fit(train, y[rows_train])
anchor_rows = rows_train[ev.anchor_indices_]
np.save(folder / "anchor_rows.npy", anchor_rows)
ev.stitching_matrix(test, y[rows_test]).round(3)

# %%
# A new model arrives
# -------------------
# ``model_d`` was in none of the fits. All it needs to provide is its embeddings of the
# anchor inputs, in the order of ``anchor_rows``; here they are rows of its file, otherwise
# you would run the new model on those inputs. ``stitch`` returns a fitted scikit-learn
# ``Pipeline``: the invariance fitted for the new model (for an alignment, the map from the
# new model into the decoder's space, fitted on the parallel anchors), then the decoder of
# ``model_a``, unchanged.
new = np.load(folder / "model_d.npy")
model = ev.stitch("model_a", new[np.load(folder / "anchor_rows.npy")])
for name, step in model.steps:  # the decoder may itself be a pipeline
    inner = getattr(step, "steps", [(name, step)])
    print(f"{name}: {' + '.join(type(part).__name__ for _, part in inner)}")

# %%
# The pipeline takes the new model's embeddings as they come. Its accuracy on the held-out
# rows, against the decoder on its own model (the ceiling) and against the same decoder fed
# the new model's raw coordinates (the absolute baseline):
y_test = y[rows_test]
stitched = accuracy_score(y_test, model.predict(new[rows_test]))
own = ev.stitching_matrix(test, y_test).loc["model_a", "model_a"]
absolute = make_evaluator("absolute", y[rows_train], random_state=0)
absolute.fit(train, y[rows_train])
raw = absolute.stitch("model_a", new[anchor_rows])
baseline = accuracy_score(y_test, raw.predict(new[rows_test]))
print(f"model_d read by model_a's decoder: {stitched:.3f}")
print(f"model_a's decoder on model_a:      {own:.3f}")
print(f"model_d, absolute coordinates:     {baseline:.3f}")

# %%
# Every decoder can serve the new model, and the pipeline is an ordinary scikit-learn
# estimator: ``predict_proba`` and pickling work as usual. Save the deployed model with
# ``joblib.dump``; ``joblib.load`` gives it back, with nothing else to carry, wherever the
# new model runs.
for name in ev.space_names_:
    served = ev.stitch(name, new[anchor_rows])
    accuracy = accuracy_score(y_test, served.predict(new[rows_test]))
    print(f"decoder of {name}: {accuracy:.3f}")
joblib.dump(model, folder / "stitched_model_d.joblib")
reloaded = joblib.load(folder / "stitched_model_d.joblib")
print(
    "reloaded gives the same predictions:",
    bool(
        np.array_equal(
            reloaded.predict(new[rows_test]),
            model.predict(new[rows_test]),
        )
    ),
)

# %%
# The folder was temporary.
workdir.cleanup()
