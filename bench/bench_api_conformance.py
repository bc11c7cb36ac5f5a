"""Schemathesis against a real server: how many requests, how many 5xx (not part of the test suite).

Starts ``jupyter server`` with Lepton Lab (jobs completed at once by ``tests.fakes``), runs
``st run`` with every check (see ``tests.api_server.EXCLUDED_CHECKS``) and counts the requests
and 5xx answers in its HAR record. Target: 0 5xx in >= 5 000 requests, no check failing.

Usage::

    python bench/bench_api_conformance.py [--max-examples 400] [--seed 16]

Results are printed and written to ``bench/results/api_conformance.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.api_server import INSTANT_EXECUTOR, running_server, schemathesis_command

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        with running_server(root, (INSTANT_EXECUTOR,)) as server:
            start = time.monotonic()
            command = schemathesis_command(server, args.max_examples, args.seed, args.phases, Path(tmp))
            run = subprocess.run(command, capture_output=True, text=True)
            seconds = time.monotonic() - start
            entries = json.loads((Path(tmp) / "requests.har").read_text())["log"]["entries"]
    statuses = collections.Counter(entry["response"]["status"] for entry in entries)
    result = {
        "requests": len(entries),
        "5xx": sum(count for status, count in statuses.items() if status >= 500),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "schemathesis_exit_code": run.returncode,
        "seconds": round(seconds, 1),
        "max_examples": args.max_examples,
        "seed": args.seed,
        "phases": args.phases,
    }
    print(run.stdout[-6000:])
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_conformance.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if run.returncode == 0 and result["5xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
