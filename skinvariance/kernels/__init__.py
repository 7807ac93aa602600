"""Kernels comparing samples with anchors, and the registry of their names.

=============  =========================  ==========================================
name           aliases                    value for a sample ``x`` and anchor ``a``
=============  =========================  ==========================================
cosine                                    ``<x, a> / (|x| |a|)`` (similarity)
euclidean                                 ``|x - a|_2``
l1             manhattan, cityblock       ``sum_f |x_f - a_f|``
linf           chebyshev                  ``max_f |x_f - a_f|``
angular                                   ``arccos(cos(x, a)) / pi``
minkowski                                 ``(sum_f |x_f - a_f|^p)^(1/p)``
=============  =========================  ==========================================

:func:`kernel_table` gives the same table, with each kernel's invariances and accuracy, from
the registry itself: finite input of any magnitude the dtype can hold gives values within that
accuracy of the exact kernel, or, for a distance beyond the dtype's largest number, an error.
"""

from ._definitions import Kernel
from ._driver import KernelEvaluator, pairwise_kernel, row_blocks
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
