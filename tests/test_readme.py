"""The README's examples run as written: it is the front door, so it must stay true."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_python_example_trains_and_lists_the_run(tmp_path, monkeypatch):
    example = _blocks("python")[0]  # "In a notebook"; the server example needs a server (test_client.py)
    example += "\nassert 0.5 < run.evaluation.accuracy <= 1\nassert len(ll.runs()) == 1\n"
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    assert len(list((tmp_path / "lepton-runs").iterdir())) == 1


def test_readme_job_spec_trains_from_the_cli(tmp_path):
    [spec] = _blocks("json")
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
