"""Runner: train one job and write its whole run directory.

:func:`run` is what a worker process (``python -m lepton_lab.core.worker RUN_DIR``) and an
in-kernel :func:`train` both call: it builds the data, model and optimizer from a
:class:`~lepton_lab.core.specs.JobSpec` (under a ``MirroredStrategy`` with
``train.distribute="mirrored"``, see :mod:`~lepton_lab.core.distribution`), fits with fast
defaults, streams events, checkpoints at epoch ends (re-running the same directory resumes after
the last saved epoch; see :class:`~lepton_lab.core.callbacks.epoch_checkpoint.EpochCheckpoint`),
saves ``model.keras`` and evaluates on the test split. Every outcome, including a crash, ends in
``status.json``.

TensorFlow and Keras are imported inside the functions that need them.

Examples
--------
>>> import lepton_lab as ll
>>> run = ll.train(dataset="digits", model="small_cnn", train={"epochs": 2})   # doctest: +SKIP
>>> run.status["status"], run.evaluation.accuracy                              # doctest: +SKIP
('completed', 0.95)
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_lab.core import distribution, models, runtime_choice
from lepton_lab.core.datasets import pipeline
from lepton_lab.core.events import EventWriter
from lepton_lab.core.optimizers import compile_model
from lepton_lab.core.rundir import FINISHED_STATUSES, RunDir
from lepton_lab.core.specs import AugmentSpec, DatasetSpec, JobSpec, ModelSpec, TrainSpec, parse, parse_job
from lepton_lab.core.tf_logging import one_trace_per_model

if TYPE_CHECKING:
    import keras

    from lepton_lab.core.datasets import Dataset
    from lepton_lab.core.run_store import Run

_LOG = logging.getLogger("lepton_lab.runner")


class _RunLog:
    """Write runner messages to ``worker.log`` (and as ``log`` events) for the duration of a run."""

    def __init__(self, run_dir: RunDir, writer: EventWriter) -> None:
        self.writer = writer
        # One logger per run: runs training side by side in one kernel keep separate logs.
        self.logger = _LOG.getChild(run_dir.id)
        self.logger.setLevel(logging.INFO)
        self.handler = logging.FileHandler(run_dir.worker_log_path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.logger.addHandler(self.handler)

    def info(self, message: str, event: bool = False) -> None:
        self.logger.info(message)
        self.handler.flush()
        if event:
            self.writer.emit("log", message=message)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


def _resume_epoch(run_dir: RunDir) -> int:
    """Epochs already completed according to the checkpoint (0 if none)."""
    metadata = run_dir.checkpoints_dir / "training_metadata.json"
    try:
        return int(json.loads(metadata.read_text())["epoch"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def run(
    job_spec: JobSpec | dict[str, Any] | str,
    run_dir: RunDir | str | os.PathLike[str],
    *,
    dataset: Dataset | None = None,
    model: keras.Model | None = None,
    callbacks: Sequence[Any] = (),
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Train ``job_spec`` into ``run_dir`` and return the final ``status.json`` contents.

    Re-running a run directory resumes after its last completed epoch. Never raises for a
    training failure: the status says ``failed`` with ``error`` and ``traceback``.

    Parameters
    ----------
    job_spec
        The job.
    run_dir
        An existing run directory (see :meth:`RunDir.create`).
    dataset
        A loaded :class:`~lepton_lab.core.datasets.Dataset` to use instead of loading the spec's.
    model
        A Keras model to train instead of building ``job_spec.model`` (its spec is still recorded).
    callbacks
        Extra Keras callbacks (live plots, progress bars).
    stop
        When set, training stops at the next batch and the status becomes ``cancelled``.
    """
    spec = parse_job(job_spec)
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    stop = stop if stop is not None else threading.Event()
    if rd.read_status().get("status") in FINISHED_STATUSES:
        rd.stop_request_path.unlink(missing_ok=True)  # resuming: the last run's cancel is spent
    writer = EventWriter(rd.events_path)
    log = _RunLog(rd, writer)
    status: dict[str, Any] = {}
    watcher = _StopRequestWatcher(rd, stop)
    try:
        resumed = _resume_epoch(rd)
        rd.write_status(status="running", pid=os.getpid(), epochs=spec.train.epochs, epoch=resumed)
        writer.emit("status", status="running", epoch=resumed, epochs=spec.train.epochs)
        log.info(
            f"run {rd.id}: {spec.name!r}, {spec.train.epochs} epochs"
            + (f", resuming after epoch {resumed}" if resumed else "")
        )
        outcome = _train(spec, rd, writer, log, dataset, model, callbacks, stop)
        status = rd.write_status(**outcome)
    except KeyboardInterrupt:
        status = rd.write_status(
            status="cancelled", epoch=_resume_epoch(rd), error="interrupted (KeyboardInterrupt)"
        )
    except BaseException as error:
        message = _describe_error(error)
        log.info(f"failed: {message}\n{traceback.format_exc()}")
        status = rd.write_status(status="failed", error=message, traceback=traceback.format_exc())
        if not isinstance(error, Exception):
            raise  # SystemExit and friends still propagate, after the status is written
    finally:
        if status:
            extra = {"error": status["error"]} if status.get("error") else {}
            writer.emit("status", status=status["status"], epoch=status.get("epoch"), **extra)
        writer.close()  # flushes and fsyncs every event so far
        log.close()
        watcher.close()
    return status


