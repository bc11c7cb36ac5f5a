"""The tutorial notebooks execute headless with small settings and show what they teach.

Each test runs one notebook from ``notebooks/`` in a fresh kernel whose working directory is a
temporary folder (so ``lepton-runs/`` and reports land there), with its ``parameters`` cell
overridden by small values, then checks the outputs a student would look at. Notebooks 03 and 04
talk to a real JupyterLab server (``tests/lab_server.py``); 04 restarts for real: the cells after
its restart marker run in a second kernel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from lepton_lab.client import LabClient
from lepton_lab.core import datasets
from lepton_lab.core.run_store import load_run, runs
from tests import notebooks as nbt
from tests.lab_server import running_lab
from tests.sharing import network_urls

pytestmark = pytest.mark.slow

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
#: Every player of an audio widget carries its clip as a preview WAV data URL (mu-law at 8 kHz,
#: about 11 KB a second) beside its thumbnails, twice (widget state and static snapshot), and the
#: EvaluationView of an audio run holds 25 grid clips and the worst ones: tutorial 08's saved
#: notebook measured 2.2 MB (6.6 MB with 16-bit 16 kHz players), its EvaluationView 0.7 MB.
MAX_AUDIO_NOTEBOOK_BYTES = 2_500_000
MAX_AUDIO_OUTPUT_BYTES = 800_000
#: A saved notebook must stay small enough to mail and diff; each plot well under 1 MB.
MAX_NOTEBOOK_BYTES = 2_000_000
MAX_OUTPUT_BYTES = 300_000


def run_notebook(name: str, cwd: Path, **parameters) -> tuple[object, Path]:
    """Execute ``notebooks/<name>`` in ``cwd`` with ``parameters``; save it there; fail on any error."""
    nb = nbt.parameterise(nbt.load(name), **parameters)
    nbt.execute(nb, cwd, timeout=600)
    path = nbt.save(nb, cwd / name)
    assert nbt.errors(nb) == [], nbt.errors(nb)
    # A reader takes red text for an error: a tutorial that works prints none.
    assert nbt.alarming_outputs(nb) == [], nbt.alarming_outputs(nb)
    return nb, path


def printed_number(cell, label: str) -> float:
    match = re.search(rf"{label}:? ([0-9.]+)", nbt.stream_text(cell))
    assert match, f"no '{label}' in the output of cell {cell.id}: {nbt.stream_text(cell)!r}"
    return float(match.group(1))


def assert_small(nb, path: Path) -> None:
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES
    assert nbt.largest_output_bytes(nb) < MAX_OUTPUT_BYTES
    state = json.dumps(nbt.widget_state(nb))
    assert "FigureModel" not in state  # plotly FigureWidgets would carry plotly.js (~5 MB) each


def assert_self_contained_report(path: Path, run_id: str) -> None:
    page = path.read_text(encoding="utf-8")
    assert run_id in page
    assert network_urls(page) == []  # nothing is fetched: plotly.js inlined, images are data: URIs
    assert "Plotly.newPlot" in page and "data:image/png;base64," in page
    assert page.count("* plotly.js v") == 1  # plotly.js bundle inlined exactly once


def live_plot(cell) -> dict:
    """The training plot the cell showed (a plain plotly output, redrawn in place)."""
    plots = nbt.outputs_with(cell, nbt.PLOTLY_MIME)
    assert len(plots) == 1, f"cell {cell.id} shows {len(plots)} plots"
    return plots[0]["data"][nbt.PLOTLY_MIME]


def epochs_plotted(figure: dict, trace: str = "validation") -> list[int]:
    return [x for x in next(t for t in figure["data"] if t["name"] == trace)["x"] if x is not None]


def test_every_notebook_has_a_tagged_parameters_cell_first():
    names = sorted(path.name for path in nbt.NOTEBOOKS.glob("*.ipynb"))
    assert names == [
        "01_quickstart.ipynb",
        "02_augmentation.ipynb",
        "03_hyperparameters.ipynb",
        "04_background_jobs.ipynb",
        "05_fashion_mnist.ipynb",
        "06_deploy.ipynb",
        "07_text.ipynb",
        "08_audio.ipynb",
    ]
    for name in names:
        nb = nbt.load(name)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert "parameters" in nbt.tags(code[0]), name
        assert all(not cell.get("outputs") for cell in code), f"{name} is saved with outputs"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# 0"), name


def test_quickstart_browses_builds_trains_evaluates_and_reports(tmp_path):
    epochs = 2
    nb, path = run_notebook("01_quickstart.ipynb", tmp_path, EPOCHS=epochs, BATCH_SIZE=64)

    browser = nbt.widget_html(nb, nbt.cell(nb, "browser"))
    assert "<b>digits</b>" in browser and "Examples per class" in browser
    assert "data:image/png;base64," in json.dumps(nbt.widget_state(nb))  # thumbnails were saved

    spec = nbt.stream_text(nbt.cell(nb, "spec"))
    assert "1 Conv2D" in spec and "53,002 parameters" in spec
    assert "model = keras.Sequential(" in nbt.stream_text(nbt.cell(nb, "code"))

    plot = live_plot(nbt.cell(nb, "train"))
    assert epochs_plotted(plot) == [1, 2]

    evaluate = nbt.cell(nb, "evaluate")
    accuracy = printed_number(evaluate, "test accuracy")
    assert accuracy > 0.5
    view = nbt.widget_html(nb, evaluate)
    shown = re.search(r"Test accuracy ([0-9.]+)%", view)
    assert shown and abs(float(shown.group(1)) / 100 - accuracy) < 0.001  # the same number, rounded
    assert "lepton-per-class" in view
    assert any(figure["data"][0]["type"] == "heatmap" for figure in nbt.widget_figures(nb, evaluate))

    (run_dir,) = (tmp_path / "lepton-runs").iterdir()
    run = load_run(run_dir)
    assert run.status["status"] == "completed" and run.status["epoch"] == epochs
    assert abs(run.evaluation.accuracy - accuracy) < 1e-3
    report = tmp_path / "quickstart-report.html"
    assert f"wrote {report.name}" in nbt.stream_text(nbt.cell(nb, "report"))
    assert_self_contained_report(report, run.id)
    assert_small(nb, path)


def test_augmentation_trains_with_and_without_and_compares_both_runs(tmp_path):
    nb, path = run_notebook("02_augmentation.ipynb", tmp_path, EPOCHS=2, IMAGE_SIZE=16)

    preview = nbt.widget_html(nb, nbt.cell(nb, "preview"))
    assert "variants (flip, rotation)" in preview
    assert nbt.stream_text(nbt.cell(nb, "augment")).strip() == (
        '{"ops":[{"op":"flip","mode":"horizontal_and_vertical"},{"op":"rotation","factor":0.5}]}'
    )
    for cell_id in ("train-plain", "train-augmented"):
        assert epochs_plotted(live_plot(nbt.cell(nb, cell_id))) == [1, 2]

    table = runs(tmp_path / "lepton-runs").set_index("name")
    plain, augmented = table.loc["shapes-plain"], table.loc["shapes-augmented"]
    assert plain["status"] == augmented["status"] == "completed"
    assert plain["augment"] is None or plain["augment"] != plain["augment"]  # None / NaN: no ops
    assert augmented["augment"] == "flip,rotation"

    compare = nbt.cell(nb, "compare")
    listed = nbt.widget_html(nb, compare)
    assert plain["id"] in listed and augmented["id"] in listed
    figures = {f["data"][0]["type"]: f for f in nbt.widget_figures(nb, compare)}
    # Curves are labelled by run name (ids are long and alike).
    assert {trace["name"]: trace["x"] for trace in figures["scatter"]["data"]} == {
        "shapes-plain": [1, 2],
        "shapes-augmented": [1, 2],
    }
    # Parallel coordinates: the one setting that differs, against the best validation accuracy.
    dimensions = {d["label"]: d for d in figures["parcoords"]["data"][0]["dimensions"]}
    assert set(dimensions) == {"augment", "best_val_accuracy"}
    assert dimensions["augment"]["ticktext"] == ["None", "flip,rotation"]
    summary = nbt.text_plain(nbt.cell(nb, "summary"))
    assert "shapes-plain" in summary and "flip,rotation" in summary
    assert_small(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real JupyterLab with Lepton Lab; kernels find it through LEPTON_LAB_URL / LEPTON_LAB_TOKEN."""
    root = tmp_path_factory.mktemp("lab") / "root"
    root.mkdir()
    with running_lab(root) as server:
        yield server


