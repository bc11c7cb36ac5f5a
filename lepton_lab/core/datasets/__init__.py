"""Datasets: every source of training data behind one lazy, paged interface.

:func:`load` turns a :class:`~lepton_lab.core.specs.DatasetSpec` (or a name,
arrays, a DataFrame) into a :class:`Dataset` with deterministic, stratified
train / validation / test splits. A dataset keeps its pixels in their stored
form (uint8 for 60 000 Fashion-MNIST images, file paths for a folder) and
converts only what is asked for: ``page(900, 64)`` decodes 64 images, not the
whole set. :meth:`Dataset.as_tf_data` feeds training.

Registry
--------
``digits``
    The 1797 8x8 handwritten digits of UCI optdigits, shipped in the package; always offline.
``shapes``
    Procedural coloured shapes (:mod:`lepton_lab.core.shapes_dataset`), any size, seeded.
``fashion_mnist``, ``mnist``, ``cifar10``
    Read from the Keras cache or Debian packages (:mod:`lepton_lab.core.dataset_files`),
    downloaded only when online; otherwise :class:`DatasetUnavailable` says how to get them.
``folder:<path>``
    A class-per-subfolder directory of images (decoded with Pillow page by page), of ``.txt``
    files (a text dataset) or of ``.wav`` files (an audio dataset); the files' suffixes decide.
``fortunes_topics``, ``fortunes_languages``
    Text: Debian's fortune cookies by topic or by language (:mod:`.fortunes`); offline once
    the ``fortunes*`` packages are installed (``make system-deps``).
``imdb``
    Text: IMDB reviews, read only from the Keras cache.
``spoken_digits``
    Audio: the words zero to nine synthesised with espeak-ng over many voices, speeds and
    pitches, with noise (:mod:`.spoken_digits`); seeded, cached under the cache directory.
``speech_commands``
    Audio: Speech Commands (or the mini set), read only from the Keras cache.

Text datasets (:mod:`.text`, also ``from_dataframe(df, text=..., target=...)`` and ``from_csv``)
have ``kind == "text"``: pages of ``str``, ``tf.string`` batches. Audio datasets (:mod:`.audio`,
:mod:`.audio_sources`) have ``kind == "audio"``: one-second mono float32 waveforms in [-1, 1] at
16 kHz (``sample_rate``, ``clip_samples``).

Modules: :mod:`.dataset` (the :class:`Dataset` and its pages), :mod:`.builtin` (the registry's
sources and :func:`available`), :mod:`.memory` (arrays and DataFrames from a notebook) and
:mod:`.loading` (:func:`load`, which picks one). This package imports neither TensorFlow nor
Keras; :meth:`Dataset.as_tf_data` does.

Examples
--------
>>> ds = load("digits", validation_split=0.25)
>>> ds.input_shape, ds.num_classes, ds.count("train") + ds.count("validation") + ds.count("test")
((8, 8, 1), 10, 1797)
>>> page = ds.page(0, 16, label=3)
>>> page.images.shape, set(page.labels.tolist())
((16, 8, 8, 1), {3})
"""

from lepton_lab.core.datasets.builtin import SHAPES_COUNT, DatasetUnavailable, available
from lepton_lab.core.datasets.dataset import SPLITS, Dataset, Page
from lepton_lab.core.datasets.loading import load
from lepton_lab.core.datasets.memory import from_arrays, from_csv, from_dataframe

__all__ = [
    "SHAPES_COUNT",
    "SPLITS",
    "Dataset",
    "DatasetUnavailable",
    "Page",
    "available",
    "from_arrays",
    "from_csv",
    "from_dataframe",
    "load",
]
