"""Specs: the one schema every payload in Lepton Lab follows.

A training job is described by a :class:`JobSpec` made of a dataset, an
augmentation pipeline, a model and training settings. The same JSON travels
through REST bodies, ``spec.json`` in a run directory and widget state, so
these pydantic models are the single source of truth (the server's OpenAPI
document and the TypeScript client are derived from them).

Examples
--------
>>> spec = JobSpec.model_validate({"dataset": {"name": "digits"}})
>>> spec.model.preset, spec.train.optimizer
('small_cnn', 'adam')
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails

# Layers are specs too: their models live in layer_specs, re-exported here for importers.
from lepton_lab.core.layer_specs import ACTIVATIONS as ACTIVATIONS
from lepton_lab.core.layer_specs import LAYER_ARGS as LAYER_ARGS
from lepton_lab.core.layer_specs import LAYER_TYPES, Layer, describe, most_specific, unknown_type
from lepton_lab.core.layer_specs import LayerSpec as LayerSpec
from lepton_lab.core.preprocessing_specs import Preprocessing

#: Datasets resolvable by name. ``folder:<path>`` is accepted as well.
DATASET_NAMES = (
    "digits", "shapes", "fashion_mnist", "mnist", "cifar10",
    "fortunes_topics", "fortunes_languages", "imdb",
    "spoken_digits", "speech_commands",
)  # fmt: skip

#: Model presets known to :func:`lepton_lab.core.models.preset`.
PRESET_NAMES = ("mlp", "small_cnn", "cnn_bn", "text_bilstm", "text_cnn", "bag_of_words", "audio_cnn")
#: The data kinds (``Dataset.kind``) each preset is made for.
PRESET_KINDS: dict[str, tuple[str, ...]] = {
    "mlp": ("image", "tabular"),
    "small_cnn": ("image",),
    "cnn_bn": ("image",),
    "text_bilstm": ("text",),
    "text_cnn": ("text",),
    "bag_of_words": ("text",),
    "audio_cnn": ("audio",),
}
#: The kind of data each registry dataset holds; ``folder:`` and ``memory:`` data is known once loaded.
DATASET_KINDS = {
    **dict.fromkeys(("digits", "shapes", "fashion_mnist", "mnist", "cifar10"), "image"),
    **dict.fromkeys(("fortunes_topics", "fortunes_languages", "imdb"), "text"),
    **dict.fromkeys(("spoken_digits", "speech_commands"), "audio"),
}
#: The preset a job that names no model trains, for text and audio registry datasets.
DEFAULT_PRESETS = {"text": "bag_of_words", "audio": "audio_cnn"}


def presets_for(kind: str) -> list[str]:
    """Return the presets made for data of ``kind`` (``"image"``, ``"tabular"``, ``"text"``, ``"audio"``)."""
    return [name for name, kinds in PRESET_KINDS.items() if kind in kinds]


#: Largest seed: ``keras.utils.set_random_seed`` seeds numpy, whose seeds are 0..2**32 - 1.
SEED_MAX = 2**32 - 1
#: Largest count a spec may hold (subset): a 32-bit signed int, safe in JSON, SQLite and TypeScript.
COUNT_MAX = 2**31 - 1
#: Registry datasets generated on this machine, whose size ``DatasetSpec.count`` chooses.
GENERATED_DATASETS = ("shapes", "spoken_digits")
#: At most this many tags, each 1..TAG_MAX_LENGTH characters: tags travel in every listing and
#: stream message.
TAGS_MAX = 32
TAG_MAX_LENGTH = 64
#: ``train.distribute`` values: one device, or one replica per GPU (tf.distribute.MirroredStrategy).
DISTRIBUTE_MODES = ("none", "mirrored")
#: Most GPUs one job may ask for (``resources.gpus``).
GPUS_MAX = 64
#: Dataset names the schema accepts: a registry name, or a ``folder:`` / ``memory:`` path (no NUL).
DATASET_NAME_PATTERN = "^(" + "|".join(DATASET_NAMES) + "|(folder|memory):[^\\x00]+)$"


class _Spec(BaseModel):
    """Base for all specs: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatasetSpec(_Spec):
    """Which data to train on and how to split it."""

    name: str = Field(
        description=f"Registry name ({', '.join(DATASET_NAMES)}) or 'folder:<path>'.",
        json_schema_extra={"pattern": DATASET_NAME_PATTERN},
    )
    validation_split: float = Field(
        0.2, ge=0.0, lt=1.0, description="Fraction of the training data held out."
    )
    subset: int | None = Field(
        None, gt=0, le=COUNT_MAX, description="Use at most this many training examples."
    )
    image_size: int | None = Field(
        None, ge=8, le=512, description="Side length for generated ('shapes') or folder images."
    )
    seed: int = Field(
        0, ge=0, le=SEED_MAX, description="Seed for splitting, subsetting and generated data (numpy's range)."
    )
    count: int | None = Field(
        None,
        gt=0,
        le=COUNT_MAX,
        description="How many examples to generate, for the generated datasets: 'shapes' (default 3000) "
        "and 'spoken_digits' (default 2000).",
    )

    @model_validator(mode="after")
    def _count_only_when_generated(self) -> DatasetSpec:
        if self.count is not None and self.name not in GENERATED_DATASETS:
            raise ValueError(
                f"count: {self.name!r} is not generated, so it has no count to choose; use subset to "
                f"train on fewer examples (count applies to {', '.join(GENERATED_DATASETS)})"
            )
        return self

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        if value in DATASET_NAMES:
            return value
        for prefix in ("folder:", "memory:"):
            if value.startswith(prefix):
                if value == prefix:
                    raise ValueError(f"{prefix!r} needs a path after it, e.g. '{prefix}images/train'")
                if "\0" in value:
                    raise ValueError(f"{value!r} contains a NUL character, which no path can hold")
                return value
        allowed = ", ".join(repr(n) for n in DATASET_NAMES)
        raise ValueError(f"unknown dataset {value!r}; use one of {allowed} or 'folder:<path>'")


