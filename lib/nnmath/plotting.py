"""The book's figure style: one call at the top of every chapter.

Every figure of the book is drawn in the same style, so that a reader learns it once:

* colours from the Okabe–Ito palette, which stays distinguishable under the common forms of
  colour blindness, each paired with its own line style, so that curves also differ in
  grayscale and in print;
* a fixed figure size, so that stored outputs do not depend on the screen;
* PNG at twice the resolution (the inline backend's ``retina`` format), sharp on high-DPI
  screens.

This module imports matplotlib; ``import nnmath`` does not load it.

Examples
--------
>>> from nnmath.plotting import use_book_style, PALETTE
>>> len(PALETTE)
7
"""

from cycler import cycler

# Okabe & Ito (2008), "Color Universal Design": blue, vermillion, bluish green, orange,
# reddish purple, sky blue, black. Yellow is left out: it vanishes on a white page.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))


def use_book_style(figsize=(7.0, 3.6)):
    """Set matplotlib's defaults to the book's style (colours, line styles, size, retina PNG).

    Parameters
    ----------
    figsize : tuple of float, optional
        The default figure size in inches, (7.0, 3.6) unless a chapter needs wider panels.
    """
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.figsize": figsize,
            "figure.dpi": 100,
            "axes.prop_cycle": cycler(color=PALETTE) + cycler(linestyle=LINESTYLES),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
        }
    )
    try:  # inside IPython: store figures as PNG at twice the resolution
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover - matplotlib-inline comes with ipykernel
        pass
