"""Run store: find, compare and load runs from their run directories.

Everything is read from the files a run writes (``spec.json``, ``status.json``,
``events.jsonl``, ``evaluation.json``), so a run directory copied to another machine works
the same. TensorFlow-free (only :meth:`Run.load_model` imports Keras).

Examples
--------
>>> import lepton_lab as ll
>>> table = ll.runs("lepton-runs")                       # doctest: +SKIP
>>> table.sort_values("best_val_accuracy").tail(3)       # doctest: +SKIP
>>> run = ll.load_run(table.path.iloc[-1])               # doctest: +SKIP
>>> run.metrics()[["epoch", "loss", "val_loss"]]         # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_lab.core import deletion, runmeta
from lepton_lab.core.epochs import latest_records
from lepton_lab.core.evaluate import Evaluation
from lepton_lab.core.rundir import FINISHED_STATUSES, RunDir
from lepton_lab.core.specs import JobSpec

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_RUNS_DIR = "lepton-runs"

#: Metric names where smaller is better (everything else: larger is better).
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "time")


def _lower_is_better(metric: str) -> bool:
    return any(part in metric for part in _LOWER_IS_BETTER)


_EPOCH_MARKERS = (b'"type":"epoch"', b'"type": "epoch"', b'"type":"status"', b'"type": "status"')


def _epoch_line(line: bytes) -> bool:
    # Cheap pre-filter so a table of many runs does not parse every batch event. Status events
    # stay: they mark the restart points of resumed runs (lepton_lab.core.epochs).
    return any(marker in line for marker in _EPOCH_MARKERS)


def _read_jsonl(path: Path, keep: Any = None) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    events = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        if keep is not None and not keep(line):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # torn line from a crashed writer
        if isinstance(event, dict):
            events.append(event)
    return events


def _parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    else:
        out[prefix] = value


class Run:
    """One run, read from its run directory.

    Attributes are read from disk on each access, so a running run's ``status`` and
    ``metrics()`` stay current.

    Parameters
    ----------
    path
        The run directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.dir = RunDir(path)
        if not self.dir.spec_path.exists():
            raise FileNotFoundError(
                f"{self.dir.path} is not a run directory (no spec.json); "
                "pass a folder inside the runs directory"
            )
        # Set by lepton_lab.core.runner.train(background=True) for runs training in this process.
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status.get('status')}>"

    @property
    def path(self) -> Path:
        """The run directory."""
        return self.dir.path

    @property
    def id(self) -> str:
        """The run id (the directory's name)."""
        return self.dir.id

    @property
    def spec(self) -> JobSpec:
        """The run's JobSpec."""
        return self.dir.read_spec()

    @property
    def spec_document(self) -> dict[str, Any]:
        """``spec.json`` as written, including ``versions`` and ``runtime``."""
        return self.dir.read_spec_document()

    @property
    def status(self) -> dict[str, Any]:
        """``status.json`` (``status``, ``pid``, times, ``error``, ``epoch`` ...)."""
        return self.dir.read_status()

    @property
    def evaluation(self) -> Evaluation | None:
        """Test-set evaluation, or None before the run has finished."""
        try:
            return Evaluation.load(self.dir.evaluation_path)
        except FileNotFoundError:
            return None

    # -- annotations (meta.json) -----------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The name to show: the one given with :meth:`rename`, else the name it was trained with."""
        return runmeta.display_name(self.dir)

    @property
    def note(self) -> str | None:
        """The note set with :meth:`set_note`, or None."""
        note: str | None = runmeta.read_meta(self.dir)["note"]
        return note

    @property
    def archived(self) -> bool:
        """Whether the run is archived (hidden from :func:`runs` and the Lab panel by default)."""
        return bool(runmeta.read_meta(self.dir)["archived"])

    def rename(self, name: str | None) -> Run:
        """Show the run as ``name`` (at most 200 characters; None: its trained name again).

        ``spec.json`` keeps the name it was trained with; the new one goes to ``meta.json``.
        """
        runmeta.update_meta(self.dir, name=name)
        return self

    def set_note(self, text: str | None) -> Run:
        """Attach a note to the run (at most 10 000 characters; None or '' removes it)."""
        runmeta.update_meta(self.dir, note=text)
        return self

    def archive(self) -> Run:
        """Hide the run from :func:`runs` and the Lab panel unless archived runs are asked for."""
        runmeta.update_meta(self.dir, archived=True)
        return self

    def unarchive(self) -> Run:
        """Show an archived run again."""
        runmeta.update_meta(self.dir, archived=False)
        return self

    def delete(self, confirm: bool = True) -> bool:
        """Delete the run directory after asking ``Delete run <id> (<name>, N MB)? [y/N]``.

        Refuses a queued or running run (:class:`~lepton_lab.core.deletion.ActiveRunError`).
        Returns True if it was deleted, False if the answer was no.
        """
        if self._thread is not None and self._thread.is_alive():
            raise deletion.ActiveRunError(
                f"run {self.id} is training in this process; stop it first with run.stop(), then delete it"
            )
        return deletion.delete_run(self, confirm=confirm)

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """All events of ``events.jsonl`` (only those of ``type`` if given), in file order."""
        events = _read_jsonl(self.dir.events_path)
        return [e for e in events if type is None or e.get("type") == type]

    def metrics(self, level: str = "epoch") -> pd.DataFrame:
        """Metrics as a table, one row per epoch (``level="epoch"``) or per logged batch (``"batch"``).

        Columns: ``epoch``, ``step``, ``t`` and one per metric (``loss``, ``accuracy``,
        ``val_loss`` ...). An epoch (or step) repeated by a resumed run appears once, with its
        newest values, and epochs logged after the checkpoint a resume restarted from are dropped
        until trained again (the policy of :mod:`lepton_lab.core.epochs`).
        """
        import pandas as pd

        if level not in ("epoch", "batch"):
            raise ValueError(f"level must be 'epoch' or 'batch', got {level!r}")
        key = "epoch" if level == "epoch" else "step"
        keep = _epoch_line if level == "epoch" else None
        events = [e for e in _read_jsonl(self.dir.events_path, keep) if e.get("type") in (level, "status")]
        rows = [
            {"epoch": e.get("epoch"), "step": e.get("step"), "t": e.get("t"), **(e.get("metrics") or {})}
            for e in latest_records(events, key)
        ]
        return pd.DataFrame(rows, columns=None if rows else ["epoch", "step", "t"])

    def summary(self) -> dict[str, Any]:
        """One flat row for :func:`runs`: id, name, status, times, hyperparameters, metrics."""
        document = self.spec_document
        status = self.status
        meta = runmeta.read_meta(self.dir)
        row: dict[str, Any] = {
            "id": self.id,
            "name": meta["name"] or document.get("name"),
            "note": meta["note"],
            "archived": meta["archived"],
            "status": status.get("status"),
            "created": status.get("created"),
            "duration_s": _duration(status),
            "epoch": status.get("epoch"),
            "origin": status.get("origin") or "server",
        }
        for section in ("dataset", "model", "train"):
            flat: dict[str, Any] = {}
            _flatten(section, document.get(section, {}), flat)
            if "model.layers" in flat:
                layers = flat.pop("model.layers")
                flat["model.layers"] = len(layers) if isinstance(layers, list) else None
            row.update(flat)
        ops = document.get("augment", {}).get("ops", [])
        row["augment"] = ",".join(op.get("op", "?") for op in ops) or None
        row["tags"] = ",".join(document.get("tags", [])) or None
        epochs = latest_records(
            e for e in _read_jsonl(self.dir.events_path, _epoch_line) if e.get("type") in ("epoch", "status")
        )
        names = sorted({name for e in epochs for name in (e.get("metrics") or {})})
        for name in names:
            values = [_number((e.get("metrics") or {}).get(name)) for e in epochs]
            numbers = [v for v in values if v is not None]
            row[f"final_{name}"] = values[-1] if values else None
            if numbers:
                row[f"best_{name}"] = min(numbers) if _lower_is_better(name) else max(numbers)
        evaluation = self.evaluation
        row["test_accuracy"] = evaluation.accuracy if evaluation else None
        row["test_loss"] = evaluation.loss if evaluation else None
        row["path"] = str(self.path)
        return row

    def load_model(self) -> Any:
        """Load the trained Keras model from ``model.keras`` (imports Keras)."""
        if not self.dir.model_path.exists():
            raise FileNotFoundError(
                f"run {self.id} has no model.keras (status {self.status.get('status')!r}); "
                "it is written when training completes"
            )
        from lepton_lab.core.tf_import import keras

        return keras.saving.load_model(self.dir.model_path)

    def export(
        self,
        format: str = "savedmodel",
        quantize: str = "none",
        name: str | None = None,
        verify: bool = True,
        *,
        dataset: Any = None,
    ) -> dict[str, Any]:
        """Export the trained model for deployment and verify it; return its ``export.json``.

        ``format`` is ``savedmodel`` (TF Serving's ``<name>/<version>/`` layout), ``tflite``
        (``quantize`` none, float16, dynamic or int8) or ``onnx`` (none or dynamic). The export
        takes inputs as the dataset stores them (uint8 images) and is scored on the test split in
        its own runtime; see :func:`lepton_lab.core.export.export_model` (imports TensorFlow).
        ``dataset`` is needed only for a run trained on a notebook's arrays (``memory:...``).
        """
        from lepton_lab.core.export import export_model

        return export_model(self, format, quantize, name, verify, dataset=dataset)

    def exports(self) -> list[dict[str, Any]]:
        """Return the ``export.json`` of each of this run's exports, oldest first (see :meth:`export`)."""
        from lepton_lab.core.export import list_exports

        return list_exports(self)

    # -- in-process runs (lepton_lab.train(background=True)) ------------------------------------

    @property
    def done(self) -> bool:
        """Whether the run has finished (completed, failed, cancelled or interrupted)."""
        if self._thread is not None:
            return not self._thread.is_alive()
        return self.status.get("status") in FINISHED_STATUSES

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for a run training in this process to finish; return its status."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status

    def stop(self) -> None:
        """Ask a run training in this process to stop after the current batch (status ``cancelled``)."""
        if self._stop is None:
            raise RuntimeError(
                f"run {self.id} is not training in this process; cancel it where it runs "
                "(the Lab panel or lepton_lab.client)"
            )
        self._stop.set()


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _duration(status: dict[str, Any]) -> float | None:
    started = _parse_time(status.get("started"))
    if started is None:
        return None
    finished = _parse_time(status.get("finished"))
    if finished is None or status.get("status") == "running":
        finished = _dt.datetime.now(_dt.timezone.utc)
    return round((finished - started).total_seconds(), 3)