class FlipOp(_Spec):
    """Random horizontal and/or vertical flips."""

    op: Literal["flip"] = "flip"
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = "horizontal"


class RotationOp(_Spec):
    """Random rotation by up to ``factor`` times 360 degrees."""

    op: Literal["rotation"] = "rotation"
    factor: float = Field(0.1, gt=0.0, le=0.5)


class ZoomOp(_Spec):
    """Random zoom in/out by up to ``factor`` of the image size."""

    op: Literal["zoom"] = "zoom"
    factor: float = Field(0.1, gt=0.0, lt=1.0)


class TranslationOp(_Spec):
    """Random shift by up to ``factor`` of the image size."""

    op: Literal["translation"] = "translation"
    factor: float = Field(0.1, gt=0.0, lt=1.0)


class CropOp(_Spec):
    """Random crop keeping ``fraction`` of each side, resized back to the input size."""

    op: Literal["crop"] = "crop"
    fraction: float = Field(0.9, ge=0.5, lt=1.0)


class ContrastOp(_Spec):
    """Random contrast change by up to ``factor``."""

    op: Literal["contrast"] = "contrast"
    factor: float = Field(0.2, gt=0.0, le=1.0)


class BrightnessOp(_Spec):
    """Random brightness change by up to ``factor`` of the value range."""

    op: Literal["brightness"] = "brightness"
    factor: float = Field(0.2, gt=0.0, le=1.0)


class NoiseOp(_Spec):
    """Additive Gaussian noise with standard deviation ``stddev`` (images scaled to [0, 1])."""

    op: Literal["noise"] = "noise"
    stddev: float = Field(0.05, gt=0.0, le=1.0)


class TimeShiftOp(_Spec):
    """Shift each clip in time by up to ``max_fraction`` of its length, either way, filling with silence.

    The shift of TensorFlow's speech-commands training (``time_shift_ms``): the sound moves,
    the clip keeps its length, samples shifted out are dropped and the gap is silent.
    """

    op: Literal["time_shift"] = "time_shift"
    max_fraction: float = Field(0.1, gt=0.0, le=0.5)


