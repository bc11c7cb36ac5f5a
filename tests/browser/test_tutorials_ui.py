"""Every tutorial, run the way a person runs it: opened in JupyterLab, Run All, then looked at.

Each notebook gets its small settings (a cell after its ``parameters`` cell, as in
tests/test_notebooks.py) and runs through JupyterLab's own "Run All" in Chromium at a small
window size. Then: no cell has an error output, every widget output rendered (no "Error
displaying widget"), every plot is drawn, and a few interactions a reader would try work. A
screenshot of each notebook's outputs is saved as ``tests/artifacts/tutorial-<name>.png``.

Nothing waits for a fixed time: each wait is for a condition (every cell executed, a value
reached), with a generous deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import notebooks as nbt
from tests.browser.lab_api import wait_for
from tests.browser.notebook_ui import LAB_ARGS, kernel_value, open_notebook
from tests.lab_server import running_lab

pytestmark = pytest.mark.slow

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Small settings per tutorial (the same as tests/test_notebooks.py's).
SETTINGS = {
    "01_quickstart.ipynb": {"EPOCHS": 2, "BATCH_SIZE": 64},
    "02_augmentation.ipynb": {"EPOCHS": 2, "IMAGE_SIZE": 16},
    "03_hyperparameters.ipynb": {"EPOCHS": 1, "LR_STEPS": 30, "SWEEP_TRIALS": 3, "SWEEP_EPOCHS": 1},
    "04_background_jobs.ipynb": {"DATASET": {"name": "shapes", "image_size": 16}, "EPOCHS": 30},
    "05_fashion_mnist.ipynb": {"EPOCHS": 1, "SUBSET": 1000, "BATCH_SIZE": 32},
    "06_deploy.ipynb": {"DATASET": "digits", "SUBSET": None, "EPOCHS": 2, "BURST": 60, "NAME": "tutorial06"},
    "07_text.ipynb": {"SUBSET": 800, "EPOCHS": 2},
    "08_audio.ipynb": {"CLIPS": 400, "EPOCHS": 4},
}

_RUN_ALL = """
async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:run-all-cells');
}
"""

# Every code cell executed (a number in its prompt, none pending), and what the page shows.
_STATE = """
() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const cells = notebook.widgets.filter(cell => cell.model.type === 'code');
  const pending = cells.filter(cell => cell.model.executionCount === null
    || cell.promptNode.textContent.includes('*'));
  const errors = [];
  const widgetOutputs = [];
  for (const cell of cells) {
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error') {
        errors.push(`cell ${cell.model.id}: ${output.ename}: ${output.evalue}`);
      }
    }
    const outputs = cell.outputArea ? cell.outputArea.model.toJSON() : [];
    outputs.forEach((output, index) => {
      const data = output.data || {};
      if ('application/vnd.jupyter.widget-view+json' in data) {
        const child = cell.outputArea.widgets[index];
        const node = child ? child.node : null;
        widgetOutputs.push({
          cell: cell.model.id,
          rendered: !!node && node.querySelector('.jupyter-widgets, .lepton-lab-liveplot') !== null,
          broken: !!node && node.innerText.includes('Error displaying widget'),
        });
      }
    });
  }
  return {
    pending: pending.length,
    total: cells.length,
    errors,
    widgetOutputs,
    brokenText: notebook.node.innerText.includes('Error displaying widget'),
    plots: notebook.node.querySelectorAll('.js-plotly-plot').length,
  };
}
"""


@pytest.fixture(scope="module")
def tutorial_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("tutorials") / "root"
    root.mkdir()
    for name, values in SETTINGS.items():
        nbt.save(nbt.parameterise(nbt.load(name), **values), root / name)
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


@pytest.fixture
def small_page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    yield page
    context.close()


def run_all(page, timeout: float = 420) -> dict:
    """Run All through JupyterLab's command, wait until every code cell ran; return the page state."""
    page.evaluate(_RUN_ALL)
    state: dict = {}

    def finished() -> bool:
        state.update(page.evaluate(_STATE))
        assert not state["errors"], state["errors"]  # stop at the first traceback
        return state["pending"] == 0

    wait_for(finished, timeout, "every cell of the notebook to run", interval=0.5)
    return state