@pytest.fixture
def lab_env(lab, monkeypatch):
    # Kernels inherit this process's environment; the server did not start them, so
    # LabClient.discover() falls back to these variables.
    monkeypatch.setenv("LEPTON_LAB_URL", lab.url)
    monkeypatch.setenv("LEPTON_LAB_TOKEN", lab.token)
    return lab


def test_hyperparameters_by_hand_then_the_lr_finder_then_a_tpe_sweep_on_the_server(lab_env):
    lab = lab_env
    trials, epochs = 3, 1
    nb, path = run_notebook(
        "03_hyperparameters.ipynb", lab.root, EPOCHS=1, LR_STEPS=30, SWEEP_TRIALS=trials, SWEEP_EPOCHS=epochs
    )
    validation = nbt.stream_text(nbt.cell(nb, "validation")).splitlines()
    assert validation[0].startswith("error: momentum applies to 'sgd' or 'rmsprop'")
    assert validation[1] == "error: none"
    assert epochs_plotted(live_plot(nbt.cell(nb, "train-by-hand"))) == [1]

    # The finder's plot: loss against learning rate on a log axis, and the suggestion applied.
    (finder,) = [
        output["data"][nbt.PLOTLY_MIME]
        for output in nbt.cell(nb, "lr-find")["outputs"]
        if nbt.PLOTLY_MIME in output.get("data", {})
    ]
    assert finder["layout"]["xaxis"]["type"] == "log"
    used = re.fullmatch(
        r"learning rate: (\S+) \(suggested (\S+)\)\n", nbt.stream_text(nbt.cell(nb, "use-lr"))
    )
    assert used is not None and float(used[1]) == pytest.approx(float(used[2]), rel=0.05)
    assert str(lab.runs_dir) in nbt.stream_text(nbt.cell(nb, "client"))

    # The sweep ran its trials as server jobs, each a run of the base spec with its parameters.
    client = LabClient(lab.url, lab.token)
    (sweep,) = client.sweeps()
    assert sweep.info["state"] == "completed" and sweep.info["name"] == "digits-tpe"
    waited = nbt.stream_text(nbt.cell(nb, "wait"))
    counts = sweep.info["counts"]
    assert counts["completed"] + counts["pruned"] == trials
    assert waited.startswith(
        f"sweep completed: {counts['completed']} trials completed, {counts['pruned']} pruned"
    )
    frame = sweep.trials()
    assert list(frame["number"]) == list(range(trials))
    for trial in sweep.trials_info():
        spec = load_run(lab.runs_dir / trial["job_id"]).spec
        assert spec.train.batch_size == trial["params"]["train.batch_size"]
        assert spec.train.learning_rate == pytest.approx(trial["params"]["train.learning_rate"])
        assert spec.train.epochs == epochs and f"sweep:{sweep.id}" in spec.tags
    best = nbt.stream_text(nbt.cell(nb, "best"))
    assert f"trial #{sweep.info['best']['number']}," in best
    assert f"epochs trained: {int(frame['epochs_run'].sum())} of {trials * epochs}" in best
    table = nbt.text_plain(nbt.cell(nb, "trials"))
    assert "train.learning_rate" in table and "train.dropout" in table

    # The live view's final drawing is in the saved notebook, and the runs compare with by-hand.
    assert nbt.widget_figures(nb, nbt.cell(nb, "sweep"))
    compare = nbt.cell(nb, "compare")
    listed = nbt.widget_html(nb, compare)
    assert all(job_id in listed for job_id in frame["job_id"]) and "by-hand" in listed
    assert_small(nb, path)