class AudioNoiseOp(_Spec):
    """Add white Gaussian noise at a signal-to-noise ratio drawn uniformly from ``snr_db`` per clip.

    The noise power is the clip's own mean power divided by ``10 ** (snr / 10)`` (a silent clip
    stays silent), as in audiomentations' ``AddGaussianSNR``.
    """

    op: Literal["audio_noise"] = "audio_noise"
    snr_db: tuple[float, float] = Field((10.0, 30.0), description="[lowest, highest] SNR in dB.")

    @field_validator("snr_db")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not -10 <= low <= high <= 80:
            raise ValueError(
                f"snr_db must be [lowest, highest] with -10 <= lowest <= highest <= 80, got {list(value)}; "
                "e.g. [10, 30]"
            )
        return value


AugmentOp = Annotated[
    Union[FlipOp, RotationOp, ZoomOp, TranslationOp, CropOp, ContrastOp, BrightnessOp, NoiseOp, TimeShiftOp,
          AudioNoiseOp],
    Field(discriminator="op"),
]  # fmt: skip
#: Augmentation ops for images, in the order the AugmentationPreview lists them.
IMAGE_AUGMENT_OPS = ("flip", "rotation", "zoom", "translation", "crop", "contrast", "brightness", "noise")
#: Augmentation ops for audio waveforms (the standard ones: time shift and noise at an SNR).
AUDIO_AUGMENT_OPS = ("time_shift", "audio_noise")
#: Every augmentation op.
AUGMENT_OPS = IMAGE_AUGMENT_OPS + AUDIO_AUGMENT_OPS
#: The ops that fit each kind of data. Text and tables have no standard augmentation here.
AUGMENT_KINDS: dict[str, tuple[str, ...]] = {
    "image": IMAGE_AUGMENT_OPS,
    "audio": AUDIO_AUGMENT_OPS,
    "text": (),
    "tabular": (),
}


def augment_problem(ops: list[str], kind: str, dataset: str) -> str | None:
    """Why ``ops`` cannot augment ``kind`` data, naming the ops that fit; None if they can."""
    fits = AUGMENT_KINDS.get(kind, ())
    wrong = [op for op in ops if op not in fits]
    if not wrong:
        return None
    if fits:
        fix = f"use {', '.join(fits)}"
    else:
        fix = f"remove them ({kind} data has no standard augmentation; regularise with Dropout instead)"
    return f"augment ops {', '.join(wrong)} do not apply to {kind} data ({dataset}); {fix}"


class AugmentSpec(_Spec):
    """Ordered augmentation pipeline, applied to training batches only."""

    ops: list[AugmentOp] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _one_kind_of_data(self) -> AugmentSpec:
        names = [op.op for op in self.ops]
        image = [name for name in names if name in IMAGE_AUGMENT_OPS]
        audio = [name for name in names if name in AUDIO_AUGMENT_OPS]
        if image and audio:
            raise ValueError(
                f"ops mix image ops ({', '.join(image)}) and audio ops ({', '.join(audio)}); "
                "keep the ones for your data"
            )
        return self