def check_rendered(page) -> dict:
    """Every widget output is drawn and none says 'Error displaying widget'."""
    state: dict = {}

    def rendered() -> bool:
        state.update(page.evaluate(_STATE))
        return all(w["rendered"] for w in state["widgetOutputs"])

    wait_for(rendered, 60, "every widget output to render")
    assert not any(w["broken"] for w in state["widgetOutputs"])
    assert not state["brokenText"]
    return state


# Height of the notebook's content: to the bottom of its last cell (JupyterLab pads the end
# with "scroll past end" space, so the scroller's own height says nothing).
_CONTENT_HEIGHT = """
() => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const scroller = notebook.node.querySelector('.jp-WindowedPanel-outer') || notebook.node;
  scroller.scrollTop = 0;
  const last = notebook.widgets[notebook.widgets.length - 1].node;
  return last.getBoundingClientRect().bottom - scroller.getBoundingClientRect().top;
}
"""


def save_outputs(page, name: str, artifacts: Path) -> Path:
    """Screenshot the whole executed notebook: the window grows to the notebook's height for it."""
    page.add_style_tag(content=".Toastify { display: none !important; }")  # notifications
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    size = page.viewport_size
    path = artifacts / f"tutorial-{Path(name).stem}.png"
    try:
        # Cells laid out lazily may change the height as the window grows: measure twice.
        for _ in range(3):
            height = page.evaluate(_CONTENT_HEIGHT)
            if height <= page.viewport_size["height"] - 140:
                break
            page.set_viewport_size({"width": size["width"], "height": min(20_000, int(height) + 200)})
            page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => r(true)))")
        box = page.locator(".jp-NotebookPanel").first.bounding_box()
        clip_height = min(box["height"], page.evaluate(_CONTENT_HEIGHT) + 60)
        page.screenshot(path=str(path), clip={**box, "height": clip_height})
    finally:
        page.set_viewport_size(size)
    return path


def cell_by_id(page, cell_id: str):
    index = page.evaluate(
        "(id) => window.jupyterapp.shell.currentWidget.content.widgets.findIndex(c => c.model.id === id)",
        cell_id,
    )
    assert index >= 0, f"no cell {cell_id}"
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def cell_text(page, cell_id: str) -> str:
    """The text a cell printed (its stream outputs), from the notebook model."""
    return page.evaluate(
        """(id) => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.id === id);
          return cell.model.outputs.toJSON().filter(o => o.output_type === 'stream')
            .map(o => Array.isArray(o.text) ? o.text.join('') : o.text).join('');
        }""",
        cell_id,
    )


def test_01_quickstart(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "01_quickstart.ipynb")
    run_all(page)
    state = check_rendered(page)
    assert state["plots"] >= 1  # the training plot, drawn by plotly once training ended
    save_outputs(page, "01_quickstart.ipynb", artifacts)

    # Page the dataset browser: the page number moves and new thumbnails show.
    browser = cell_by_id(page, "browser")
    images = browser.locator("img")
    first = images.first.get_attribute("src")
    browser.locator("button[title='next page']").click()
    wait_for(lambda: images.first.get_attribute("src") != first, 30, "the next page of thumbnails")

    # Add a layer in the model builder and show the code: both reach the page.
    builder = cell_by_id(page, "builder")
    rows = builder.locator(".lepton-layer-row")
    before = rows.count()
    builder.get_by_role("button", name="Add layer").click()
    wait_for(lambda: rows.count() == before + 1, 30, "the added layer's row")
    layers = "len(builder.spec.layers)"
    wait_for(lambda: kernel_value(page, layers) == before + 1, 30, "the layer in the kernel")
    builder.get_by_role("button", name="Show code").click()
    builder.locator("pre.lepton-code").first.wait_for(timeout=30_000)
    assert "keras.Sequential(" in builder.locator("pre.lepton-code").first.inner_text()


def test_02_augmentation(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "02_augmentation.ipynb")
    run_all(page)
    state = check_rendered(page)
    assert state["plots"] >= 2  # one per training run (and the comparison)
    save_outputs(page, "02_augmentation.ipynb", artifacts)

    # Move the rotation slider: the augmented previews change, and the kernel's spec follows.
    preview = cell_by_id(page, "preview")
    images = preview.locator("img")
    before = [images.nth(i).get_attribute("src") for i in range(images.count())]
    slider = preview.locator(".widget-slider").first
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")

    def changed() -> bool:
        now = [images.nth(i).get_attribute("src") for i in range(images.count())]
        return now != before

    wait_for(changed, 60, "the augmentation preview to redraw")


