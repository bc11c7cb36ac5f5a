"""LivePlot: throttled, bounded redraws from any event source."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from lepton_lab.core.events import EventWriter
from lepton_lab.widgets._plots import Series
from lepton_lab.widgets.live_plot import LivePlot, live_callback
from tests.widget_comm import comms_fixture  # noqa: F401 - provides the `comms` fixture


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def batch(step, epoch=1, steps_per_epoch=1000, epochs=10, t=None, loss=None):
    return {
        "t": t if t is not None else step * 0.001, "type": "batch", "step": step, "epoch": epoch,
        "metrics": {
            "loss": loss if loss is not None else 1 / step, "accuracy": step / (steps_per_epoch * epochs)
        },
        "total_steps": steps_per_epoch * epochs, "epochs": epochs,
    }  # fmt: skip


def epoch_event(epoch, step, **metrics):
    values = {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7, **metrics}
    return {"t": step * 0.001, "type": "epoch", "step": step, "epoch": epoch, "metrics": values, "epochs": 10}


def feed_ten_thousand(plot, clock):
    for step in range(1, 10_001):
        clock.now += 0.001  # 1000 events a second for 10 s
        plot.on_event(batch(step, epoch=(step - 1) // 1000 + 1))
        if step % 1000 == 0:
            plot.on_event(epoch_event(step // 1000, step))


def test_ten_thousand_events_cause_a_bounded_number_of_redraws(comms):
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    chart = plot.widget.children[0]
    feed_ten_thousand(plot, clock)
    assert plot.events == 10_010
    # 10 s at <= 4 redraws/s (+1 for the very first event); but still drawing all along.
    assert 30 <= plot.redraws <= 41
    assert chart.messages == plot.redraws  # each redraw is one message to the front end


def test_redraw_cost_stays_bounded_however_long_the_run(comms):
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False, max_points=300)
    plot.widget  # noqa: B018 - attach a sink so redraws render
    feed_ten_thousand(plot, clock)
    figure = plot.figure()
    batch_traces = [trace for trace in figure["data"] if trace["name"] == "train (batch)"]
    assert len(batch_traces) == 2  # loss and accuracy panels
    for trace in batch_traces:
        assert 300 <= len(trace["x"]) <= 601
        assert trace["x"][-1] == pytest.approx(10.0)  # the newest point (step 10 000 = epoch 10) is drawn
    validation = [trace for trace in figure["data"] if trace["name"] == "validation"]
    assert [len(trace["x"]) for trace in validation] == [10, 10]
    assert len(json.dumps(figure)) < 60_000


def _custom_messages(comm):
    return [data["content"] for data, _ in comm.messages if data and data.get("method") == "custom"]


def test_the_front_end_gets_every_epoch_and_a_bounded_share_of_batches(comms):
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    plot.widget  # noqa: B018
    feed_ten_thousand(plot, clock)
    plot.flush()  # what the end of training does
    chart_comm = next(
        c for c in comms if c.opened["data"]["state"].get("_anywidget_id", "").endswith("LiveChart")
    )
    messages = _custom_messages(chart_comm)
    sent = [event for message in messages for event in message["events"]]
    seqs = [event["seq"] for event in sent]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # in order, each once
    assert [event["epoch"] for event in sent if event["type"] == "epoch"] == list(range(1, 11))
    assert sent[-1]["step"] == 10_000  # the newest point always reaches the front end
    batches = [event for event in sent if event["type"] == "batch"]
    assert 1000 <= len(batches) < 10_000  # thinned, but dense enough to draw
    assert max(sum(e["type"] == "batch" for e in m["events"]) for m in messages) <= 201
    histories = chart_comm.updates("history")
    assert 10 <= len(histories) <= plot.redraws  # refreshed at every epoch end, never more than drawn
    last = histories[-1]
    assert [e["epoch"] for e in last if e["type"] == "epoch"] == list(range(1, 11))
    assert len(last) <= 2 * 600 + 11
    assert chart_comm.sent_bytes() / plot.redraws < 100_000
    # No plotly FigureWidget (5 MB of plotly.js in the saved state) and no output re-rendering.
    models = {c.opened["data"]["state"].get("_model_name") for c in comms}
    assert not models & {"FigureModel", "OutputModel"}


def test_events_during_a_pause_are_drawn_by_the_trailing_timer():
    plot = LivePlot(max_redraws_per_s=20)  # interval 50 ms, real clock
    plot.on_event(batch(1))
    plot.on_event(batch(2))  # within the interval: coalesced, not drawn yet
    assert plot.redraws == 1
    deadline = time.monotonic() + 2
    while plot.redraws < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert plot.redraws == 2
    assert plot.step == 2
    time.sleep(0.12)
    assert plot.redraws == 2  # nothing new arrived: no redraw


def test_flush_draws_pending_events_at_once():
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    plot.on_event(batch(1))
    plot.on_event(batch(2))
    assert plot.redraws == 1
    plot.flush()
    assert plot.redraws == 2
    plot.flush()
    assert plot.redraws == 2


def test_resumed_run_redraws_repeated_epochs_instead_of_duplicating_them():
    plot = LivePlot(trailing=False)
    for step in range(1, 31):
        plot.on_event(batch(step, epoch=(step - 1) // 10 + 1, steps_per_epoch=10, epochs=5))
    plot.on_events([epoch_event(1, 10), epoch_event(2, 20)])
    # The run died during epoch 3 and resumed after epoch 2: epoch 3 starts over at step 21.
    for step in range(21, 31):
        plot.on_event(batch(step, epoch=3, steps_per_epoch=10, epochs=5, loss=0.1))
    plot.on_event(epoch_event(3, 30))
    plot.on_event(epoch_event(3, 30, val_loss=0.2))  # the same epoch reported again
    xs, ys = plot.batch["loss"].points()
    assert xs == sorted(xs) and len(xs) == len(set(xs)) == 30
    assert ys[-10:] == [0.1] * 10
    epochs_x, val_loss = plot.epochs["val_loss"].points()
    assert epochs_x == [1, 2, 3]
    assert val_loss[-1] == 0.2


def test_progress_line_shows_epoch_step_elapsed_eta_and_metrics():
    plot = LivePlot(trailing=False)
    for step in range(1, 101):
        plot.on_event(batch(step, epoch=1, steps_per_epoch=200, epochs=2, t=1000.0 + step * 0.1))
    text = plot.progress_text()
    assert "running" in text
    assert "epoch 1/2" in text
    assert "step 100/400 (25%)" in text
    assert "10 s elapsed" in text
    assert "ETA 30 s" in text
    assert "loss 0.01" in text
    assert "<progress" in plot.progress_html()
    plot.on_event({"type": "status", "status": "failed", "error": "loss became NaN"})
    assert "error: loss became NaN" in plot.progress_text()
    assert "#c62828" in plot.progress_html()


def test_series_keeps_at_most_twice_its_cap_evenly_spread():
    series = Series(cap=50)
    for i in range(100_000):
        series.append(i, float(i))
    xs, _ = series.points()
    assert 50 <= len(xs) <= 101
    gaps = {b - a for a, b in itertools.pairwise(xs[:-1])}
    assert len(gaps) == 1  # evenly spaced
    assert xs[-1] == 99_999


def test_follow_run_draws_the_history_and_stops_after_the_final_status(tmp_path):
    with EventWriter(tmp_path / "events.jsonl") as writer:
        writer.emit("status", status="running", epochs=1)
        for step in range(1, 6):
            writer.write(batch(step, steps_per_epoch=5, epochs=1))
        writer.emit("epoch", step=5, epoch=1, metrics={"loss": 0.3, "val_accuracy": 0.9})
        writer.emit("eval", step=5, epoch=1, metrics={"test_accuracy": 0.88})
        writer.emit("status", status="completed", epoch=1)
    plot = LivePlot()
    thread = plot.follow_run(tmp_path, poll_s=0.05)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert plot.status == "completed"
    assert plot.step == 5
    assert plot.final == {"test_accuracy": 0.88}
    assert "test_accuracy 0.88" in plot.progress_text()


class FakeJob:
    """Test double of lepton_lab.client.Job: events appear in two rounds, then the job is done."""

    id = "job-1"

    def __init__(self):
        self.lines = [batch(1, steps_per_epoch=2, epochs=1)]
        self.reads = 0

    def events_page(self, after=0, limit=None):
        self.reads += 1
        if self.reads == 3:  # new events arrive while the plot follows
            self.lines += [batch(2, steps_per_epoch=2, epochs=1), epoch_event(1, 2)]
        return self.lines[after:], len(self.lines)

    @property
    def done(self):
        return self.reads >= 5


def test_follow_job_draws_history_then_live_events_until_the_job_is_done():
    job = FakeJob()
    plot = LivePlot()
    thread = plot.follow(job, poll_s=0.01)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert plot.step == 2
    assert plot.epochs["val_accuracy"].points() == ([1], [0.7])


class ResumedJob:
    """Test double of a job just resumed after a cancel: its events end with "cancelled" until its new
    worker starts."""

    id = "job-2"

    def __init__(self):
        self.lines = [
            batch(1, steps_per_epoch=1, epochs=2),
            epoch_event(1, 1),
            {"t": 0.002, "type": "status", "status": "cancelled", "epoch": 1},
        ]
        self.reads = 0

    def events_page(self, after=0, limit=None):
        self.reads += 1
        if self.reads == 4:  # the new worker starts and trains the second epoch
            self.lines += [
                {"t": 0.003, "type": "status", "status": "running", "epoch": 1, "epochs": 2},
                batch(2, epoch=2, steps_per_epoch=1, epochs=2),
                epoch_event(2, 2),
                {"t": 0.004, "type": "status", "status": "completed", "epoch": 2},
            ]
        return self.lines[after:], len(self.lines)

    @property
    def done(self):
        return self.reads >= 6


def test_follow_job_keeps_following_a_resumed_job_past_its_old_cancelled_status():
    plot = LivePlot()
    thread = plot.follow(ResumedJob(), poll_s=0.01)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert plot.status == "completed"
    assert plot.epochs["val_accuracy"].points() == ([1, 2], [0.7, 0.7])


def test_keras_callback_feeds_the_plot_the_events_training_writes():
    plot = LivePlot(trailing=False)
    callback = plot.callback()
    callback.set_params({"epochs": 2, "steps": 3})
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for index in range(3):
            callback.on_train_batch_end(index, {"loss": 1.0 - 0.1 * index, "accuracy": 0.5})
        callback.on_epoch_end(epoch, {"loss": 0.8, "accuracy": 0.6, "val_loss": 0.9, "val_accuracy": 0.55})
    callback.on_train_end()
    assert plot.step == 6
    assert plot.total_steps == 6
    assert plot.epochs["val_accuracy"].points() == ([1, 2], [0.55, 0.55])
    assert plot.status == "finished"
    assert "epoch 2/2" in plot.progress_text()
    assert plot._dirty is False  # on_train_end drew the final state


def test_live_callback_outside_a_kernel_shows_nothing():
    class Run:
        id = "r"

    assert live_callback(Run()) is None


def test_a_plot_shown_nowhere_keeps_bounded_memory():
    # A plot that feeds no view (following a run for its numbers only) must not queue every event.
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    feed_ten_thousand(plot, clock)
    plot.flush()
    assert plot._feed.take() == []  # nothing left queued for a view that never came
    assert len(plot._feed.history()) <= 2 * 600 + 11  # what a later view starts from stays bounded
