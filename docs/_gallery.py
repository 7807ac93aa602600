"""The example gallery: the order of the examples, and the style of their figures."""

ORDER = [
    "plot_invariance_table.py",
    "plot_stitching_matrix.py",
    "plot_reconstruction_stitching.py",
    "plot_compare_invariances.py",
    "plot_own_embeddings.py",
    "plot_grid_search.py",
]


def example_sort_key(filename):
    """Sort key of sphinx-gallery's ``within_subsection_order``: listed first, then by name."""
    name = str(filename).rsplit("/", 1)[-1]
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


# Figures are drawn for the content column of the site (at most 720 CSS pixels wide, 613 at
# a 1280-pixel window): the examples make them 6.4 inches wide, so that a 10-point label is
# about 10 points on screen, and never use a font under 9 points. Saved at 150 dpi (and at
# 300 dpi for high-density screens, ``image_srcset``), they are sharp when scaled to fit.
FIGURE_STYLE = {
    "savefig.dpi": 150,
    "figure.figsize": (6.4, 4.8),
    "font.size": 10,
}


def reset_matplotlib(gallery_conf, fname):
    """``reset_modules`` entry: matplotlib's defaults plus :data:`FIGURE_STYLE`."""
    import matplotlib.pyplot as plt

    plt.rcdefaults()
    plt.rcParams.update(FIGURE_STYLE)