def test_background_job_survives_a_kernel_restart_then_is_cancelled_and_resumed(lab_env):
    lab = lab_env
    # The job must still run when the second kernel reattaches and cancels it (~0.2 s an epoch here).
    epochs = 80
    nb = nbt.parameterise(
        nbt.load("04_background_jobs.ipynb"), DATASET={"name": "shapes", "image_size": 16}, EPOCHS=epochs
    )
    restart = next(i for i, cell in enumerate(nb.cells) if "after-restart" in nbt.tags(cell))
    assert "restart" in nbt.tags(nb.cells[restart - 1])
    # Proves the second half runs in a fresh kernel: nothing of the first survives.
    fresh = nbformat.v4.new_code_cell('assert "job" not in globals() and "JOB_FILE" not in globals()')
    nb.cells.insert(restart, fresh)

    nbt.execute(nb, lab.root, cells=range(restart))  # first kernel, shut down at the end
    assert nbt.errors(nb) == []
    job_id = json.loads((lab.root / "background-job.json").read_text())["id"]
    assert f"saved the id of job {job_id}" in nbt.stream_text(nbt.cell(nb, "save-id"))
    assert "epoch 1 of" in nbt.stream_text(nbt.cell(nb, "first-epoch"))

    nbt.execute(nb, lab.root, cells=range(restart, len(nb.cells)))  # second kernel
    assert nbt.errors(nb) == []
    path = nbt.save(nb, lab.root / "04_background_jobs.ipynb")
    assert nbt.stream_text(nbt.cell(nb, "reattach")).strip() == f"job {job_id} is running"

    cancel = nbt.stream_text(nbt.cell(nb, "cancel")).strip()
    cancelled = re.fullmatch(rf"job {job_id} is cancelled after (\d+) of {epochs} epochs", cancel)
    assert cancelled, cancel
    done_before_cancel = int(cancelled.group(1))
    assert 1 <= done_before_cancel < epochs
    # The plot drawn in the fresh kernel starts with the history written while the kernel restarted.
    rewatched = epochs_plotted(live_plot(nbt.cell(nb, "rewatch")))
    assert rewatched[:done_before_cancel] == list(range(1, done_before_cancel + 1))

    # The plot shown after the resume follows the new worker past the old "cancelled" status.
    resumed = epochs_plotted(live_plot(nbt.cell(nb, "resume")))
    assert len(resumed) > done_before_cancel and resumed == list(range(1, len(resumed) + 1))

    finished = nbt.stream_text(nbt.cell(nb, "finished")).splitlines()
    assert finished[0] == f"job {job_id} is completed after {epochs} of {epochs} epochs"
    assert printed_number(nbt.cell(nb, "finished"), "test accuracy") > 0

    run = load_run(lab.runs_dir / job_id)
    assert run.status["status"] == "completed" and run.status["epoch"] == epochs
    assert run.status["attempts"] == 2  # one worker before the cancel, one after the resume
    assert run.metrics()["epoch"].tolist() == list(range(1, epochs + 1))
    statuses = [event["status"] for event in run.events("status")]
    assert "cancelled" in statuses and statuses[-1] == "completed"
    assert_small(nb, path)