class ModelSpec(_Spec):
    """A network: either a named ``preset`` or an explicit ``layers`` list.

    The input shape and the output layer (``Dense(num_classes, softmax)``)
    come from the dataset, so specs stay portable between datasets.
    """

    preset: str | None = Field(None, description=f"One of {', '.join(PRESET_NAMES)}.")
    layers: list[Layer] | None = Field(None, max_length=256)
    preprocessing: Preprocessing | None = Field(
        None,
        description="Text or audio preprocessing inside the model (TextVectorization, MelSpectrogram, "
        "STFTSpectrogram), adapted on the training split; None: the preset's default, or none.",
    )

    @model_serializer(mode="wrap")
    def _without_absent_preprocessing(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Image and tabular specs serialise as before preprocessing existed: spec.json, REST echoes
        # and the runtime policy's model signatures (its cached choices) stay the same.
        data: dict[str, Any] = handler(self)
        if data.get("preprocessing") is None:
            data.pop("preprocessing", None)
        return data

    @model_validator(mode="after")
    def _preset_or_layers(self) -> ModelSpec:
        if self.preset is None and self.layers is None:
            # Default: the small CNN, which suits every bundled image dataset, or for preprocessing
            # alone the preset that reads what it makes.
            object.__setattr__(self, "preset", _default_preset(self.preprocessing))
        if self.preset is not None and self.layers is not None:
            raise ValueError("give either 'preset' or 'layers', not both")
        if self.preset is not None and self.preset not in PRESET_NAMES:
            raise ValueError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESET_NAMES)}")
        return self


def _default_preset(preprocessing: Any) -> str:
    if preprocessing is None:
        return "small_cnn"
    if preprocessing.type != "TextVectorization":
        return "audio_cnn"
    return "text_cnn" if preprocessing.output_mode == "int" else "bag_of_words"


