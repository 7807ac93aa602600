"""Anchor-fitted maps from one latent space to another.

An alignment is estimated from *parallel anchors*: row ``i`` of the source anchors and row ``i``
of the target anchors embed the same input in two spaces. Once fitted, ``transform`` carries any
source vector into the target space's coordinates, where it can be compared with (or decoded
like) the target's own vectors. This is the "affine invariance" of the product-of-invariances
workshop paper (METHOD.md §7); ``standardize=True`` makes it the latent space translation of
Maiorca et al. (NeurIPS 2023), and ``AffineAlignment(alpha="auto")`` chooses its ridge strength
by leave-one-out over the anchors.

Both estimators take ``fit(X_source_anchors, Y_target_anchors)``: the target is required. A 1-D
``Y`` is read as a single target column, so ``transform`` then returns one column.

Both are scale-safe: each side is divided by a power of two (exact; feature by feature when
standardised) before any mean, product or decomposition is formed, and the map is applied in
the same way, so finite anchors and samples of any magnitude the dtype holds give a finite map
and finite results. Only results that do not fit in the dtype (a scale between the spaces
beyond float64, mapped values beyond the dtype's largest number) raise an error saying so.
"""

from ._affine import AffineAlignment
from ._orthogonal import OrthogonalAlignment

__all__ = ["AffineAlignment", "OrthogonalAlignment"]
