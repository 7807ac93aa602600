"""The one registry mapping kernel names and aliases to kernels."""

from .._registry import Registry
from ._definitions import (
    AngularKernel,
    CosineKernel,
    EuclideanKernel,
    L1Kernel,
    LinfKernel,
    MinkowskiKernel,
)

_KERNELS = Registry(
    (
        CosineKernel(),
        EuclideanKernel(),
        L1Kernel(),
        LinfKernel(),
        AngularKernel(),
        MinkowskiKernel(),
    ),
    parameter="kernel",
)


def available_kernels(*, aliases=False):
    """Names accepted wherever a kernel is chosen.

    Parameters
    ----------
    aliases : bool, default=False
        Whether to include the aliases (``"manhattan"``, ``"cityblock"``, ``"chebyshev"``)
        beside the canonical names.

    Returns
    -------
    names : list of str
        Sorted names.

    Examples
    --------
    >>> from skinvariance.kernels import available_kernels
    >>> available_kernels()
    ['angular', 'cosine', 'euclidean', 'l1', 'linf', 'minkowski']
    >>> "chebyshev" in available_kernels(aliases=True)
    True
    """
    return _KERNELS.names(aliases=aliases)


def get_kernel(name):
    """The kernel registered under ``name`` (a canonical name or an alias).

    Parameters
    ----------
    name : str
        A name from ``available_kernels(aliases=True)``.

    Returns
    -------
    kernel : Kernel
        The kernel object; ``kernel.name`` is its canonical name.

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the accepted names.

    Examples
    --------
    >>> from skinvariance.kernels import get_kernel
    >>> get_kernel("manhattan").name
    'l1'
    """
    return _KERNELS.get(name)


def kernel_table():
    """One row per kernel: aliases, kind, formula, invariances and accuracy.

    This is the table the documentation shows; it is generated from the registry. The
    ``accuracy`` column is each kernel's numeric contract: for finite input of any magnitude
    the dtype can hold, the largest error against the exact kernel of the given numbers, with
    ``d`` the number of features and ``eps`` the machine epsilon of the dtype (1.2e-7 for
    float32, 2.2e-16 for float64). Relative errors are relative to ``max(|exact|, tiny)``,
    ``tiny`` the dtype's smallest normal number. Only a distance beyond the dtype's largest
    number is not returned: it raises an error naming ``X``.

    Returns
    -------
    table : pandas.DataFrame
        Indexed by canonical kernel name.

    Examples
    --------
    >>> from skinvariance.kernels import kernel_table
    >>> kernel_table().loc["l1", "aliases"]
    'manhattan, cityblock'
    >>> kernel_table().loc["l1", "accuracy"]
    'relative error <= d eps'
    """
    return _KERNELS.table(
        lambda kernel: {
            "kernel": kernel.name,
            "aliases": ", ".join(kernel.aliases),
            "kind": kernel.kind,
            "formula": kernel.formula,
            "invariant to": ", ".join(kernel.invariances),
            "accuracy": kernel.accuracy,
        },
        index="kernel",
    )
