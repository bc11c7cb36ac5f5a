"""Audio media for widgets: a re-export of :mod:`lepton_lab.sharing.audio_media`.

The helpers live in ``sharing`` because HTML reports use them too, and ``sharing`` may not
import ``widgets`` (the import contracts in pyproject.toml); widgets keep importing them from here.
"""

from lepton_lab.sharing.audio_media import (
    DYNAMIC_RANGE_DB,
    audio_data_url,
    log_spectrogram,
    spectrogram_pixels,
    spectrogram_png,
    wav_bytes,
    waveform_pixels,
    waveform_png,
)

__all__ = [
    "DYNAMIC_RANGE_DB",
    "audio_data_url",
    "log_spectrogram",
    "spectrogram_pixels",
    "spectrogram_png",
    "wav_bytes",
    "waveform_pixels",
    "waveform_png",
]
