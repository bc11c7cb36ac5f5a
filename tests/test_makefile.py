"""The Makefile's development install: the labextension links to the build folder, no warnings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_develop_install_links_the_build_folder_without_a_deprecation_warning():
    makefile = (ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if re.search(r"\bdevelop --overwrite\b", line))
    command = shlex.split(line.strip().split(">")[0].replace("$(BIN)", str(Path(sys.executable).parent)))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "deprecated" not in (result.stdout + result.stderr).lower()
    link = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "lepton-lab"
    assert link.is_symlink() and link.resolve() == (ROOT / "lepton_lab" / "labextension").resolve()
