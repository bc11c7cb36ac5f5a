"""The panel's Devices section and the job view show a cluster executor's nodes, in Chromium.

The Lab server runs ``tests.fakes.ClusterScriptedExecutor``: real worker processes without
TensorFlow (each waits for its run's ``continue`` file) that say they run on the cluster's head,
and a ``nodes()`` listing that head and a second node the cluster lost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.rundir import RunDir
from tests.browser.lab_api import api, open_panel, submit, wait_for
from tests.fakes import ClusterScriptedExecutor, let_continue
from tests.lab_server import running_lab

REPO = Path(__file__).resolve().parents[2]
EXECUTOR = "tests.fakes.ClusterScriptedExecutor"
HEAD, LOST = ClusterScriptedExecutor.HEAD, ClusterScriptedExecutor.LOST


@pytest.fixture
def cluster_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The server process imports the executor class from `tests`: the repository root on its path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    root = tmp_path / "root"
    root.mkdir()
    with running_lab(root, extra_args=(f"--LeptonLabApp.executor_class={EXECUTOR}",)) as lab:
        yield lab


def test_devices_lists_the_cluster_nodes_and_the_job_view_its_node(
    cluster_lab: Any, page: Any, artifacts: Path
) -> None:
    lab = cluster_lab
    assert api(lab, "GET", "status")["executor"] == "ClusterScriptedExecutor"
    job = submit(lab, "cluster-digits", epochs=2)
    run = RunDir(Path(job["run_dir"]))
    try:
        running = wait_for(
            lambda: (record := api(lab, "GET", f"jobs/{job['id']}"))["status"] == "running" and record,
            60,
            "the scripted worker starts",
        )
        assert running["node"] == HEAD
        devices = api(lab, "GET", "devices")
        assert [node["id"] for node in devices["nodes"]] == [HEAD, LOST]
        assert devices["nodes"][0]["jobs"] == [job["id"]]
        # It runs on a node, not on the server's host: the host's devices hold no job.
        assert all(not device.get("jobs") for device in devices["devices"])

        panel = open_panel(page, lab)
        section = panel.locator(".lepton-lab-devices")
        nodes = section.locator(".lepton-lab-node")
        head = section.locator(f".lepton-lab-node[data-node-id='{HEAD}']")
        lost = section.locator(f".lepton-lab-node[data-node-id='{LOST}']")
        head.locator(".lepton-lab-device-job", has_text="cluster-digits").wait_for(timeout=30_000)
        assert nodes.count() == 2
        assert section.locator(".lepton-lab-nodes-title").first.inner_text().lower() == "cluster: 2 nodes"

        # The head: alive, marked head, its resources, the job running on it (by name).
        assert head.get_attribute("data-state") == "alive"
        assert head.locator(".lepton-lab-node-id").inner_text() == "a1b2c3d4 · 10.0.0.1"
        assert head.locator(".lepton-lab-node-head").inner_text() == "head"
        assert head.locator(".lepton-lab-node-lost").count() == 0
        assert head.locator(".lepton-lab-device-detail").inner_text() == "2 CPUs · 0 GPUs"
        assert head.locator(".lepton-lab-device-jobs").inner_text() == "running cluster-digits"
        # The lost node: marked lost (a red marker and edge), no head marker, idle.
        assert lost.get_attribute("data-state") == "lost"
        assert lost.locator(".lepton-lab-node-id").inner_text() == "0badc0de · 10.0.0.2"
        assert lost.locator(".lepton-lab-node-lost").inner_text() == "lost"
        assert lost.locator(".lepton-lab-node-head").count() == 0
        assert lost.locator(".lepton-lab-device-detail").inner_text() == "4 CPUs · 1 GPU"
        assert lost.locator(".lepton-lab-device-jobs").inner_text() == "idle"
        edge = lost.evaluate("e => getComputedStyle(e).borderLeftColor")
        marker = lost.locator(".lepton-lab-node-lost").evaluate("e => getComputedStyle(e).backgroundColor")
        assert edge == marker and edge != head.evaluate("e => getComputedStyle(e).borderLeftColor")
        # The host's own devices still follow the nodes.
        assert section.locator(".lepton-lab-cpu-only").count() == 1
        section.screenshot(path=str(artifacts / "panel-cluster-nodes.png"))

        # The job's name on its node opens its job view, which says where it runs.
        head.locator(".lepton-lab-device-job", has_text="cluster-digits").click()
        view = page.locator(f".lepton-lab-jobview[data-job-id='{job['id']}']")
        view.wait_for(timeout=10_000)
        placement = view.locator(".lepton-lab-jobview-placement")
        wait_for(lambda: placement.inner_text() == "node a1b2c3d4", 10, "the job view shows the node")
        assert placement.get_attribute("title") == f"cluster node {HEAD}"
        view.locator(".lepton-lab-jobview-header").screenshot(
            path=str(artifacts / "jobview-cluster-node.png")
        )

        # Once the job completes, the head runs nothing; the job view still names its node.
        let_continue(run)
        done = lambda: api(lab, "GET", f"jobs/{job['id']}")["status"] == "completed"  # noqa: E731
        wait_for(done, 60, "the job completes")
        head.locator(".lepton-lab-device-jobs", has_text="idle").wait_for(timeout=30_000)
        view.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=30_000)
        assert placement.inner_text() == "node a1b2c3d4"
    finally:
        let_continue(run)  # the worker process never outlives the test
