"""Kernels comparing samples with anchors, and the registry of their names.

The kernels of the paper's product are cosine (a similarity), euclidean, L1 (``"manhattan"``,
``"cityblock"``) and L-infinity (``"chebyshev"``) (distances); angular and Minkowski-p are
registered too. :func:`kernel_table` gives every kernel's aliases, formula, invariances and
accuracy from the registry itself (the documentation's table is generated from it): finite
input of any magnitude the dtype can hold gives values within that accuracy of the exact
kernel, or, for a distance beyond the dtype's largest number, an error.
:func:`pairwise_kernel` computes one kernel between samples and anchors, in row blocks, on
the package's thread pool.
"""

from .._parallel import row_blocks
from ._definitions import Kernel
from ._driver import KernelEvaluator, pairwise_kernel
from ._registry import available_kernels, get_kernel, kernel_table

__all__ = [
    "Kernel",
    "KernelEvaluator",
    "available_kernels",
    "get_kernel",
    "kernel_table",
    "pairwise_kernel",
    "row_blocks",
]