def test_background_job_that_finished_before_the_cancel_cell_runs_without_errors(lab_env):
    """On a fast machine the job ends before the reader reaches Cancel: the cells say so."""
    lab = lab_env
    nb = nbt.parameterise(
        nbt.load("04_background_jobs.ipynb"), DATASET={"name": "shapes", "image_size": 16}, EPOCHS=2
    )
    restart = next(i for i, cell in enumerate(nb.cells) if "after-restart" in nbt.tags(cell))
    nbt.execute(nb, lab.root, cells=range(restart))
    job_id = json.loads((lab.root / "background-job.json").read_text())["id"]
    LabClient(lab.url, lab.token).job(job_id).wait(timeout=240)

    nbt.execute(nb, lab.root, cells=range(restart, len(nb.cells)))
    assert nbt.errors(nb) == []
    assert nbt.stream_text(nbt.cell(nb, "cancel")).strip() == (
        f"job {job_id} had already completed after 2 of 2 epochs: nothing to cancel"
    )
    assert nbt.stream_text(nbt.cell(nb, "resume")).strip() == f"job {job_id} has completed: nothing to resume"
    finished = nbt.stream_text(nbt.cell(nb, "finished")).splitlines()
    assert finished[0] == f"job {job_id} is completed after 2 of 2 epochs"


@pytest.mark.skipif(
    not FASHION_DIR.is_dir(),
    reason=f"Fashion-MNIST is not installed at {FASHION_DIR}: apt-get install dataset-fashion-mnist",
)
def test_fashion_mnist_cnn_bn_learns_and_exports_a_report(tmp_path):
    nb, path = run_notebook("05_fashion_mnist.ipynb", tmp_path, EPOCHS=2, SUBSET=2000, BATCH_SIZE=8)

    assert "fashion_mnist" in nbt.text_plain(nbt.cell(nb, "available"))
    assert "train=2000" in nbt.text_plain(nbt.cell(nb, "load"))
    summary = nbt.text_plain(nbt.cell(nb, "model"))
    assert summary.count("BatchNormalization") == 2 and summary.count("Conv2D") == 2
    assert epochs_plotted(live_plot(nbt.cell(nb, "train"))) == [1, 2]

    accuracy = printed_number(nbt.cell(nb, "accuracy"), "test accuracy")
    assert accuracy > 0.6
    view = nbt.widget_html(nb, nbt.cell(nb, "evaluate"))
    assert "Shirt" in view and "Ankle boot" in view

    (run_dir,) = (tmp_path / "lepton-runs").iterdir()
    run = load_run(run_dir)
    assert run.spec.model.preset == "cnn_bn" and run.spec.dataset.subset == 2000
    assert [op.op for op in run.spec.augment.ops] == ["flip"]
    assert_self_contained_report(tmp_path / "fashion-mnist-report.html", run.id)
    assert_small(nb, path)