class _StopRequestWatcher:
    """Sets ``stop`` once the run directory's stop-request file appears (polled in a thread).

    The server cancels its own workers with SIGTERM; runs trained in a kernel or a script are
    asked through the file instead. Polling twice a second costs nothing per batch.
    """

    def __init__(self, run_dir: RunDir, stop: threading.Event, interval_s: float = 0.5) -> None:
        self._path = run_dir.stop_request_path
        self._stop = stop
        self._interval_s = interval_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"lepton-stop-{run_dir.id}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(self._interval_s):
            if self._path.exists():
                self._stop.set()
                return

    def close(self) -> None:
        """Stop watching."""
        self._done.set()


def _describe_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    name = type(error).__name__
    if name == "ResourceExhaustedError" or "out of memory" in str(error).lower():
        text += " — the model or batch does not fit in memory; lower train.batch_size or use a smaller model"
    return text


def _train(
    spec: JobSpec,
    rd: RunDir,
    writer: EventWriter,
    log: _RunLog,
    dataset: Dataset | None,
    given_model: keras.Model | None,
    extra_callbacks: Sequence[Any],
    stop: threading.Event | None,
) -> dict[str, Any]:
    """Fit and evaluate; return the status fields of the outcome."""
    from lepton_lab.core.callbacks import EpochCheckpoint, MetricsCallback, NaNGuard, RunCancelled, StopGuard
    from lepton_lab.core.callbacks.input_wait import InputWaitCallback, InputWaitMeter
    from lepton_lab.core.callbacks.tensorboard import EpochTensorBoard
    from lepton_lab.core.evaluate import evaluate
    from lepton_lab.core.tf_import import keras

    train = spec.train
    keras.utils.set_random_seed(train.seed)

    if dataset is None:
        from lepton_lab.core import datasets

        dataset = datasets.load(spec.dataset)
    data = dataset
    augment = spec.augment if spec.augment.ops else None
    train_count = data.count("train")
    validation_count = data.count("validation")
    test_count = data.count("test")
    placement = distribution.place(train.distribute)
    if given_model is not None and placement.replicas > 1:
        placement = placement.single(
            "a model passed in ready-made was built outside the strategy's scope, so it trains on one "
            "replica; pass its spec (a preset, a ModelSpec or its layers) to mirror it"
        )
    if data.kind == "text" and placement.replicas > 1:
        # Tested on 2 logical CPUs: MirroredStrategy's fit fails on a batch of raw strings (an AddN
        # of strings, "Value for attr 'T' of string is not in the list of allowed values").
        placement = placement.single(
            "a text model reads raw strings, which tf.distribute.MirroredStrategy cannot train on "
            "(TensorFlow has no sum of strings to combine its replicas), so it trains on one replica"
        )
    if placement.note:
        log.info(placement.note, event=True)
    # train.batch_size is per replica: the pipeline yields global batches, which the strategy splits.
    batch_size = placement.global_batch_size(train.batch_size)
    steps_per_epoch = max(1, math.ceil(train_count / batch_size))
    disk_cache = rd.path / "cache"

    def train_pipeline(settings: dict[str, Any], cache: str = "none") -> Any:
        options = pipeline.InputOptions(settings["parallel_map"], settings["prefetch"], cache, disk_cache)
        return pipeline.batches(
            data, "train", batch_size, augment=augment, shuffle=True, seed=train.seed, options=options
        )

    preprocessing_layers = None
    if given_model is None:
        models.check_kind(spec.model, data.kind)
        preprocessing_layers = _adapt_preprocessing(spec, data, log)

    def probe_model(precision: str) -> keras.Model:
        if given_model is not None:
            return keras.models.clone_model(given_model)
        return _build_model(spec, data, precision, preprocessing_layers)

    runtime = runtime_choice.choose(
        spec,
        data,
        steps_per_epoch=steps_per_epoch,
        build_model=probe_model,
        train_data=train_pipeline,
        model_precision=given_model.dtype_policy.name if given_model is not None else None,
        recorded=rd.read_spec_document().get("runtime") if _resume_epoch(rd) else None,
        log=lambda message: log.info(message, event=True),
        replicas=placement.replicas,
    )
    keras.utils.set_random_seed(train.seed)  # the probe drew random numbers; the run starts afresh
    runtime.update(
        steps_per_epoch=steps_per_epoch,
        examples={"train": train_count, "validation": validation_count, "test": test_count},
        input_shape=list(data.input_shape),
        num_classes=data.num_classes,
        **placement.record(train.batch_size),
    )
    if given_model is None:
        # Recorded so views (Lab job view, report) can show the architecture without the dataset.
        runtime["summary"] = models.summary_rows(spec.model, tuple(data.input_shape), data.num_classes)
    rd.update_spec_document(runtime=runtime)
    settings = {**runtime, **runtime["tf_data"]}
    input_wait = InputWaitMeter()
    started = time.perf_counter()
    train_data = input_wait.instrument(train_pipeline(settings, runtime["tf_data"]["cache"]))
    if isinstance(data._store, pipeline.FolderStore) and runtime["tf_data"]["cache"] == "memory":
        # The memory cache decodes a folder's images before the first epoch, outside its
        # input_wait_s: say what it cost.
        log.info(
            f"decoded the {train_count} training images into memory in {time.perf_counter() - started:.1f} s",
            event=True,
        )
    # Scoring needs no gradients: bigger batches mean fewer steps and identical metrics.
    eval_batch_size = max(batch_size, 256)

    def eval_pipeline(split: str) -> Any:
        cache = runtime["tf_data"]["cache"] if split == "validation" else "none"  # test is read once
        options = pipeline.InputOptions(settings["parallel_map"], settings["prefetch"], cache, disk_cache)
        return pipeline.batches(data, split, eval_batch_size, shuffle=False, options=options)

    validation_data = eval_pipeline("validation") if validation_count else None

    with placement.scope():  # under a strategy, its variables are mirrored on every replica
        model = (
            given_model
            if given_model is not None
            else _build_model(spec, data, runtime["precision"], preprocessing_layers)
        )
        compile_model(model, train, steps_per_epoch, runtime)
    if placement.strategy is not None:
        # Counted on the model, not the plan: the replicas it really trains on.
        runtime["replicas"] = int(model.distribute_strategy.num_replicas_in_sync)
        rd.update_spec_document(runtime=runtime)
    metrics = MetricsCallback(writer, epochs=train.epochs, steps_per_epoch=steps_per_epoch)
    nan_guard = NaNGuard(lambda: metrics.step)
    checkpoint = EpochCheckpoint(str(rd.checkpoints_dir))
    # Checkpoint after MetricsCallback: an epoch's event is on disk before its checkpoint, so a
    # crash in between repeats the epoch on resume rather than losing its record.
    # InputWaitCallback before MetricsCallback: it adds input_wait_s to the logs the event records.
    callbacks: list[Any] = [
        StopGuard(stop, checkpoint),
        InputWaitCallback(input_wait),
        metrics,
        nan_guard,
        checkpoint,
    ]
    # Per epoch only: TensorBoard's per-batch summaries cost more than the small steps they log;
    # and written in a thread, so the epoch does not wait for its summaries.
    tensorboard = EpochTensorBoard(str(rd.tensorboard_dir))
    callbacks.append(tensorboard)
    if train.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation_data is not None else "loss",
                patience=train.early_stopping_patience,
                restore_best_weights=True,
            )
        )
    callbacks.extend(extra_callbacks)

    log.info(f"training: {train_count} examples, {steps_per_epoch} steps/epoch, runtime {runtime}")
    try:
        if stop is not None and stop.is_set():
            raise RunCancelled("cancelled before training started")
        with one_trace_per_model():  # a notebook that trains several models: one trace each
            model.fit(
                train_data,
                validation_data=validation_data,
                epochs=train.epochs,
                verbose=0,
                callbacks=callbacks,
                shuffle=False,  # the tf.data pipeline shuffles (seeded); fit would only warn
            )
        if stop is not None and stop.is_set():
            raise RunCancelled(f"cancelled after epoch {metrics.epochs_done}")
    except BaseException as error:
        # fit ended without on_train_end: close TensorBoard's files so the epochs so far are readable.
        tensorboard.on_train_end()
        if not isinstance(error, RunCancelled):
            raise
        log.info(str(error), event=True)
        return {"status": "cancelled", "epoch": max(metrics.epochs_done, checkpoint.saved_epochs)}
    epochs_done = max(metrics.epochs_done, checkpoint.saved_epochs)
    if nan_guard.step is not None:
        message = nan_guard.message(metrics.epoch + 1, train.learning_rate)
        log.info(message, event=True)
        return {"status": "failed", "error": message, "epoch": epochs_done}

    model.save(rd.model_path)
    if test_count:
        x_test = eval_pipeline("test")
        examples, y_test = data.arrays("test")
        texts = examples if data.kind == "text" else None  # kept beside the worst / grid entries
        evaluation = evaluate(model, x_test, y_test, list(data.class_names), texts=texts)
        evaluation.save(rd.evaluation_path)
        writer.emit(
            "eval",
            step=metrics.step,
            epoch=epochs_done,
            metrics={"test_accuracy": evaluation.accuracy, "test_loss": evaluation.loss},
        )
        log.info(f"test accuracy {evaluation.accuracy:.4f} on {evaluation.count} examples")
    shutil.rmtree(disk_cache, ignore_errors=True)  # decoded images: only a resume would reuse them
    return {"status": "completed", "epoch": epochs_done}


