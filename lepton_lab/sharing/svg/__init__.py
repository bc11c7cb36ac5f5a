"""Static SVG drawings of plotly figures: :func:`figure_to_svg` (see :mod:`.figure`).

:mod:`.figure` lays out the figure (title, legend, colour bar, annotations) and hands traces
to :mod:`.cartesian` (lines, markers, bars, heatmaps) and :mod:`.parcoords`; :mod:`.elements`
holds the shared building blocks and :mod:`.colours` the colour scales.
"""

from lepton_lab.sharing.svg.figure import figure_to_svg

__all__ = ["figure_to_svg"]
