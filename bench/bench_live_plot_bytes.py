"""Bytes the notebook live plot sends to the front end per live redraw, and with its final draw.

Run: ``.venv/bin/python bench/bench_live_plot_bytes.py [epochs] [steps_per_epoch]``.

A run of ``epochs`` x ``steps_per_epoch`` batches (1000 events a second on a fake clock) feeds a
:class:`~lepton_lab.widgets.live_plot.LivePlot` shown with ``display()``. Everything that would
leave the kernel is recorded: the widget's comm messages (new events, history refreshes) and
the cell outputs (``display`` and display-handle updates, as JSON). Reported: bytes per live
redraw (from the first event to just before ``finish``), the bytes of the display itself and
of the final draw. Nothing here is timed, so the numbers are the same on any machine.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: Bytes sent, by kind: widget opening (state and front-end code), history refreshes, new events.
SENT = {"open": 0, "history": 0, "events": 0, "other": 0}


def _kind(data: Any) -> str:
    if isinstance(data, dict) and "history" in (data.get("state") or {}):
        return "history"
    if isinstance(data, dict) and data.get("method") == "custom":
        return "events"
    return "other"


class _Comm:
    kernel = "bench"

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or f"comm-{id(self)}"
        self.sent = len(json.dumps(kwargs.get("data") or {}, default=str))
        SENT["open"] += self.sent

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        size = len(json.dumps(data, default=str)) if data else 0
        self.sent += size
        SENT[_kind(data)] += size


def _bundle_bytes(obj: Any, raw: bool) -> int:
    if raw:
        return len(json.dumps(obj, default=str))
    data = obj._repr_mimebundle_() if hasattr(obj, "_repr_mimebundle_") else {"text/plain": repr(obj)}
    if isinstance(data, tuple):
        data = data[0]
    return len(json.dumps(data, default=str))


def main(epochs: int = 10, steps_per_epoch: int = 1000) -> dict[str, float]:
    import IPython.display
    import ipywidgets.widgets.widget as widget_module

    comms: list[_Comm] = []
    outputs: list[int] = []

    def create_comm(**kwargs: Any) -> _Comm:
        comm = _Comm(**kwargs)
        comms.append(comm)
        return comm

    class Handle:
        def update(self, obj: Any, raw: bool = False, **kwargs: Any) -> None:
            outputs.append(_bundle_bytes(obj, raw))

    def display(*objs: Any, raw: bool = False, display_id: Any = None, **kwargs: Any) -> Handle | None:
        for obj in objs:
            outputs.append(_bundle_bytes(obj, raw))
        return Handle() if display_id else None

    widget_module.comm.create_comm = create_comm  # type: ignore[attr-defined]
    IPython.display.display = display  # what live_plot's display() imports

    from lepton_lab.widgets.live_plot import LivePlot

    now = [0.0]
    plot = LivePlot(clock=lambda: now[0], trailing=False, title="bench")
    plot.display()
    shown = sum(outputs) + sum(comm.sent for comm in comms)
    display_output = sum(outputs)
    before = dict(SENT)
    total = steps_per_epoch * epochs
    for step in range(1, total + 1):
        now[0] += 0.001
        epoch = (step - 1) // steps_per_epoch + 1
        plot.on_event({
            "t": now[0], "type": "batch", "step": step, "epoch": epoch, "epochs": epochs,
            "total_steps": total, "metrics": {"loss": 1 / step, "accuracy": 1 - 1 / step},
        })  # fmt: skip
        if step % steps_per_epoch == 0:
            plot.on_event({
                "t": now[0], "type": "epoch", "step": step, "epoch": epoch, "epochs": epochs,
                "metrics": {"loss": 1 / epoch, "accuracy": 0.5, "val_loss": 1.1 / epoch, "val_accuracy": 0.4},
            })  # fmt: skip
    plot.flush()
    live = sum(outputs) + sum(comm.sent for comm in comms) - shown
    redraws = plot.redraws
    live_parts = {kind: SENT[kind] - before[kind] for kind in ("events", "history")}
    plot.on_event({"t": now[0], "type": "status", "status": "completed", "epoch": epochs})
    plot.finish()
    final = sum(outputs) + sum(comm.sent for comm in comms) - shown - live
    result = {
        "redraws": redraws,
        "bytes_per_live_redraw": round(live / max(redraws, 1)),
        "events_bytes_per_redraw": round(live_parts["events"] / max(redraws, 1)),
        "history_bytes_per_redraw": round(live_parts["history"] / max(redraws, 1)),
        "display_output_bytes": display_output,
        "display_bytes_with_widget_code": shown,
        "final_draw_bytes": final,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
