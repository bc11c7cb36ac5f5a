"""What a SweepView draws, built from the server's JSON: plotly figure dicts and HTML, no widgets.

Pure functions of a Sweep and its Trials (the shapes of ``GET sweeps/{id}`` and
``GET sweeps/{id}/trials``), so tests build them from recorded JSON and the view only shows
them:

- :func:`history_figure`: each finished trial's objective by trial number, and the running best
  (Optuna's optimisation history); pruned trials are drawn apart (their value is the best epoch
  before they were stopped, not comparable with a completed trial's);
- :func:`parallel_figure`: parallel coordinates of the completed trials' parameters and
  objective, one line per trial coloured by its value; log-scale parameters on log10 axes;
- :func:`importance_figure`: the server's fANOVA parameter importance as horizontal bars;
- :func:`trials_table_html` and :func:`header_html`: the trial table and the summary line.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from lepton_lab.sweep_client import counts_text, method_text, short_label
from lepton_lab.widgets._plots import PALETTE

Trial = Mapping[str, Any]

#: Status colours of the table (the Lab panel's: green done, blue running, grey pruned, red failed).
STATUS_COLOURS = {
    "completed": "#2ca02c", "running": "#1f77b4", "queued": "#7f7f7f", "pruned": "#8c564b",
    "failed": "#d62728", "cancelled": "#7f7f7f", "interrupted": "#ff7f0e",
}  # fmt: skip
_TABLE_HEIGHT = "320px"
_TABLE_CSS = (
    "<style>.lepton-sweep-table td,.lepton-sweep-table th{white-space:nowrap;padding:2px 8px;"
    "text-align:right}.lepton-sweep-table td.lepton-sweep-status{text-align:left}"
    ".lepton-sweep-table thead th{position:sticky;top:0;background:var(--jp-layout-color1,#fff)}"
    ".lepton-sweep-table tr.lepton-sweep-best td{font-weight:600}"
    ".lepton-sweep-table th.lepton-sweep-status{text-align:left}</style>"
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _ordered(trials: Sequence[Trial]) -> list[Trial]:
    return sorted(trials, key=lambda trial: int(trial.get("number", 0)))


def _valued(trials: Sequence[Trial], status: str) -> list[Trial]:
    """Return the trials of ``status`` that have an objective value, by number."""
    return [t for t in _ordered(trials) if t.get("status") == status and _number(t.get("value")) is not None]


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.02},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 45},
        "template": {"layout": {"font": {"size": 12}}},
        "legend": {"orientation": "h", "y": -0.25},
    }
    layout.update(extra)
    return layout


def history_figure(trials: Sequence[Trial], metric: str, direction: str) -> dict[str, Any] | None:
    """Objective per finished trial and the best so far, by trial number; None before any value.

    Parameters
    ----------
    trials
        The sweep's trials (any order).
    metric
        The objective's metric (the y axis title).
    direction
        ``maximize`` or ``minimize``: which way "best" goes.
    """
    completed, pruned = _valued(trials, "completed"), _valued(trials, "pruned")
    if not completed and not pruned:
        return None
    pick = max if direction == "maximize" else min
    # The running best as a step line drawn point by point (not plotly's line shape "hv", which
    # the static SVG drawing does not know): flat until a trial beats it, then up (or down).
    steps_x: list[int] = []
    steps_y: list[float] = []
    for trial in completed:
        value = float(trial["value"])
        best = pick(steps_y[-1], value) if steps_y else value
        if steps_y:
            steps_x.append(int(trial["number"]))
            steps_y.append(steps_y[-1])
        steps_x.append(int(trial["number"]))
        steps_y.append(best)
    last = max(int(t["number"]) for t in [*completed, *pruned])
    if steps_y and last > steps_x[-1]:  # the best so far holds through later (pruned) trials
        steps_x.append(last)
        steps_y.append(steps_y[-1])
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "markers", "name": "completed trial",
         "x": [int(t["number"]) for t in completed], "y": [float(t["value"]) for t in completed],
         "marker": {"color": PALETTE[0], "size": 8},
         "hovertemplate": "trial %{x}<br>" + metric + " %{y:.4g}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": "best so far", "line": {"color": PALETTE[1]},
         "x": steps_x, "y": steps_y, "hoverinfo": "skip"},
    ]  # fmt: skip
    if pruned:
        data.append(
            {"type": "scatter", "mode": "markers", "name": "pruned (best epoch before the stop)",
             "x": [int(t["number"]) for t in pruned], "y": [float(t["value"]) for t in pruned],
             "marker": {"color": "#aaaaaa", "size": 7, "symbol": "x"},
             "hovertemplate": "trial %{x} (pruned)<br>" + metric + " %{y:.4g}<extra></extra>"}
        )  # fmt: skip
    layout = _layout(
        f"Best {metric} so far ({direction})", 340,
        xaxis={"title": {"text": "trial"}, "tickformat": "d", "rangemode": "tozero"},
        yaxis={"title": {"text": metric}},
    )  # fmt: skip
    return {"data": data, "layout": layout}


def _log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10) and labels of a log axis from ``low`` to ``high``: its ends and decades."""
    a, b = math.log10(low), math.log10(high)
    ticks = [a, *[float(k) for k in range(math.ceil(a), math.floor(b) + 1) if a < k < b], b]
    return ticks, [f"{10**tick:.3g}" for tick in ticks]


