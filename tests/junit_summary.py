"""Add up JUnit XML reports into one closing line: ``tests: N passed, N failed, N skipped``."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(paths: list[Path]) -> tuple[int, int, int]:
    """Return (passed, failed, skipped) over every test case in ``paths``."""
    passed = failed = skipped = 0
    for path in paths:
        if not path.exists():
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


if __name__ == "__main__":
    p, f, s = count([Path(arg) for arg in sys.argv[1:]])
    print(f"tests: {p} passed, {f} failed, {s} skipped")
