"""LivePlot: throttled, bounded redraws from any event source."""

from __future__ import annotations

import json
import threading

import pytest

from lepton_lab.client import ApiError
from lepton_lab.core.events import EventWriter
from lepton_lab.widgets.live_plot import LivePlot, watch_run
from lepton_lab.widgets.live_plot_model import LivePlotModel
from tests.widget_comm import comms_fixture  # noqa: F401 - provides the `comms` fixture


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeTimers:
    """Timer factory whose timers fire when the test says (``fire_due``), by the fake clock."""

    def __init__(self, clock):
        self.clock = clock
        self.pending = []

    def __call__(self, delay_s, callback):
        timer = FakeTimer(self.clock.now + delay_s, callback)
        self.pending.append(timer)
        return timer

    def fire_due(self):
        due = [t for t in self.pending if t.at <= self.clock.now and not t.cancelled]
        self.pending = [t for t in self.pending if t not in due and not t.cancelled]
        for timer in due:
            timer.callback()
        return len(due)


class FakeTimer:
    def __init__(self, at, callback):
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self):
        self.cancelled = True


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
        assert 150 <= len(trace["x"]) <= 300  # the panel's bounded series: bucket means
        assert trace["x"][-1] > 9.9  # the newest bucket reaches the end of epoch 10
    validation = [trace for trace in figure["data"] if trace["name"] == "validation"]
    assert [len(trace["x"]) for trace in validation] == [10, 10]
    assert validation[0]["x"] == list(range(1, 11))  # one point per epoch, on the epoch axis
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
    assert max(sum(e["type"] == "batch" for e in m["events"]) for m in messages) <= 101
    histories = chart_comm.updates("history")
    assert 10 <= len(histories) <= plot.redraws  # refreshed at every epoch end, never more than drawn
    last = histories[-1]
    assert [e["epoch"] for e in last if e["type"] == "epoch"] == list(range(1, 11))
    assert len(last) <= 2 * 300 + 11
    assert chart_comm.sent_bytes() / plot.redraws < 50_000
    # No plotly FigureWidget (5 MB of plotly.js in the saved state) and no output re-rendering.
    models = {c.opened["data"]["state"].get("_model_name") for c in comms}
    assert not models & {"FigureModel", "OutputModel"}


def test_events_during_a_pause_are_drawn_by_the_trailing_timer():
    clock = FakeClock()
    timers = FakeTimers(clock)
    plot = LivePlot(max_redraws_per_s=20, clock=clock, timer=timers)  # interval 50 ms
    plot.on_event(batch(1))
    clock.now += 0.01
    plot.on_event(batch(2))  # within the interval: coalesced, not drawn yet
    plot.on_event(batch(3))  # one timer is enough
    assert plot.redraws == 1 and len(timers.pending) == 1
    assert timers.pending[0].at == pytest.approx(0.05)  # due one interval after the last redraw
    clock.now = 0.05
    assert timers.fire_due() == 1
    assert plot.redraws == 2 and plot.step == 3
    clock.now = 1.0
    assert timers.fire_due() == 0 and plot.redraws == 2  # nothing new arrived: no redraw


def test_flush_cancels_the_trailing_timer():
    clock = FakeClock()
    timers = FakeTimers(clock)
    plot = LivePlot(clock=clock, timer=timers)
    plot.on_event(batch(1))
    plot.on_event(batch(2))
    plot.flush()
    assert plot.redraws == 2 and timers.pending[0].cancelled


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
    plot.on_events([epoch_event(1, 10), epoch_event(2, 20), epoch_event(3, 30)])
    # The run died after epoch 3 and resumed from its checkpoint of epoch 2: its restart point, then
    # epoch 3 again.
    plot.on_event({"t": 0.05, "type": "status", "status": "running", "epoch": 2, "epochs": 5})
    for step in range(21, 31):
        plot.on_event(batch(step, epoch=3, steps_per_epoch=10, epochs=5, loss=0.1))
    plot.on_event(epoch_event(3, 30, val_loss=0.2))
    series = plot.model.metrics.series
    xs, ys = series["loss"].points()
    assert xs == sorted(xs) and len(xs) == len(set(xs)) == 30
    assert ys[-10:] == [0.1] * 10
    epochs_x, val_loss = series["val_loss"].points()
    assert epochs_x == [10, 20, 30]  # x = the step each epoch ended at, as in the Lab panel
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