def test_deploy_exports_compares_deploys_serves_tf_serving_clients_and_monitors(lab_env):
    lab = lab_env
    burst = 120
    nb, path = run_notebook(
        "06_deploy.ipynb", lab.root, DATASET="digits", SUBSET=None, EPOCHS=3, BURST=burst, NAME="tutorial06"
    )
    accuracy = printed_number(nbt.cell(nb, "train"), "test accuracy")
    assert accuracy > 0.6

    # The comparison table: one row per export, int8 much smaller than float, accuracy kept.
    table = nbt.text_plain(nbt.cell(nb, "exports"))
    rows = re.findall(r"^(savedmodel|tflite int8|tflite) +[0-9.]+ +[0-9]+%", table, re.MULTILINE)
    assert rows == ["savedmodel", "tflite", "tflite int8"]
    run = load_run(next(p for p in lab.runs_dir.iterdir() if (p / "exports").is_dir()))
    manifests = {(e["format"], e["quantize"]): e for e in run.exports()}
    assert set(manifests) == {("savedmodel", "none"), ("tflite", "none"), ("tflite", "int8")}
    int8, float32 = manifests[("tflite", "int8")], manifests[("tflite", "none")]
    assert int8["size_bytes"] < 0.5 * float32["size_bytes"]
    assert float32["agreement"] >= 0.99 and abs(int8["accuracy_change"]) <= 0.05

    # Deployed and answered as TF Serving answers; a bad request explained.
    assert "deployed tutorial06 v1: ready" in nbt.stream_text(nbt.cell(nb, "deploy"))
    rest = nbt.stream_text(nbt.cell(nb, "rest")).splitlines()
    assert rest[0].endswith("/lepton-lab/api/v1/models/tutorial06:predict") and rest[1] == "status: 200"
    predicted, true = (re.findall(r"'(\d)'", line) for line in rest[2:4])
    assert len(predicted) == 8 and sum(p == t for p, t in zip(predicted, true, strict=True)) >= 5
    bad = nbt.stream_text(nbt.cell(nb, "bad-request"))
    assert bad.startswith("400 ") and "expected [8, 8, 1]" in bad

    # The burst counted: every request and image, the bad one as the error.
    sent = re.match(r"(\d+) requests, (\d+) images", nbt.stream_text(nbt.cell(nb, "burst")))
    assert sent is not None and int(sent[2]) <= burst
    metrics = nbt.stream_text(nbt.cell(nb, "metrics"))
    assert f"requests: {int(sent[1]) + 2}, errors: 1" in metrics  # + the REST call and the bad one
    assert "latency ms: {'p50'" in metrics and "drift:" in metrics
    shares = nbt.text_plain(nbt.cell(nb, "metrics"))
    assert "predicted share" in shares and "training share" in shares
    prometheus = nbt.stream_text(nbt.cell(nb, "prometheus"))
    assert f'lepton_lab_model_requests_total{{model="tutorial06"}} {int(sent[1]) + 2}.0' in prometheus

    # The pads: the served model and the kernel's agree on the first test image.
    printed = nbt.stream_text(nbt.cell(nb, "pad-kernel")).splitlines()
    pads = [line for line in printed if line.startswith(("served:", "in kernel:"))]
    served, kernel = (re.findall(r"\('(\d)', ([0-9.]+)\)", line) for line in pads)
    assert [name for name, _ in served] == [name for name, _ in kernel] and len(served) == 3
    assert all(abs(float(a) - float(b)) < 0.01 for (_, a), (_, b) in zip(served, kernel, strict=True))
    assert "first 25 test" in nbt.widget_html(nb, nbt.cell(nb, "grid"))

    # Standalone serve answered; the model was undeployed at the end.
    standalone = re.findall(r"'(\d)'", nbt.stream_text(nbt.cell(nb, "serve")))
    assert standalone == predicted[:4]
    assert nbt.stream_text(nbt.cell(nb, "undeploy")) == "deployed now: []\n"
    assert LabClient(lab.url, lab.token).models() == []
    assert_small(nb, path)


def fortunes_missing() -> bool:
    from lepton_lab.core.datasets import fortunes

    return bool(fortunes.missing_packages("fortunes_languages"))


