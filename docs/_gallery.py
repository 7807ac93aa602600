"""Order of the examples in the gallery: the order of the user guide, not the alphabet."""

ORDER = [
    "plot_invariance_table.py",
    "plot_stitching_matrix.py",
    "plot_reconstruction_stitching.py",
    "plot_compare_invariances.py",
    "plot_grid_search.py",
]


def example_sort_key(filename):
    """Sort key of sphinx-gallery's ``within_subsection_order``: listed first, then by name."""
    name = str(filename).rsplit("/", 1)[-1]
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)