def test_the_model_draws_the_lab_panels_numbers_without_widgets():
    # The same fold as core.job_progress (and the panel): a finished run shows the epochs it completed.
    model = LivePlotModel(title="run")
    model.apply([batch(s, epoch=(s - 1) // 10 + 1, steps_per_epoch=10, epochs=10) for s in range(1, 36)])
    assert "epoch 4/10" in model.progress_text() and "ETA" in model.progress_text()
    model.apply([epoch_event(1, 10), epoch_event(2, 20), epoch_event(3, 30)])
    model.apply([{"t": 0.04, "type": "status", "status": "cancelled", "epoch": 3}])  # in epoch 4
    assert "epoch 3/10" in model.progress_text() and "ETA" not in model.progress_text()
    assert model.figure()["layout"]["title"]["text"] == "run"


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
    """Test double of lepton_lab.client.Job: its stream sends two batches, then the job has ended."""

    id = "job-1"

    def __init__(self, fail_first=False):
        self.fail_first = fail_first
        self.calls = 0

    def follow_batches(self, stop=None):
        self.calls += 1
        if self.fail_first and self.calls == 1:
            raise ConnectionRefusedError("server restarting")
        yield [batch(1, steps_per_epoch=2, epochs=1)]
        yield [batch(2, steps_per_epoch=2, epochs=1), epoch_event(1, 2)]


def test_follow_job_draws_history_then_live_events_until_the_stream_ends():
    plot = LivePlot()
    thread = plot.follow(FakeJob(), poll_s=0.01)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert plot.step == 2
    assert plot.model.metrics.series["val_accuracy"].points() == ([2], [0.7])


def test_follow_job_follows_again_after_a_failed_connection():
    job = FakeJob(fail_first=True)
    plot = LivePlot()
    plot.follow(job, poll_s=0.01).join(timeout=10)
    assert job.calls == 2 and plot.step == 2


def test_follow_job_gives_up_when_the_server_refuses():
    class DeletedJob:
        id = "gone"
        calls = 0

        def follow_batches(self, stop=None):
            DeletedJob.calls += 1
            raise ApiError(404, "no job 'gone'")

    plot = LivePlot()
    plot.follow(DeletedJob(), poll_s=0.01).join(timeout=10)
    assert DeletedJob.calls == 1  # not retried forever


def test_stop_following_leaves_the_plot_live():
    release = threading.Event()

    class EndlessJob:
        id = "job-3"

        def follow_batches(self, stop=None):
            yield [batch(1)]
            release.set()
            stop.wait(10)

    plot = LivePlot()
    plot.follow(EndlessJob())
    assert release.wait(10)
    plot.stop_following()
    assert plot.step == 1 and plot._follower is None


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
    assert plot.model.metrics.series["val_accuracy"].points() == ([3, 6], [0.55, 0.55])
    assert plot.status == "finished"
    assert "epoch 2/2" in plot.progress_text()
    assert plot._throttle.dirty is False  # on_train_end drew the final state


def test_watch_run_outside_a_kernel_shows_nothing():
    class Run:
        id = "r"

    assert watch_run(Run()) is None


def test_a_plot_shown_nowhere_keeps_bounded_memory():
    # A plot that feeds no view (following a run for its numbers only) must not queue every event.
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    feed_ten_thousand(plot, clock)
    plot.flush()
    assert plot._feed.take() == []  # nothing left queued for a view that never came
    assert len(plot._feed.history()) <= 2 * 300 + 11  # what a later view starts from stays bounded


def test_a_live_redraw_carries_no_static_drawing(comms):
    # The SVG fallback (and the figure JSON) come with the final draw only.
    clock = FakeClock()
    plot = LivePlot(clock=clock, trailing=False)
    chart = plot.widget.children[0]
    data, _ = chart._repr_mimebundle_()
    assert "the final plot replaces it" in data["text/html"]  # what a page without widgets shows
    assert "<svg" not in data["text/html"]
    feed_ten_thousand(plot, clock)
    sent = json.dumps([data for comm in comms for data, _ in comm.messages])
    assert "<svg" not in sent and "plotly" not in sent
