"""Preprocessing specs: the layers that turn raw text or waveforms into a model's first tensor.

``model.preprocessing`` holds one of these. They become the first layers of the Keras model
(see :mod:`lepton_lab.core.preprocessing`), so training, evaluation and a reloaded
``model.keras`` all take raw strings or raw waveforms. Like layer specs they are declarative:
arguments only, no code. This module is TensorFlow-free; :func:`output_shape` repeats Keras's
shape arithmetic so summaries and validation need no TensorFlow.

Examples
--------
>>> spec = parse_preprocessing({"type": "TextVectorization", "output_sequence_length": 50})
>>> output_shape(spec, ())
(50,)
>>> output_shape(MelSpectrogramSpec(), (16000,))
(64, 101)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

#: What each preprocessing type takes as one example: a scalar string, or a mono waveform.
KINDS = {"TextVectorization": "text", "MelSpectrogram": "audio", "STFTSpectrogram": "audio"}

_Frames = Annotated[int, Field(strict=True, ge=16, le=65_536)]


class _PreprocessingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TextVectorizationSpec(_PreprocessingSpec):
    """``keras.layers.TextVectorization``: strings to token ids, multi-hot or TF-IDF vectors.

    The vocabulary (and the IDF weights) are adapted on the training split only and saved inside
    ``model.keras``. ``int`` yields ``output_sequence_length`` token ids (0 pads, 1 is the
    out-of-vocabulary token); the other modes yield one ``max_tokens``-wide vector per example.
    """

    type: Literal["TextVectorization"] = "TextVectorization"
    max_tokens: int = Field(
        10_000, ge=3, le=1_000_000, description="Vocabulary size, padding and OOV included."
    )
    standardize: Literal["lower_and_strip_punctuation", "lower", "strip_punctuation"] | None = Field(
        "lower_and_strip_punctuation", description="Text normalisation before splitting (None: none)."
    )
    split: Literal["whitespace", "character"] = Field(
        "whitespace", description="Tokens are words or characters."
    )
    ngrams: int | None = Field(None, ge=2, le=5, description="Also count n-grams up to this length.")
    output_mode: Literal["int", "multi_hot", "count", "tf_idf"] = "int"
    output_sequence_length: int | None = Field(
        200, ge=1, le=100_000, description="Token ids per example in 'int' mode (padded or cut)."
    )

    @model_validator(mode="after")
    def _length_for_int(self) -> TextVectorizationSpec:
        if self.output_mode == "int" and self.output_sequence_length is None:
            raise ValueError(
                "output_mode 'int' needs output_sequence_length so batches are rectangular; set it, e.g. 200"
            )
        return self


class _Spectrogram(_PreprocessingSpec):
    frame_length: _Frames = Field(400, description="Samples per analysis window (25 ms at 16 kHz).")
    frame_step: _Frames = Field(160, description="Samples between windows (10 ms at 16 kHz).")
    fft_length: _Frames | None = Field(
        None, description="FFT size; None: the next power of two >= frame_length."
    )
    normalize: bool = Field(
        True, description="Scale to zero mean, unit variance with statistics of the training split."
    )

    @model_validator(mode="after")
    def _window_fits(self) -> _Spectrogram:
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ValueError(
                f"fft_length {self.fft_length} is shorter than frame_length {self.frame_length}; "
                "give fft_length >= frame_length or leave it out"
            )
        return self

    @property
    def fft(self) -> int:
        """The FFT size used: ``fft_length`` or the next power of two from ``frame_length``."""
        return self.fft_length or 1 << (self.frame_length - 1).bit_length()


class MelSpectrogramSpec(_Spectrogram):
    """``keras.layers.MelSpectrogram``: mel-band power per frame, in decibels when ``log``.

    Output ``(num_mel_bins, frames)``, frames = ``samples // frame_step + 1`` (Keras centres the
    windows). The sampling rate is the dataset's.
    """

    type: Literal["MelSpectrogram"] = "MelSpectrogram"
    num_mel_bins: int = Field(64, ge=8, le=512)
    min_freq: float = Field(20.0, ge=0.0, le=48_000.0)
    max_freq: float | None = Field(None, gt=0.0, le=48_000.0, description="None: half the sampling rate.")
    log: bool = Field(True, description="Power in decibels (power_to_db), clipped to 80 dB below the peak.")


class STFTSpectrogramSpec(_Spectrogram):
    """``keras.layers.STFTSpectrogram``: linear-frequency magnitudes per frame.

    Output ``(frames, fft_length // 2 + 1)``, frames = ``(samples - frame_length) // frame_step + 1``.
    ``mode="log"`` is the log magnitude.
    """

    type: Literal["STFTSpectrogram"] = "STFTSpectrogram"
    mode: Literal["log", "magnitude", "psd"] = "log"


#: ``model.preprocessing``: one preprocessing spec, chosen by ``type``.
Preprocessing = Annotated[
    Union[TextVectorizationSpec, MelSpectrogramSpec, STFTSpectrogramSpec], Field(discriminator="type")
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Preprocessing)


def parse_preprocessing(data: Any) -> TextVectorizationSpec | MelSpectrogramSpec | STFTSpectrogramSpec:
    """Validate a preprocessing spec from a dict (pydantic's ValidationError when bad)."""
    if isinstance(data, (TextVectorizationSpec, MelSpectrogramSpec, STFTSpectrogramSpec)):
        return data
    result: TextVectorizationSpec | MelSpectrogramSpec | STFTSpectrogramSpec = _ADAPTER.validate_python(data)
    return result


def kind_of(spec: Any) -> str:
    """``"text"`` or ``"audio"``: the data kind a preprocessing spec reads."""
    return KINDS[spec.type]


def output_shape(spec: Any, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of one example after ``spec`` (no batch axis), as Keras computes it.

    Raises
    ------
    ValueError
        When ``input_shape`` is not what the preprocessing reads, naming the fix.
    """
    shape = tuple(input_shape)
    if isinstance(spec, TextVectorizationSpec):
        if shape != ():
            raise ValueError(
                f"TextVectorization reads one string per example but the input has shape {shape}; "
                "use it on a text dataset, or remove model.preprocessing"
            )
        if spec.output_mode == "int":
            assert spec.output_sequence_length is not None  # the spec's validator guarantees it
            return (spec.output_sequence_length,)
        return (spec.max_tokens,)
    if len(shape) != 1:
        raise ValueError(
            f"{spec.type} reads one mono waveform (samples,) per example but the input has shape {shape}; "
            "use it on an audio dataset, or remove model.preprocessing"
        )
    samples = shape[0]
    if isinstance(spec, MelSpectrogramSpec):
        return (spec.num_mel_bins, samples // spec.frame_step + 1)
    if samples < spec.frame_length:
        raise ValueError(
            f"STFTSpectrogram frame_length {spec.frame_length} is longer than the {samples}-sample clips; "
            "use a smaller frame_length"
        )
    return ((samples - spec.frame_length) // spec.frame_step + 1, spec.fft // 2 + 1)
