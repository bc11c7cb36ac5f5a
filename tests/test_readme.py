"""The README's examples run as written: it is the front door, so it must stay true."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_python_example_trains_and_lists_the_run(tmp_path, monkeypatch):
    example = _blocks("python")[0]  # "In a notebook"; the server example needs a server (test_client.py)
    example += "\nassert 0.5 < run.evaluation.accuracy <= 1\nassert len(ll.runs()) == 1\n"
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    assert len(list((tmp_path / "lepton-runs").iterdir())) == 1


def test_readme_sweep_file_is_a_valid_sweep_of_a_valid_job():
    from lepton_lab.core.sweep_spec import parse_sweep, trial_count

    _job, sweep = _blocks("json")
    spec = parse_sweep(sweep, strict=True)
    assert spec.name == "lr-sweep" and set(spec.space) == {"train.learning_rate", "train.batch_size"}
    assert (spec.strategy, spec.pruner, trial_count(spec)) == ("tpe", "median", 16)


def test_readme_job_spec_trains_from_the_cli(tmp_path):
    spec, _sweep = _blocks("json")
    data = json.loads(spec)
    data["train"]["epochs"] = 1
    (tmp_path / "job.json").write_text(json.dumps(data))
    result = subprocess.run(
        [sys.executable, "-m", "lepton_lab.cli", "train", "job.json", "--runs-dir", "runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [run_dir] = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"
    listing = subprocess.run(
        [sys.executable, "-m", "lepton_lab.cli", "runs", "--runs-dir", "runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert run_dir.name in listing


def test_readme_tuning_example_finds_a_rate_and_runs_the_sweep(tmp_path, monkeypatch):
    # The server's trials are tests.sweep_fakes jobs (real run directories, no TensorFlow); the
    # learning-rate finder trains for real in this process. Only the sizes are made smaller.
    from lepton_lab import client
    from tests.api_server import running_server

    [example] = [block for block in _blocks("python") if "ll.sweep(" in block]
    small = example.replace('"epochs": 8', '"epochs": 2').replace("max_trials=16", "max_trials=4")
    assert small.count("epochs") == example.count("epochs") and "max_trials=4" in small
    root = tmp_path / "root"
    root.mkdir()
    executor = "--LeptonLabApp.executor_class=tests.sweep_fakes.SweepFakeExecutor"
    with running_server(root, (executor,)) as server:
        monkeypatch.setenv("LEPTON_LAB_URL", server.url)
        monkeypatch.setenv("LEPTON_LAB_TOKEN", server.token)
        monkeypatch.setattr(client, "_default", None)
        monkeypatch.chdir(tmp_path)
        scope: dict = {}
        exec(compile("import lepton_lab as ll\n" + small, "README.md", "exec"), scope)
        finder, sweep = scope["finder"], scope["sweep"]
        assert finder.learning_rates[0] <= finder.suggestion <= finder.learning_rates[-1]
        assert sweep.state == "completed"
        frame = sweep.trials()
        assert len(frame) == 4 and set(frame["status"]) <= {"completed", "pruned"}
        assert sweep.best["value"] == frame["value"].max()


@pytest.mark.slow
def test_readme_deploy_example_exports_deploys_predicts_and_monitors(tmp_path, monkeypatch):
    # A real server (tests.api_server); the run trains and exports in this process, the server
    # deploys it in a model-server worker. Only the epochs are fewer.
    from lepton_lab import client
    from tests.api_server import running_server

    [example] = [block for block in _blocks("python") if "ll.deploy(" in block]
    small = example.replace('"epochs": 5', '"epochs": 2')
    assert small != example
    root = tmp_path / "root"
    root.mkdir()
    with running_server(root) as server:
        monkeypatch.setenv("LEPTON_LAB_URL", server.url)
        monkeypatch.setenv("LEPTON_LAB_TOKEN", server.token)
        monkeypatch.setattr(client, "_default", None)
        monkeypatch.chdir(root)  # ll.train writes to root/lepton-runs, the server's runs directory
        scope: dict = {}
        exec(compile("import lepton_lab as ll\n" + small, "README.md", "exec"), scope)
        ll = scope["ll"]
        assert ll.deployed_models() == []  # undeployed at the end
    int8, answer, model = scope["int8"], scope["answer"].json(), scope["model"]
    assert (int8["format"], int8["quantize"]) == ("tflite", "int8") and int8["size_bytes"] > 0
    assert model.name == "digits" and model.info["input"]["dtype"] == "uint8"
    (first, _second) = answer["predictions"]
    assert sum(first["probabilities"]) == pytest.approx(1.0, abs=1e-4) and 0 <= first["classes"] <= 9


def test_readme_text_example_predicts_from_a_raw_string_and_exports(tmp_path, monkeypatch, capsys):
    from lepton_lab.core.datasets import fortunes

    if fortunes.missing_packages("fortunes_languages"):
        pytest.skip("the fortunes packages are not installed (make system-deps)")
    (example,) = [block for block in _blocks("python") if "fortunes_languages" in block]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    accuracy, language = capsys.readouterr().out.splitlines()[-1].split()
    assert float(accuracy) > 0.6 and language == "de"  # ten languages: chance is 0.1
    (export,) = namespace["run"].exports()
    assert export["input"]["dtype"] == "string" and export["agreement"] >= 0.99