def _adapt_preprocessing(spec: JobSpec, data: Dataset, log: _RunLog) -> list[Any] | None:
    """Adapt the model's preprocessing layers on the training split (None without preprocessing).

    Adapted once per run: the probe's models and the run's model share the layers, which hold
    no trainable weights. Validation and test examples never reach the vocabulary.
    """
    pre = models.preprocessing_of(spec.model)
    if pre is None:
        return None
    from lepton_lab.core import preprocessing

    examples = pipeline.batches(data, "train", preprocessing.ADAPT_BATCH, shuffle=False).map(lambda x, y: x)
    rate = int(getattr(data, "sample_rate", None) or preprocessing.SAMPLE_RATE)
    layers = preprocessing.adapt(pre, examples, tuple(data.input_shape), sample_rate=rate)
    vocabulary = getattr(layers[0], "vocabulary_size", None)
    detail = f", vocabulary of {vocabulary()} tokens" if callable(vocabulary) else ""
    log.info(f"{pre.type} adapted on the {data.count('train')} training examples{detail}", event=True)
    return layers


def _build_model(
    spec: JobSpec, data: Dataset, precision: str, preprocessing_layers: list[Any] | None = None
) -> keras.Model:
    from lepton_lab.core.tf_import import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        return models.build(
            spec.model,
            tuple(data.input_shape),
            data.num_classes,
            dropout=spec.train.dropout,
            preprocessing_layers=preprocessing_layers,
        )
    finally:
        # The policy is process-global: restore it so later models in this kernel are unaffected.
        keras.mixed_precision.set_global_policy(previous)