class RuntimeSpec(_Spec):
    """Runtime settings pinned by hand (``train.runtime``); the runner measures the rest.

    Every field left out (None) is chosen by :mod:`lepton_lab.core.runtime_policy`, which times
    candidate settings on this machine; a field given here is used as it is, never overridden.
    """

    steps_per_execution: int | None = Field(None, ge=1, le=100_000, description="Steps per tf.function call.")
    jit_compile: bool | None = Field(None, description="Compile the train step with XLA.")
    precision: Literal["float32", "mixed_bfloat16", "mixed_float16"] | None = Field(
        None, description="Keras dtype policy (mixed: lower-precision compute, float32 weights)."
    )
    parallel_map: bool | None = Field(None, description="Convert and decode batches in parallel (AUTOTUNE).")
    prefetch: int | Literal["auto"] | None = Field(
        None, description="Batches prepared ahead: a count (0: none) or 'auto' (tf.data AUTOTUNE)."
    )
    cache: Literal["none", "memory", "disk"] | None = Field(
        None, description="Keep decoded folder images after the first epoch: in memory or on disk."
    )
    probe: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Time candidate settings: 'auto' when the run is long enough to repay it, "
        "'always', or 'never' (cached or default settings).",
    )
    intra_op_threads: int | None = Field(
        None, ge=1, le=1024, description="TensorFlow threads per op; applied only before TensorFlow starts."
    )
    inter_op_threads: int | None = Field(
        None, ge=1, le=1024, description="TensorFlow ops run at once; applied only before TensorFlow starts."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_settings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown runtime setting {', '.join(map(repr, unknown))}; "
                    f"the settings are {', '.join(cls.model_fields)}"
                )
        return data

    @field_validator("prefetch")
    @classmethod
    def _prefetch_range(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 0 <= value <= 1024:
            raise ValueError(f"prefetch {value} is out of range; give 0..1024 batches or 'auto'")
        return value

    def pins(self) -> dict[str, Any]:
        """Return the settings given by hand (every field but ``probe`` that is not None)."""
        return {
            name: value for name, value in self.model_dump().items() if value is not None and name != "probe"
        }


class TrainSpec(_Spec):
    """How to fit the model."""

    epochs: int = Field(5, ge=1, le=10_000)
    batch_size: int = Field(32, ge=1, le=65_536)
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0)
    optimizer: Literal["adam", "sgd", "rmsprop", "adamw"] = "adam"
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="SGD momentum.")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    dropout: float | None = Field(
        None, ge=0.0, lt=1.0, description="If set, overrides the rate of every Dropout layer."
    )
    lr_schedule: Literal["constant", "cosine"] = "constant"
    early_stopping_patience: int | None = Field(None, ge=1, le=10_000)
    seed: int = Field(1, ge=0, le=SEED_MAX, description="Seeds Python, numpy and TensorFlow (numpy's range).")
    mixed_precision: bool | None = Field(
        None,
        description="Lower-precision compute with float32 weights. None: the runner chooses (bfloat16 "
        "on CPUs with native bfloat16 instructions, float32 elsewhere); True: float16 on a GPU, "
        "bfloat16 on such a CPU; False: float32 everywhere.",
    )
    steps_per_execution: int | None = Field(
        None, ge=1, le=100_000, description="None lets the runner choose."
    )
    runtime: RuntimeSpec | None = Field(
        None, description="Runtime settings pinned by hand; the runner measures and chooses the others."
    )
    distribute: Literal["none", "mirrored"] = Field(
        "none",
        description="'none': one device. 'mirrored': one replica per GPU the job holds "
        "(tf.distribute.MirroredStrategy); batch_size is then per replica and a step takes "
        "batch_size x replicas examples.",
    )

    @field_validator("distribute", mode="before")
    @classmethod
    def _known_distribution(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in DISTRIBUTE_MODES:
            raise ValueError(
                f"unknown distribute {value!r}; use 'none' (one device) or 'mirrored' (one replica "
                "per GPU the job holds; ask for them with resources.gpus)"
            )
        return value

    @model_validator(mode="after")
    def _runtime_agrees(self) -> TrainSpec:
        # The older top-level fields pin the same settings; two different pins cannot both hold.
        pinned = self.runtime
        if pinned is None:
            return self
        if (
            self.steps_per_execution is not None
            and pinned.steps_per_execution is not None
            and self.steps_per_execution != pinned.steps_per_execution
        ):
            raise ValueError(
                f"steps_per_execution {self.steps_per_execution} and runtime.steps_per_execution "
                f"{pinned.steps_per_execution} disagree; set only runtime.steps_per_execution"
            )
        if pinned.precision is not None and self.mixed_precision is not None:
            if self.mixed_precision != (pinned.precision != "float32"):
                raise ValueError(
                    f"mixed_precision {self.mixed_precision} and runtime.precision {pinned.precision!r} "
                    "disagree; set only runtime.precision"
                )
        return self

    @model_validator(mode="after")
    def _momentum_needs_sgd(self) -> TrainSpec:
        if self.momentum and self.optimizer not in ("sgd", "rmsprop"):
            raise ValueError(
                f"momentum applies to 'sgd' or 'rmsprop', not {self.optimizer!r}; set momentum to 0 "
                "or choose optimizer 'sgd'"
            )
        return self


class ResourcesSpec(_Spec):
    """What a job asks of the host it runs on (the server's allocator, or a Ray cluster)."""

    gpus: int | None = Field(
        None,
        ge=0,
        le=GPUS_MAX,
        description="GPUs the job holds while it runs, all at once (it waits until that many are "
        "free). None: one GPU when the host has one under the server's GPU policy, else the CPU; "
        "0: the CPU only.",
    )


class JobSpec(_Spec):
    """A complete training job."""

    name: str = Field("run", min_length=1, max_length=100)
    tags: list[Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH)]] = Field(
        default_factory=list, max_length=TAGS_MAX
    )
    dataset: DatasetSpec
    augment: AugmentSpec = Field(default_factory=AugmentSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)

    @model_validator(mode="after")
    def _model_fits_the_data(self) -> JobSpec:
        # Registry names say their kind: a job without a model gets the kind's preset, and a
        # preset for other data is refused here (REST 400) rather than when the run starts.
        kind = DATASET_KINDS.get(self.dataset.name)
        if kind is None:
            return self
        if not self.model.model_fields_set and kind in DEFAULT_PRESETS:
            object.__setattr__(self, "model", ModelSpec(preset=DEFAULT_PRESETS[kind]))
        preset = self.model.preset
        if preset is not None and kind not in PRESET_KINDS[preset]:
            made_for = " and ".join(PRESET_KINDS[preset])
            raise ValueError(
                f"model.preset {preset!r} is made for {made_for} data, but {self.dataset.name} is {kind}; "
                f"use one of {', '.join(presets_for(kind))}"
            )
        problem = augment_problem([op.op for op in self.augment.ops], kind, self.dataset.name)
        if problem is not None:
            raise ValueError(problem)
        return self