@pytest.mark.skipif(fortunes_missing(), reason="the fortunes packages are not installed (make system-deps)")
def test_text_tutorial_browses_compares_three_models_and_predicts_from_raw_strings(tmp_path):
    nb, path = run_notebook("07_text.ipynb", tmp_path, SUBSET=800, EPOCHS=2)

    assert "train=800" in nbt.text_plain(nbt.cell(nb, "load"))
    assert "<b>fortunes_languages</b>" in nbt.widget_html(nb, nbt.cell(nb, "browser"))
    layers = nbt.text_plain(nbt.cell(nb, "model"))
    assert "TextVectorization" in layers and "(None, 100)" in layers and "Bidirectional" in layers

    printed = dict(
        re.findall(r"^(\w+): test accuracy ([0-9.]+)$", nbt.stream_text(nbt.cell(nb, "train")), re.M)
    )
    accuracy = {preset: float(value) for preset, value in printed.items()}
    assert set(accuracy) == {"bag_of_words", "text_cnn", "text_bilstm"}
    assert accuracy["bag_of_words"] > 0.5  # ten languages: chance is 0.1
    found = {load_run(p).spec.model.preset: load_run(p) for p in (tmp_path / "lepton-runs").iterdir()}
    assert set(found) == set(accuracy)
    for preset, run in found.items():
        assert run.status["status"] == "completed" and run.status["epoch"] == 2
        assert abs(run.evaluation.accuracy - accuracy[preset]) < 1e-3
    table = nbt.text_plain(nbt.cell(nb, "summary"))
    assert all(f"languages-{preset}" in table for preset in accuracy)

    best = max(accuracy, key=accuracy.get)
    assert nbt.stream_text(nbt.cell(nb, "evaluate")).startswith(f"best: languages-{best} (")
    assert "Test accuracy" in nbt.widget_html(nb, nbt.cell(nb, "evaluate"))

    classes = set(datasets.load("fortunes_languages").class_names)
    answers = nbt.stream_text(nbt.cell(nb, "predict")).splitlines()
    assert len(answers) == 4 and all(line.split()[0] in classes for line in answers)
    exported = nbt.stream_text(nbt.cell(nb, "export"))
    assert "input: {'shape': [None], 'dtype': 'string', 'scale': 1.0}" in exported
    agreement = printed_number(nbt.cell(nb, "export"), "agreement with the Keras model")
    assert agreement >= 0.99
    assert_small(nb, path)


def test_audio_tutorial_listens_augments_trains_a_cnn_and_reports(tmp_path):
    nb, path = run_notebook("08_audio.ipynb", tmp_path, CLIPS=400, EPOCHS=4)

    assert "train=256" in nbt.text_plain(nbt.cell(nb, "load"))
    assert nbt.widget_html(nb, nbt.cell(nb, "browser")).count("<audio") >= 6
    preview = nbt.widget_html(nb, nbt.cell(nb, "preview"))
    assert preview.count("<audio") >= 3 * 3  # three clips, each with two variants
    augment = json.loads(nbt.stream_text(nbt.cell(nb, "augment")))
    assert [op["op"] for op in augment["ops"]] == ["time_shift", "audio_noise"]
    assert "MelSpectrogram" in nbt.text_plain(nbt.cell(nb, "model"))

    accuracy = printed_number(nbt.cell(nb, "train"), "test accuracy")
    assert accuracy > 0.2  # ten digits: chance is 0.1
    (run_dir,) = (tmp_path / "lepton-runs").iterdir()
    run = load_run(run_dir)
    assert run.status["status"] == "completed" and run.status["epoch"] == 4
    assert [op.op for op in run.spec.augment.ops] == ["time_shift", "audio_noise"]
    assert abs(run.evaluation.accuracy - accuracy) < 1e-3
    assert "<audio" in nbt.widget_html(nb, nbt.cell(nb, "evaluate"))

    predicted, true = nbt.stream_text(nbt.cell(nb, "predict")).splitlines()
    assert predicted.startswith("predicted: [") and true.startswith("true:      [")
    report = tmp_path / "spoken-digits-report.html"
    assert f"wrote {report.name}" in nbt.stream_text(nbt.cell(nb, "report"))
    page = report.read_text(encoding="utf-8")
    assert run.id in page and "<audio" in page and "data:audio/wav;base64," in page
    assert network_urls(page) == []
    assert path.stat().st_size < MAX_AUDIO_NOTEBOOK_BYTES
    assert nbt.largest_output_bytes(nb) < MAX_AUDIO_OUTPUT_BYTES