# -- notebook entry point ------------------------------------------------------------------------


#: What ``train(live=...)`` calls with the new run to show it live: an object whose
#: ``wait_following(timeout)`` returns once it has drawn the run's end, or None (nothing shown).
#: :func:`lepton_lab.train` passes the notebook live plot (``lepton_lab.widgets.live_plot.watch_run``);
#: ``core`` itself never imports a widget.
RunWatcher = Callable[["Run"], Any]


def _job_from_parts(
    spec: JobSpec | dict[str, Any] | str | None,
    dataset: Any,
    model: Any,
    augment: Any,
    train: Any,
    name: str | None,
) -> tuple[JobSpec, Dataset | None, keras.Model | None]:
    """Merge the parts given to :func:`train` into one JobSpec (+ objects to use as they are)."""
    if isinstance(spec, str) and Path(spec).is_file():
        spec = Path(spec).read_text(encoding="utf-8")
    document: dict[str, Any] = (
        parse_job(spec).model_dump(mode="json") if spec is not None else {"dataset": {"name": "digits"}}
    )
    dataset_object = None
    if dataset is not None:
        if isinstance(dataset, str):
            document["dataset"] = {"name": dataset}
        elif isinstance(dataset, (dict, DatasetSpec)):
            document["dataset"] = parse(DatasetSpec, dataset).model_dump(mode="json")
        elif hasattr(dataset, "as_tf_data"):
            dataset_object = dataset
            # The loaded object is used as it is; its spec (or name) is recorded for the record.
            dataset_spec = getattr(dataset, "spec", None) or {"name": dataset.name}
            document["dataset"] = parse(DatasetSpec, dataset_spec).model_dump(mode="json")
        else:
            raise TypeError(
                "dataset must be a name ('digits'), a DatasetSpec or dict, or a loaded Dataset; "
                f"got {type(dataset).__name__}"
            )
    model_object = None
    if model is not None:
        if isinstance(model, str):
            document["model"] = {"preset": model}
        elif isinstance(model, (dict, ModelSpec)):
            document["model"] = parse(ModelSpec, model).model_dump(mode="json")
        elif hasattr(model, "fit") and hasattr(model, "layers"):
            document["model"] = models.from_keras(model).model_dump(mode="json")
            model_object = model
        else:
            raise TypeError(
                f"model must be a preset name ('small_cnn'), a ModelSpec or dict, or a keras.Sequential; "
                f"got {type(model).__name__}"
            )
    if augment is not None:
        if isinstance(augment, list):
            augment = {"ops": augment}
        document["augment"] = parse(AugmentSpec, augment).model_dump(mode="json")
    if train is not None:
        if isinstance(train, dict):
            train = {**document.get("train", {}), **train}
        document["train"] = parse(TrainSpec, train).model_dump(mode="json")
    if name is not None:
        document["name"] = name
    return parse_job(document), dataset_object, model_object


