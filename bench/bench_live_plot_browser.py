"""How fast the notebook live plot shows training in a real JupyterLab (Chromium).

Starts JupyterLab on a temporary folder, runs ``ll.train(..., live=True)`` in a notebook and
records in the page, with a MutationObserver, every time the plot applies new events (the
``data-seq`` attribute of its element) and when its loss curve first has points. Reports:

- the delay from the first batch event (its ``t`` in events.jsonl) to the first drawn points;
- redraws per second while training runs (the kernel sends at most 4 a second);
- the events per message.

Run: ``python bench/bench_live_plot_browser.py [--epochs 60]`` (needs Debian chromium).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.notebook_ui import LAB_ARGS, open_notebook, write_notebook
from tests.lab_server import running_lab

_OBSERVE = """
() => {
  window.__plotLog = [];
  const seen = new WeakSet();
  const watch = (plot) => {
    if (seen.has(plot)) return;
    seen.add(plot);
    new MutationObserver(() => {
      const path = plot.querySelector('.lepton-lab-chart-loss path.lepton-lab-curve-batch');
      const points = ((path && path.getAttribute('d')) || '').split(/[ML]/).length - 1;
      window.__plotLog.push({now: Date.now() / 1000, seq: Number(plot.dataset.seq || 0), points});
    }).observe(plot, {attributes: true, attributeFilter: ['data-seq']});
  };
  new MutationObserver(() => document.querySelectorAll('.lepton-lab-liveplot').forEach(watch))
    .observe(document.body, {childList: true, subtree: true});
}
"""


DATA = {"name": "digits", "subset": 400}
RUN_ALL = "async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        root = Path(tmp) / "root"
        root.mkdir()
        train = {"epochs": args.epochs, "batch_size": 16, "steps_per_execution": 1}
        write_notebook(root, "bench.ipynb", [
            "import lepton_lab as ll",
            f"run = ll.train(dataset={DATA!r}, model='mlp', train={train!r}, live=True)",
        ])  # fmt: skip
        with running_lab(root, extra_args=LAB_ARGS) as lab:
            chromium = playwright.chromium
            browser = chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            open_notebook(page, lab, "bench.ipynb")
            page.evaluate(_OBSERVE)
            page.evaluate(RUN_ALL)
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget.content.widgets.every("
                "c => c.model.type !== 'code' || (c.model.executionCount !== null"
                " && !c.promptNode.textContent.includes('*')))",
                timeout=600_000,
            )
            log = page.evaluate("() => window.__plotLog")
            browser.close()
            [events_path] = (root / "lepton-runs").glob("*/events.jsonl")
            events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
    batches = [e for e in events if e.get("type") == "batch"]
    first_batch, last_batch = batches[0]["t"], batches[-1]["t"]
    drawn = [entry for entry in log if entry["points"] > 0]
    during = [entry for entry in log if first_batch <= entry["now"] <= last_batch]
    gaps = [b["now"] - a["now"] for a, b in itertools.pairwise(during)]
    print(f"batch events: {len(batches)} over {last_batch - first_batch:.1f} s of training")
    print(f"first points drawn {drawn[0]['now'] - first_batch:.3f} s after the first batch event")
    if gaps:
        span = during[-1]["now"] - during[0]["now"]
        rate = len(during) / max(span, 1e-9)
        print(f"updates while training: {len(during)} in {span:.1f} s = {rate:.2f}/s, "
              f"median gap {statistics.median(gaps):.3f} s, min gap {min(gaps):.3f} s")  # fmt: skip
    print(f"events per update: {(during[-1]['seq'] - during[0]['seq']) / max(1, len(during) - 1):.1f}")


if __name__ == "__main__":
    main()