def load_run(path: str | os.PathLike[str]) -> Run:
    """Open the run directory ``path``."""
    return Run(path)


def run_dirs(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> list[RunDir]:
    """Run directories in ``runs_dir``, oldest first.

    Run ids start with their creation time to the second, so two runs started in the same
    second are ordered by the millisecond ``created`` time in their ``status.json``.
    """
    parent = Path(runs_dir)
    if not parent.is_dir():
        return []
    found = [RunDir(p) for p in parent.iterdir() if (p / "spec.json").is_file()]
    return sorted(found, key=_creation_order)


def _creation_order(run_dir: RunDir) -> tuple[str, str, str]:
    try:
        created = str(run_dir.read_status().get("created", ""))
    except (OSError, ValueError):
        created = ""
    # The id's leading timestamp is local wall time and `created` is UTC, so compare the
    # second-resolution id first and use `created` only to break ties inside one second.
    return run_dir.id[:15], created, run_dir.id


def runs(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR, archived: bool = False) -> pd.DataFrame:
    """One row per run in ``runs_dir``: hyperparameters, status and metrics, for comparing runs.

    Archived runs are left out unless ``archived=True``.

    Columns include ``id``, ``name`` (as renamed, else as trained), ``note``, ``archived``,
    ``status``, ``created``, ``duration_s``, ``origin`` (who
    trained it: ``server``, ``kernel`` or ``script``), flattened spec
    fields (``dataset.name``, ``model.preset``, ``train.learning_rate`` ...), ``final_<metric>``
    and ``best_<metric>`` for each epoch metric (``final_val_accuracy``, ``best_val_loss`` ...),
    ``test_accuracy`` and ``path``.
    """
    import pandas as pd

    rows = []
    for run_dir in run_dirs(runs_dir):
        try:
            row = Run(run_dir.path).summary()
        except (OSError, ValueError):
            continue  # a half-created or foreign directory should not hide the other runs
        if archived or not row["archived"]:
            rows.append(row)
    if not rows:
        return pd.DataFrame(
            columns=["id", "name", "note", "archived", "status", "created", "duration_s", "path"]
        )
    return pd.DataFrame(rows)