def _origin_of_this_process() -> str:
    """``kernel`` inside a Jupyter kernel, else ``script`` (see :data:`rundir.ORIGINS`)."""
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython is not None else None
    return "kernel" if ip is not None and getattr(ip, "kernel", None) is not None else "script"


def train(
    spec: JobSpec | dict[str, Any] | str | None = None,
    *,
    dataset: Any = None,
    model: Any = None,
    augment: Any = None,
    train: Any = None,
    name: str | None = None,
    runs_dir: str | os.PathLike[str] = "lepton-runs",
    live: bool | RunWatcher = False,
    background: bool = False,
    callbacks: Sequence[Any] = (),
) -> Run:
    """Train in this process (a notebook kernel) and return the :class:`~lepton_lab.core.run_store.Run`.

    Parameters
    ----------
    spec
        A JobSpec, its dict or JSON text, or a path to a JSON file; parts given below override it.
        Without it: the digits dataset and the default model and training settings.
    dataset
        A name (``"digits"``), a DatasetSpec or dict, or a loaded ``datasets.Dataset``.
    model
        A preset name (``"small_cnn"``), a ModelSpec or dict, or a ``keras.Sequential`` of
        supported layers (trained as it is; its spec is recorded).
    augment
        An AugmentSpec, its dict, or a list of ops (``[{"op": "flip"}]``).
    train
        A TrainSpec or a dict of the settings to change (``{"epochs": 3}``).
    name
        The run's name (part of its id).
    runs_dir
        Where the run directory is created.
    live
        A :data:`RunWatcher` to show the run live as it trains (it follows the run's
        ``events.jsonl``; training waits for it to draw the end). ``lepton_lab.train(live=True)``
        passes the notebook live plot; ``True`` here only logs that ``core`` shows no plots.
    background
        Return at once and train in a thread; ``run.wait()`` joins, ``run.stop()`` cancels.
    callbacks
        Extra Keras callbacks.
    """
    from lepton_lab.core.run_store import Run

    job, dataset_object, model_object = _job_from_parts(spec, dataset, model, augment, train, name)
    rd = RunDir.create(runs_dir, job, origin=_origin_of_this_process())
    result = Run(rd.path)
    result._stop = threading.Event()
    extra = list(callbacks)
    if live is True:
        _LOG.warning("live=True: lepton_lab.core.runner.train shows no plot; use lepton_lab.train(live=True)")
    watcher = live(result) if callable(live) else None

    def target() -> None:
        try:
            run(job, rd, dataset=dataset_object, model=model_object, callbacks=extra, stop=result._stop)
        finally:
            # The watcher tails events.jsonl: it draws the end (however the run ended) by itself;
            # waiting here leaves the cell's plot final when train() returns.
            if watcher is not None:
                watcher.wait_following(timeout=30)

    if background:
        result._thread = threading.Thread(target=target, name=f"lepton-train-{rd.id}", daemon=True)
        result._thread.start()
    else:
        target()
    return result