class SpecError(ValueError):
    """A spec failed validation; the message names every bad field and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid spec:\n" + "\n".join(f"  - {p}" for p in problems))


def _layer_problem(item: ErrorDetails) -> str | None:
    """``layers.2 (Dense): units: ...; set units to e.g. 32`` for an error inside a layer, else None."""
    loc = item["loc"]
    if "layers" not in loc:
        return None
    at = loc.index("layers") + 2  # past the layer's index
    path = ".".join(str(part) for part in loc[:at])
    if item["type"] in ("union_tag_invalid", "union_tag_not_found") and len(loc) == at:
        return f"{path}: {unknown_type((item.get('ctx') or {}).get('tag'))}"
    if len(loc) <= at or loc[at] not in LAYER_TYPES:
        return None
    layer_type = str(loc[at])
    return f"{path} ({layer_type}): {describe({**item, 'loc': loc[at + 1 :]}, layer_type)}"


def _one_per_layer_argument(items: list[ErrorDetails]) -> list[ErrorDetails]:
    """Errors with, inside a layer, only the most specific one per argument (see ``most_specific``)."""
    plain: list[ErrorDetails] = []
    layered: dict[tuple[Any, ...], list[ErrorDetails]] = {}
    for item in items:
        loc = item["loc"]
        if "layers" in loc and len(loc) > loc.index("layers") + 3:
            layered.setdefault(tuple(loc[: loc.index("layers") + 3]), []).append(item)
        else:
            plain.append(item)
    for prefix, group in layered.items():
        plain += most_specific(group, depth=len(prefix))
    return plain


def _describe(error: ValidationError) -> list[str]:
    return describe_errors(error.errors())


def describe_errors(items: list[ErrorDetails]) -> list[str]:
    """One ``path.to.field: what is wrong`` line per validation error (the lines of :class:`SpecError`)."""
    problems = []
    for item in _one_per_layer_argument(items):
        layer_problem = _layer_problem(item)
        if layer_problem is not None:
            problems.append(layer_problem)
            continue
        loc = ".".join(str(part) for part in item["loc"] if not str(part).endswith("Op"))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{loc}: {message}" if loc else message)
    return problems


def parse_job(data: str | bytes | dict[str, Any] | JobSpec, strict: bool = False) -> JobSpec:
    """Validate a JobSpec from JSON text or a dict.

    ``strict`` takes JSON types exactly as the schema states them (the REST API: ``"5"`` is not
    an integer, ``"true"`` not a boolean); otherwise pydantic's lax conversions apply, so
    Python callers may pass ``5.0`` epochs or numpy integers.

    Raises
    ------
    SpecError
        Listing each bad field as ``path.to.field: what is wrong``.
    """
    if isinstance(data, JobSpec):
        return data
    # strict=False would also lift the strictness the layer arguments declare, so lax means None.
    mode = True if strict else None
    try:
        if isinstance(data, (str, bytes)):
            return JobSpec.model_validate_json(data, strict=mode)
        return JobSpec.model_validate(data, strict=mode)
    except ValidationError as error:
        raise SpecError(_describe(error)) from None


def parse(model: type[_Spec], data: Any) -> Any:
    """Validate ``data`` as ``model`` (any spec class), raising :class:`SpecError`."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SpecError(_describe(error)) from None


def __getattr__(name: str) -> Any:
    # Sweeps are specs too, defined in sweep_spec (which imports this module): re-exported lazily.
    if name in ("SweepSpec", "parse_sweep"):
        from lepton_lab.core import sweep_spec

        return getattr(sweep_spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def json_schema() -> dict[str, Any]:
    """JSON Schema of :class:`JobSpec` (with all nested specs in ``$defs``)."""
    return JobSpec.model_json_schema()


if __name__ == "__main__":  # pragma: no cover - the JSON Schema of a job, for reading
    print(json.dumps(json_schema(), indent=2))