def _dimension(path: str, values: list[Any], spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """One parcoords axis for parameter ``path`` (its space dimension ``spec``, if known)."""
    kind = (spec or {}).get("type")
    numbers = [_number(value) for value in values]
    label = short_label(path)
    if kind != "categorical" and all(number is not None for number in numbers):
        low, high = _number((spec or {}).get("low")), _number((spec or {}).get("high"))
        positive = all(n is not None and n > 0 for n in numbers) and low is not None and low > 0
        if (spec or {}).get("log") and positive and high:
            ticks, texts = _log_ticks(low or 1.0, high)
            return {"label": f"{label} (log)", "values": [math.log10(n or 1.0) for n in numbers],
                    "range": [ticks[0], ticks[-1]], "tickvals": ticks, "ticktext": texts}  # fmt: skip
        dimension: dict[str, Any] = {"label": label, "values": numbers}
        if low is not None and high is not None and high > low:
            dimension["range"] = [low, high]
        return dimension
    choices = [json_label(choice) for choice in (spec or {}).get("choices") or []]
    for value in values:
        if json_label(value) not in choices:
            choices.append(json_label(value))
    return {
        "label": label,
        "values": [choices.index(json_label(value)) for value in values],
        "tickvals": list(range(len(choices))),
        "ticktext": choices,
        "range": [-0.5, len(choices) - 0.5] if len(choices) > 1 else [-1, 1],
    }


def json_label(value: Any) -> str:
    """Return a parameter value as text: ``None`` -> ``null``, ``True`` -> ``true``, numbers compact."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def parallel_figure(
    trials: Sequence[Trial], space: Mapping[str, Any], metric: str, direction: str
) -> dict[str, Any] | None:
    """Parallel coordinates of the completed trials: one axis per parameter, then the objective.

    Lines are coloured by the objective (bright is better). None until a trial has completed.
    """
    completed = _valued(trials, "completed")
    if not completed:
        return None
    paths = list(space)
    for trial in completed:
        paths += [path for path in trial.get("params") or {} if path not in paths]
    dimensions = [
        _dimension(path, [(t.get("params") or {}).get(path) for t in completed], space.get(path))
        for path in paths
    ]
    values = [float(t["value"]) for t in completed]
    dimensions.append({"label": metric, "values": values})
    line = {
        "color": values, "colorscale": "Viridis", "reversescale": direction == "minimize",
        "showscale": True, "colorbar": {"title": {"text": metric}},
    }  # fmt: skip
    data = [{"type": "parcoords", "dimensions": dimensions, "line": line}]
    layout = _layout(
        f"Parameters of {len(completed)} completed trials", 400, margin={"l": 70, "r": 90, "t": 110, "b": 30}
    )
    return {"data": data, "layout": layout}


def importance_figure(importance: Mapping[str, float] | None) -> dict[str, Any] | None:
    """Draw the server's fANOVA importance as horizontal bars, the most important on top (None: unknown)."""
    entries = [(path, _number(value)) for path, value in (importance or {}).items()]
    shown = sorted(((path, value) for path, value in entries if value is not None), key=lambda item: item[1])
    if not shown:
        return None
    data = [{
        "type": "bar", "orientation": "h", "name": "importance",
        "x": [value for _, value in shown], "y": [short_label(path) for path, _ in shown],
        "text": [f"{value:.2f}" for _, value in shown], "textposition": "auto",
        "marker": {"color": PALETTE[0]}, "hovertemplate": "%{y}: %{x:.3f}<extra></extra>",
    }]  # fmt: skip
    longest = max(len(short_label(path)) for path, _ in shown)
    layout = _layout(
        "Parameter importance (fANOVA)", max(220, 60 + 36 * len(shown)),
        xaxis={"title": {"text": "share of the objective's variance"}, "rangemode": "tozero"},
        yaxis={"type": "category", "automargin": True},
        margin={"l": max(60, 14 + 7 * longest), "r": 20, "t": 40, "b": 45},
        showlegend=False,
    )  # fmt: skip
    return {"data": data, "layout": layout}


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(json_label(value))


def trials_table_html(trials: Sequence[Trial], space: Mapping[str, Any], best_number: int | None) -> str:
    """Return the trials as an HTML table: number, status, value, epochs run, then the parameters."""
    if not trials:
        return "<i>No trials yet.</i>"
    paths = list(space)
    for trial in trials:
        paths += [path for path in trial.get("params") or {} if path not in paths]
    head = '<th>#</th><th class="lepton-sweep-status">status</th><th>value</th><th>epochs</th>'
    head += "".join(
        f'<th title="{html.escape(path)}">{html.escape(short_label(path))}</th>' for path in paths
    )
    rows = []
    for trial in _ordered(trials):
        status = str(trial.get("status") or "")
        colour = STATUS_COLOURS.get(status, "#444")
        best = best_number is not None and trial.get("number") == best_number
        params = trial.get("params") or {}
        star = " ★" if best else ""
        cells = [
            f"<td>{int(trial.get('number', 0))}</td>",
            f'<td class="lepton-sweep-status" style="color:{colour}">{html.escape(status)}{star}</td>',
            f"<td>{_cell(_number(trial.get('value')))}</td>",
            f"<td>{int(trial.get('epochs_run') or 0)}</td>",
            *(f"<td>{_cell(params.get(path))}</td>" for path in paths),
        ]
        rows.append(f"<tr{' class=lepton-sweep-best' if best else ''}>{''.join(cells)}</tr>")
    return (
        f"{_TABLE_CSS}<div style='max-height:{_TABLE_HEIGHT};max-width:100%;overflow:auto'>"
        '<table class="lepton-table lepton-sweep-table" style="font-size:12px;border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def header_html(info: Mapping[str, Any]) -> str:
    """One line: the sweep's name, state, trial counts and best value with its parameters."""
    objective = info.get("objective") or {}
    state = str(info.get("state") or "")
    colour = {"completed": "#2ca02c", "failed": "#d62728", "cancelled": "#7f7f7f"}.get(state, "#1f77b4")
    line = (
        f"<b>Sweep {html.escape(str(info.get('name') or 'sweep'))}</b> "
        f"<span style='color:#777'>{html.escape(str(info.get('id') or ''))}</span> · "
        f"<span class='lepton-sweep-state' style='color:{colour}'>{html.escape(state)}</span> · "
        f"{html.escape(method_text(info))} · "
        f"{html.escape(counts_text(info))}"
    )
    best = info.get("best") or {}
    value = _number(best.get("value"))
    if value is not None:
        params = ", ".join(
            f"{html.escape(short_label(path))}={_cell(v)}" for path, v in (best.get("params") or {}).items()
        )
        line += (
            f"<br>best {html.escape(str(objective.get('metric') or 'value'))} <b>{value:.4g}</b> "
            f"(trial {int(best.get('number', 0))}): {params}"
        )
    return f"<div class='lepton-sweep-header' style='font-size:13px'>{line}</div>"
