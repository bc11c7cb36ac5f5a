"""EvaluationView and RunsTable on real runs (digits, one epoch each)."""

from __future__ import annotations

import pytest

from lepton_lab.core import datasets
from lepton_lab.core.run_store import load_run
from lepton_lab.core.runner import train
from lepton_lab.widgets.evaluation_view import EvaluationView
from lepton_lab.widgets.runs_table import RunsTable


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    slow = train(dataset="digits", model="mlp", train={"epochs": 2, "learning_rate": 1e-4}, name="slow",
                 runs_dir=runs_dir)  # fmt: skip
    fast = train(dataset="digits", model="mlp", train={"epochs": 2, "learning_rate": 3e-3}, name="fast",
                 runs_dir=runs_dir)  # fmt: skip
    return runs_dir, slow, fast


def test_evaluation_view_shows_confusion_per_class_and_galleries(trained):
    _, _, run = trained
    view = EvaluationView(run)
    evaluation = run.evaluation
    assert f"{evaluation.accuracy:.2%}" in view.header.value
    heatmap = view.confusion.figure["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["z"] == evaluation.confusion
    assert view.per_class.value.count("<tr") == 1 + 10 + 1  # header, classes, macro average
    assert len(view.worst.items) == 25
    worst = evaluation.worst[0]
    assert view.worst.items[0]["caption"].startswith(f"{worst['true']} → {worst['predicted']}")
    assert len(view.predictions.items) == 25
    tones = [item["tone"] for item in view.predictions.items]
    assert tones == ["good" if g["true"] == g["predicted"] else "bad" for g in evaluation.grid]


def test_evaluation_gallery_images_are_the_test_examples_named(trained):
    _, _, run = trained
    digits = datasets.load(run.spec.dataset)
    view = EvaluationView(str(run.path), dataset=digits)
    from lepton_lab.sharing.images import png_data_uri as thumbnail

    index = run.evaluation.worst[3]["index"]
    assert view.worst.items[3]["src"] == thumbnail(digits.page(index, 1, split="test").images[0])


def test_runs_table_sorts_by_the_chosen_column(trained):
    runs_dir, slow, fast = trained
    table = RunsTable(runs_dir)
    assert list(table.frame["id"]) == [slow.id, fast.id]
    table.sort_picker.value = "train.learning_rate"
    table.order.value = True
    assert list(table.sorted_frame()["id"]) == [slow.id, fast.id]
    table.order.value = False
    assert list(table.sorted_frame()["id"]) == [fast.id, slow.id]
    assert table.table.value.index(fast.id) < table.table.value.index(slow.id)
    assert "train.learning_rate ▼" in table.table.value


def test_compare_overlays_curves_and_draws_parallel_coordinates(trained):
    runs_dir, slow, fast = trained
    table = RunsTable(runs_dir)
    table.run_picker.value = (slow.id, fast.id)
    table.compare_button.click()
    curves = table.curves.figure["data"]
    assert [trace["name"] for trace in curves] == ["slow", "fast"]  # names, not ids
    assert curves[1]["y"] == load_run(fast.path).metrics()["val_accuracy"].tolist()
    parallel = table.parallel.figure["data"][0]
    labels = [dimension["label"] for dimension in parallel["dimensions"]]
    assert "learning_rate" in labels and "best_val_accuracy" in labels
    assert "name" not in labels


def test_two_runs_draw_parallel_coordinates_inside_the_axes(trained):
    """With two runs plotly's own ranges put one line on each edge, hidden by the frame."""
    runs_dir, slow, fast = trained
    table = RunsTable(runs_dir)
    table.compare([slow.id, fast.id])
    for dimension in table.parallel.figure["data"][0]["dimensions"]:
        low, high = dimension["range"]
        assert all(low < value < high for value in dimension["values"]), dimension


def test_runs_sharing_a_name_are_told_apart_in_picker_and_legend():
    import pandas as pd

    from lepton_lab.widgets.runs_table import run_labels

    frame = pd.DataFrame(
        {"id": ["20260101-a-run-1a2b", "20260101-b-run-3c4d", "x"], "name": ["run", "run", "solo"]}
    )
    assert run_labels(frame) == {
        "20260101-a-run-1a2b": "run (1a2b)", "20260101-b-run-3c4d": "run (3c4d)", "x": "solo",
    }  # fmt: skip


def test_table_rows_stay_on_one_line_and_show_a_short_time(trained):
    runs_dir, slow, _ = trained
    table = RunsTable(runs_dir)
    assert "white-space:nowrap" in table.table.value
    created = table.frame.loc[table.frame["id"] == slow.id, "created"].iloc[0]
    assert f">{created[:10]} {created[11:19]}<" in table.table.value
    assert dict(table.run_picker.options)["slow"] == slow.id


def test_an_unfinished_run_says_it_has_no_evaluation_yet(tmp_path):
    from lepton_lab.core.rundir import RunDir
    from lepton_lab.core.specs import JobSpec

    rd = RunDir.create(tmp_path, JobSpec(dataset={"name": "digits"}))
    view = EvaluationView(rd.path)
    assert "No evaluation yet: the run is queued" in view.children[0].value
