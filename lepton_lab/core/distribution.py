"""Distribution: train one job on several devices of one host (``train.distribute``).

``train.distribute="mirrored"`` trains with ``tf.distribute.MirroredStrategy`` over every GPU the
worker sees, which are the GPUs the server assigned the job (``resources.gpus``, passed on as
``CUDA_VISIBLE_DEVICES``). Each replica holds a copy of the model and takes ``train.batch_size``
examples per step, so ``train.batch_size`` is the **per-replica** batch and one step consumes

    global batch = train.batch_size x replicas

examples. Keras averages the loss over the global batch, so one step is one optimizer update
on the global batch: with two GPUs an epoch has half the steps, and the learning rate is used
as given (scale it yourself if the larger batch wants a larger rate).

When the worker sees fewer than two devices (a host without GPUs, a job given one GPU), a
mirrored run trains on one replica without a strategy, exactly as ``distribute="none"``, and
says so in ``worker.log``, a ``log`` event and the ``note`` of the runtime record; it does not
fail. The record (``replicas``, ``devices``, ``global_batch_size``) always says what happened.

Without GPUs a mirrored run uses the CPU's *logical* devices, of which TensorFlow makes one
unless told otherwise. :data:`LOGICAL_CPUS_ENV` (read by the worker, for testing only) splits
the CPU into several logical devices before TensorFlow starts, so the mirrored path runs, and
is tested, on a machine with no GPU. On GPUs it is untested here until a GPU machine checks it.

TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Testing only: the worker splits the CPU into this many logical devices before TensorFlow
#: starts (:func:`split_cpu`), so ``distribute="mirrored"`` has several replicas without a GPU.
#: Every replica shares the same cores: this tests the mechanics, it makes nothing faster.
LOGICAL_CPUS_ENV = "LEPTON_LAB_LOGICAL_CPUS"
#: Most logical CPU devices :data:`LOGICAL_CPUS_ENV` may ask for.
LOGICAL_CPUS_MAX = 64


def logical_cpus_requested(environ: Mapping[str, str]) -> int | None:
    """Return the logical CPU count :data:`LOGICAL_CPUS_ENV` asks for, or None when unset.

    Raises
    ------
    ValueError
        When the value is not a whole number from 1 to :data:`LOGICAL_CPUS_MAX`.
    """
    text = environ.get(LOGICAL_CPUS_ENV, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= LOGICAL_CPUS_MAX:
        raise ValueError(
            f"{LOGICAL_CPUS_ENV}={text!r} is not a device count; give a whole number from 1 to "
            f"{LOGICAL_CPUS_MAX} (e.g. 2), or unset it to train on the CPU as one device"
        )
    return count


def split_cpu(count: int) -> None:
    """Make TensorFlow see the CPU as ``count`` logical devices (``/cpu:0`` … ``/cpu:count-1``).

    Must run before TensorFlow initialises its devices (before the first op); the worker calls it
    first thing.

    Raises
    ------
    RuntimeError
        When TensorFlow has already initialised its devices in this process.
    """
    from lepton_lab.core.tf_import import tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise RuntimeError(
            f"cannot split the CPU into {count} logical devices: TensorFlow has already started in "
            f"this process ({error}); set {LOGICAL_CPUS_ENV} for a fresh worker process instead"
        ) from error


@dataclass
class Placement:
    """Where one run trains: its devices and, with several, the strategy that mirrors them.

    Deciding a placement starts nothing: the replica count comes from the devices TensorFlow
    lists before its runtime starts (so thread-pool pins still apply afterwards), and the
    ``MirroredStrategy``, which does start it, is created on first use.

    Parameters
    ----------
    distribute
        ``train.distribute`` as the spec gave it.
    devices
        The devices the replicas run on (``/gpu:0``, ``/cpu:1`` ...); several mean a strategy.
    note
        Why a mirrored run has one replica, when it does.
    """

    distribute: str
    devices: list[str]
    note: str | None = None
    _strategy: Any = field(default=None, init=False, repr=False)

    @property
    def replicas(self) -> int:
        """Model replicas training in step (1 without a strategy)."""
        return len(self.devices) if self.distribute == "mirrored" and len(self.devices) > 1 else 1

    @property
    def strategy(self) -> Any:
        """The ``tf.distribute.MirroredStrategy`` over :attr:`devices`, or None with one replica."""
        if self.replicas == 1:
            return None
        if self._strategy is None:
            from lepton_lab.core.tf_import import tf

            self._strategy = tf.distribute.MirroredStrategy(devices=self.devices)
        return self._strategy

    def global_batch_size(self, per_replica: int) -> int:
        """Examples one training step consumes: ``per_replica`` x :attr:`replicas`."""
        return per_replica * self.replicas

    def scope(self) -> contextlib.AbstractContextManager[Any]:
        """Context in which models and optimizers must be built and compiled."""
        strategy = self.strategy
        return strategy.scope() if strategy is not None else contextlib.nullcontext()

    def single(self, note: str) -> Placement:
        """Return the placement on its first device alone, saying why (a one-replica fallback)."""
        return Placement(self.distribute, self.devices[:1], note)

    def record(self, per_replica: int) -> dict[str, Any]:
        """Return the fields the runtime block of ``spec.json`` records about the placement."""
        entry: dict[str, Any] = {
            "distribute": self.distribute,
            "replicas": self.replicas,
            "devices": list(self.devices),
            "global_batch_size": self.global_batch_size(per_replica),
        }
        if self.note:
            entry["note"] = self.note
        return entry


def visible_devices() -> list[str]:
    """Devices a strategy may mirror over: every visible GPU, else the CPU's logical devices.

    Reads only what TensorFlow knows before its runtime starts (physical devices and the logical
    split of the CPU), so it can run before thread pools are set.
    """
    from lepton_lab.core.tf_import import tf

    def logical(kind: str) -> int:
        # A physical device split with set_logical_device_configuration counts once per part.
        physical = tf.config.list_physical_devices(kind)
        return sum(len(tf.config.get_logical_device_configuration(device) or [None]) for device in physical)

    gpus = logical("GPU")
    if gpus:  # never CPU and GPU replicas together: the GPUs would wait for the CPU
        return [f"/gpu:{index}" for index in range(gpus)]
    return [f"/cpu:{index}" for index in range(logical("CPU"))]


def place(distribute: str, devices: list[str] | None = None) -> Placement:
    """Decide the run's placement for ``train.distribute``.

    ``"none"``: TensorFlow's default device (the first GPU, else the CPU). ``"mirrored"``: one
    replica per device of ``devices`` (default :func:`visible_devices`); fewer than two give one
    replica and a note saying so.
    """
    devices = visible_devices() if devices is None else devices
    if distribute == "none" or len(devices) > 1:
        return Placement(distribute, devices if distribute == "mirrored" else devices[:1])
    kind = "GPU" if devices and devices[0].startswith("/gpu") else "CPU"
    return Placement(
        distribute,
        devices[:1],
        note=(
            f"train.distribute={distribute!r} but this worker sees one {kind} device "
            f"({devices[0] if devices else 'none'}): trained on one replica; give the job "
            "resources.gpus >= 2 on a host with several GPUs to mirror it"
        ),
    )