def test_03_hyperparameters(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "03_hyperparameters.ipynb")
    run_all(page)
    check_rendered(page)
    save_outputs(page, "03_hyperparameters.ipynb", artifacts)
    # The values the validation cell set from code held through the front end's round trip.
    assert kernel_value(page, "panel.momentum.value") == 0.0
    assert kernel_value(page, "panel.error") == ""
    panel = cell_by_id(page, "panel")
    assert "0.00" in panel.locator(".widget-slider", has_text="momentum").inner_text()


def test_04_background_jobs(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "04_background_jobs.ipynb")
    run_all(page)
    check_rendered(page)
    save_outputs(page, "04_background_jobs.ipynb", artifacts)
    # Run straight through (no restart), the job still ended as the tutorial says.
    finished = cell_text(page, "finished")
    assert "completed" in finished and "test accuracy" in finished


@pytest.mark.skipif(
    not FASHION_DIR.exists(), reason="needs Debian's dataset-fashion-mnist (make test installs it as root)"
)
def test_05_fashion_mnist(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "05_fashion_mnist.ipynb")
    run_all(page)
    state = check_rendered(page)
    assert state["plots"] >= 1
    save_outputs(page, "05_fashion_mnist.ipynb", artifacts)


def test_06_deploy(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "06_deploy.ipynb")
    run_all(page)
    check_rendered(page)
    save_outputs(page, "06_deploy.ipynb", artifacts)
    assert cell_text(page, "rest").splitlines()[1] == "status: 200"
    assert cell_text(page, "undeploy") == "deployed now: []\n"

    # Step the in-kernel pad to the next test image: the kernel predicts it and the bars follow.
    pad = cell_by_id(page, "pad-kernel")
    result = pad.locator(".lepton-pad-result")
    before = result.inner_text()
    pad.get_by_role("button", name="next ▶").click()
    wait_for(lambda: kernel_value(page, "kernel_pad.example") == 1, 60, "the pad's next test image")
    wait_for(lambda: result.inner_text() != before, 30, "the pad's bars for the next image")


def test_07_text(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "07_text.ipynb")
    run_all(page)
    state = check_rendered(page)
    assert state["plots"] >= 1  # the runs' comparison
    save_outputs(page, "07_text.ipynb", artifacts)
    printed = cell_text(page, "train")
    assert all(
        f"{preset}: test accuracy" in printed for preset in ("bag_of_words", "text_cnn", "text_bilstm")
    )
    assert "'dtype': 'string'" in cell_text(page, "export")

    # Page the text browser: the next page shows other texts.
    browser = cell_by_id(page, "browser")
    shown = browser.locator(".lepton-text-page")
    before = shown.inner_text()
    browser.locator("button[title='next page']").click()
    wait_for(lambda: shown.inner_text() != before, 30, "the next page of texts")


# Whether an <audio> element decoded its clip: metadata loaded and a duration of one second.
_AUDIO_STATE = """
(audio) => new Promise(resolve => {
  const done = () => resolve({ready: audio.readyState, duration: audio.duration, error: !!audio.error});
  if (audio.readyState >= 1 || audio.error) { done(); return; }
  audio.addEventListener('loadedmetadata', done, {once: true});
  audio.addEventListener('error', done, {once: true});
  audio.load();
})
"""


def test_08_audio(tutorial_lab, small_page, artifacts):
    page = small_page
    open_notebook(page, tutorial_lab, "08_audio.ipynb")
    run_all(page)
    state = check_rendered(page)
    assert state["plots"] >= 1  # the training plot
    save_outputs(page, "08_audio.ipynb", artifacts)
    assert "wrote spoken-digits-report.html" in cell_text(page, "report")

    # The players hold real clips: Chromium decodes the WAV data of the browser's, the preview's
    # and the evaluation's players, one second each.
    for cell_id in ("browser", "preview", "evaluate"):
        players = cell_by_id(page, cell_id).locator("audio")
        assert players.count() >= 1, cell_id
        decoded = players.first.evaluate(_AUDIO_STATE)
        assert not decoded["error"] and decoded["ready"] >= 1, (cell_id, decoded)
        assert abs(decoded["duration"] - 1.0) < 0.01, (cell_id, decoded)
