"""Sharing: runs and notebooks as files that open anywhere, with the network off.

- :mod:`~lepton_lab.sharing.report` -- a run as one self-contained HTML page (a Jinja2
  template, ``templates/report.html.j2``), with its figures from
  :mod:`~lepton_lab.sharing.report_figures`;
- :mod:`~lepton_lab.sharing.export` -- an executed notebook as one HTML page whose plots and
  widgets show offline;
- :mod:`~lepton_lab.sharing.snapshot` -- static HTML of widgets, from saved or live widget
  state (the widgets' ``text/html`` fallback);
- :mod:`~lepton_lab.sharing.svg` -- static SVG drawings of plotly figures;
- :mod:`~lepton_lab.sharing.embed` -- figures as HTML fragments (with plotly.js, or as SVG
  upgraded where plotly.js is);
- :mod:`~lepton_lab.sharing.images` -- the one PNG / ``data:`` URI encoder.

Layers: this package sits between ``core`` and the user-facing layers. It may import
:mod:`lepton_lab.core` (run store, datasets, models), never ``widgets``, ``server``, ``client``
or ``cli``; ``widgets`` and ``cli`` import it, ``core`` does not. Nothing here imports
TensorFlow.
"""
