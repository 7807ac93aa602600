"""
======================================================
Searching the product of invariances with GridSearchCV
======================================================

Which kernels to combine, and how to aggregate them, are hyper-parameters.
:class:`~skinvariance.stitching.StitchingEvaluator` is a scikit-learn estimator whose ``score``
is the mean zero-shot stitching score, so ``GridSearchCV`` searches them like any other:
*which* invariances enter the product (``projection__projections``) and *how* they are
combined (``projection__aggregate``).
"""

# %%
# Spaces of networks with different architectures
# -----------------------------------------------
# The stacked DataFrame form of the spaces is what cross-validation can split by rows.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import (
    ProductProjection,
    StitchingEvaluator,
    stack_spaces,
)
from skinvariance.datasets import make_model_zoo

zoo = make_model_zoo(factors="architecture", n_models=3, random_state=0)
spaces = stack_spaces(zoo.spaces)
y = zoo.target
n_digits, n_columns = spaces.shape
print(f"{n_digits} digits, {n_columns} columns (space, feature)")

# %%
# The search
# ----------
# Each candidate is refitted on the training folds (its 100 anchors taken among the training
# rows) and scored by zero-shot stitching on the held-out fold, over every ordered pair of
# networks.
evaluator = StitchingEvaluator(
    ProductProjection(["cosine"]),
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
    anchors=100,
    random_state=0,
)
param_grid = {
    "projection__projections": [
        ["cosine"],
        ["euclidean"],
        ["cosine", "euclidean"],
        ["cosine", "euclidean", "l1", "linf"],
    ],
    "projection__aggregate": ["concat", "mean"],
}
folds = StratifiedKFold(3, shuffle=True, random_state=0)
search = GridSearchCV(evaluator, param_grid, cv=folds)
search.fit(spaces, y)
for name, value in search.best_params_.items():
    print(f"best {name}: {value}")
print(f"zero-shot accuracy {search.best_score_:.3f}")

# %%
# All candidates
# --------------
results = pd.DataFrame(search.cv_results_)
results["kernels"] = results["param_projection__projections"].map(
    " + ".join
)
results["aggregate"] = results["param_projection__aggregate"]
table = results.pivot(
    index="kernels",
    columns="aggregate",
    values=["mean_test_score", "std_test_score"],
)
order = [" + ".join(p) for p in param_grid["projection__projections"]]
summary = table["mean_test_score"].loc[order]
errors = table["std_test_score"]
errors = errors.loc[summary.index]
summary.round(3)

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
summary.plot.barh(xerr=errors, ax=ax, capsize=3, legend=False)
ax.set_xlabel(
    "mean zero-shot stitching accuracy (3-fold cross-validation)"
)
ax.set_ylabel("kernels in the product")
ax.set_xlim(max(0.0, summary.min().min() - 0.1), 1.0)
ax.invert_yaxis()
fig.legend(
    title="aggregate",
    loc="outside upper center",
    ncols=2,
    frameon=False,
)
plt.show()

# %%
# ``"concat"`` keeps every subspace and lets the decoder weigh them; ``"mean"`` averages the
# subspaces after orienting them alike (distances negated), keeping the width of one subspace.
# ``projection__normalize`` (``"layer"``, ``"l2"`` or ``None``) and the evaluator's own
# ``anchors`` can be searched the same way.
