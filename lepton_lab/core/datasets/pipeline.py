"""Pipeline: a dataset split as ``tf.data`` batches for ``model.fit``.

Two shapes of pipeline, picked by where the examples live:

* In memory (arrays, the registry datasets): the split goes into the pipeline once as one
  tensor; each epoch shuffles *row indices* and gathers a whole batch at a time, as Keras does
  for numpy arrays. Shuffling and batching single examples instead costs a tf.data step per
  example, which is what made the runner slower than a plain ``model.fit`` on small images.
* Image folders: file paths go in; files are read and decoded by TensorFlow's native decoders in
  parallel (``AUTOTUNE``), resized, and optionally cached after the first epoch in memory or in
  files on disk, so datasets larger than memory still train at the speed of the disk. With the
  memory cache the split's files are decoded in parallel once, before the first epoch, into the
  dataset's store of decoded images, and every epoch gathers whole batches from it by shuffled
  index exactly as the in-memory path does: the same batches for the same seed, epoch by epoch
  (a ``tf.data`` cache hands out one example at a time, and re-batching them cost a third of the
  speed of a cached Keras pipeline).

Without augmentation, a split of up to :data:`CONVERTED_BYTES` is converted to float32 once
and each epoch shuffles the converted examples themselves (the same order as the shuffled
indices, so the same batches): epochs then run no function per batch, which is most of the
per-epoch cost of a short epoch. Otherwise both convert stored pixels to float32 per batch (and
augment there), in parallel when ``parallel_map`` is set. Both prefetch. Settings come from the runtime policy
(:mod:`lepton_lab.core.runtime_policy`); none of them changes what the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.core import dataset_files
from lepton_lab.core.example_store import FolderStore
from lepton_lab.core.specs import AugmentSpec, parse

if TYPE_CHECKING:
    import tensorflow as tf

    from lepton_lab.core.datasets.dataset import Dataset

#: Suffixes TensorFlow's own decoders read; other images are decoded with Pillow.
TF_DECODABLE = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: Decoded folder splits up to this size are cached in memory by default.
MEMORY_CACHE_BYTES = 2 * 1024**3
#: Shuffle buffer after a disk cache: the whole split would not fit in memory.
DISK_SHUFFLE_BUFFER = 8192
#: A split without augmentation is converted to float32 once, up to this size converted (the
#: epoch's shuffle buffer holds a second copy); larger ones convert each batch as it is gathered.
CONVERTED_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class InputOptions:
    """How the pipeline runs (never what it yields).

    Attributes
    ----------
    parallel_map : bool
        Convert (and decode) batches in parallel with ``tf.data.AUTOTUNE``.
    prefetch : int or "auto"
        Batches prepared ahead of the model (0: none; "auto": AUTOTUNE).
    cache : str
        Folder datasets: keep decoded images after the first epoch, ``"memory"``, ``"disk"``
        (files under ``cache_dir``) or ``"none"``. In-memory datasets ignore it.
    cache_dir : Path, optional
        Where ``cache="disk"`` writes its files.
    """

    parallel_map: bool = True
    prefetch: int | str = "auto"
    cache: str = "none"
    cache_dir: Path | None = None


def default_cache(dataset: Dataset, split: str) -> str:
    """Return ``"memory"`` for a folder split within :data:`MEMORY_CACHE_BYTES` decoded, else ``"none"``."""
    if not isinstance(dataset._store, FolderStore):
        return "none"
    size = dataset.count(split) * int(np.prod(dataset.input_shape))
    return "memory" if size <= MEMORY_CACHE_BYTES else "none"


def batches(
    dataset: Dataset,
    split: str,
    batch_size: int,
    *,
    augment: AugmentSpec | dict[str, Any] | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    options: InputOptions | None = None,
) -> tf.data.Dataset:
    """Batches of ``(float32 examples, int32 labels)`` of ``split``.

    Parameters are those of :meth:`Dataset.as_tf_data`, plus ``options`` (how it runs).
    """
    from lepton_lab.core import augment as augmentation
    from lepton_lab.core.tf_import import tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    options = options or InputOptions()
    parallel = tf.data.AUTOTUNE if options.parallel_map else None
    spec = parse(AugmentSpec, augment) if augment is not None else AugmentSpec()
    augmentation.check(spec, dataset.kind, dataset.name)
    layers = augmentation.pipeline(spec, seed) if split == "train" else None
    shuffled = shuffle if shuffle is not None else split == "train"
    rows = dataset._rows(split)
    store = dataset._store
    labels = dataset._labels[rows].astype(np.int32)
    stored: np.ndarray | None = None
    if isinstance(store, FolderStore) and options.cache != "memory":
        data, scale, resize = _folder_batches(store, rows, labels, batch_size, shuffled, seed, options, split)
    elif isinstance(store, FolderStore):  # decoded once into the store, then as in memory
        _decode_into_store(store, rows, options)
        stored, scale = store.raw(rows)
        resize = None
    else:
        stored, scale = store.raw(rows)
        resize = store.resize

    def to_float(examples: tf.Tensor) -> tf.Tensor:
        values = tf.cast(examples, tf.float32) * tf.constant(scale, tf.float32)
        return values if resize is None else tf.image.resize(values, resize, method="bilinear")

    converted = False
    if stored is not None:
        convert = to_float if dataset.kind != "text" and layers is None else None
        if convert is not None and len(labels) * 4 * int(np.prod(dataset.input_shape)) <= CONVERTED_BYTES:
            # Nothing random between the stored pixels and the model: convert once, not per epoch.
            data = _sliced_batches(convert(tf.constant(stored)), labels, batch_size, shuffled, seed)
            converted = True
        else:
            # The gather and the conversion in one parallel map: each stage of a pipeline
            # costs a hand-over per batch (about a quarter of the pipeline's time).
            data = _gathered_batches(stored, labels, batch_size, shuffled, seed, convert, parallel)
    if dataset.kind == "text":
        pass  # batches of tf.string: the model's own TextVectorization turns them into numbers
    elif layers is None:
        if stored is None and not converted:
            data = data.map(lambda x, y: (to_float(x), y), num_parallel_calls=parallel)
    else:
        # Random layers keep their state in a variable, and parallel map calls race on it;
        # drawing one seed per batch in order and applying the layers statelessly keeps
        # training reproducible. rerandomize_each_iteration gives each epoch new seeds.
        batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip(data, batch_seeds).map(
            lambda batch, batch_seed: (augmentation.apply(layers, to_float(batch[0]), batch_seed), batch[1]),
            num_parallel_calls=parallel,
        )
    if options.prefetch == "auto":
        return data.prefetch(tf.data.AUTOTUNE)
    return data.prefetch(int(options.prefetch)) if options.prefetch else data


def _gathered_batches(
    stored: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffled: bool,
    seed: int,
    convert: Any = None,
    parallel: int | None = None,
) -> tf.data.Dataset:
    """Batches of stored rows: shuffled indices, one gather per batch (Keras's way for arrays).

    ``convert`` (stored batch to model input) runs in the same map as the gather, with
    ``parallel`` calls; without it, batches are yielded as stored.
    """
    from lepton_lab.core.tf_import import tf

    # from_tensors(...).repeat() hands the same tensors to every batch without copying, and
    # keeps them out of the map function's graph (a captured array would be a graph constant).
    source = tf.data.Dataset.from_tensors((stored, labels)).repeat()
    change = convert if convert is not None else (lambda examples: examples)
    return tf.data.Dataset.zip(_index_batches(len(labels), batch_size, shuffled, seed), source).map(
        lambda index, arrays: (change(tf.gather(arrays[0], index)), tf.gather(arrays[1], index)),
        num_parallel_calls=parallel if convert is not None else None,
    )


def _sliced_batches(
    examples: tf.Tensor, labels: np.ndarray, batch_size: int, shuffled: bool, seed: int
) -> tf.data.Dataset:
    """Batches of ready model inputs: the examples reshuffled each epoch from ``seed``, batched.

    No function runs per batch or per epoch. A ``map`` stage (the gather of
    :func:`_gathered_batches`) costs its function's set-up at every epoch's new iterator and a
    call per batch: on a 2-core machine 10-15 ms per epoch of 20 batches, a quarter of a small
    model's 50 ms epoch (``bench/bench_epoch_overhead.py``). tf.data's shuffle draws buffer
    positions from its seeded generator whatever the elements are, so shuffling the examples
    gives the order of :func:`_index_batches`' shuffled indices: the same batches as the gather.
    """
    from lepton_lab.core.tf_import import tf

    data = tf.data.Dataset.from_tensor_slices((examples, labels))
    if shuffled:
        data = data.shuffle(max(len(labels), 1), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size)


def _index_batches(count: int, batch_size: int, shuffled: bool, seed: int) -> tf.data.Dataset:
    """Batches of row indices ``0..count-1``, reshuffled each epoch from ``seed`` when ``shuffled``.

    Every path that gathers by index uses this one order, so an in-memory split and the same
    images in a folder give the same batches epoch by epoch.
    """
    from lepton_lab.core.tf_import import tf

    indices = tf.data.Dataset.range(count)
    if shuffled:
        indices = indices.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
    return indices.batch(batch_size)


def _decode_into_store(store: FolderStore, rows: np.ndarray, options: InputOptions) -> None:
    """Decode the files of ``rows`` not decoded yet into the store, in parallel with tf.data.

    The store keeps every decoded image (:class:`FolderStore`), so the probe's pipelines, the
    run's and the dataset's pages decode each file once in all. This is the memory cache: a
    ``tf.data`` cache hands out one example at a time, and re-batching them made cached epochs
    0.7x of a cached Keras pipeline; filling a ``tf.Variable`` batch by batch during the first
    epoch (tried) was slower still, every batch paying a cond and a variable read in tf.data.
    """
    from lepton_lab.core.tf_import import tf

    missing = np.unique(rows[~store.ready[rows]])
    if not len(missing):
        return
    paths = [str(store.paths[row]) for row in missing]
    decode = _decoder(store, native=all(path.lower().endswith(TF_DECODABLE) for path in paths))
    parallel = tf.data.AUTOTUNE if options.parallel_map else None
    decoded = tf.data.Dataset.from_tensor_slices(paths).map(decode, num_parallel_calls=parallel)
    start = 0
    for images in decoded.batch(1024).prefetch(1):  # in order: map keeps it (deterministic)
        done = missing[start : start + len(images)]
        store.decoded[done] = images.numpy()
        store.ready[done] = True
        start += len(images)


def _folder_batches(
    store: FolderStore,
    rows: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffled: bool,
    seed: int,
    options: InputOptions,
    split: str,
) -> tuple[tf.data.Dataset, float, None]:
    """Batches of decoded uint8 images read from the files of ``rows`` (no cache, or on disk)."""
    from lepton_lab.core.tf_import import tf

    paths = [str(store.paths[row]) for row in rows]
    count = len(paths)
    decode = _decoder(store, native=all(path.lower().endswith(TF_DECODABLE) for path in paths))
    parallel = tf.data.AUTOTUNE if options.parallel_map else None
    files = tf.data.Dataset.from_tensor_slices((paths, labels))
    if options.cache == "none":
        if shuffled:  # shuffle names, not pixels: the buffer stays small
            files = files.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
        data = files.map(lambda path, label: (decode(path), label), num_parallel_calls=parallel)
    else:
        data = files.map(lambda path, label: (decode(path), label), num_parallel_calls=parallel)
        if options.cache != "disk":
            raise ValueError(f"cache must be 'memory', 'disk' or 'none', got {options.cache!r}")
        if options.cache_dir is None:
            raise ValueError("cache='disk' needs a cache directory")
        options.cache_dir.mkdir(parents=True, exist_ok=True)
        data = data.cache(str(options.cache_dir / split))
        if shuffled:
            data = data.shuffle(
                max(min(count, DISK_SHUFFLE_BUFFER), 1), seed=seed, reshuffle_each_iteration=True
            )
    return data.batch(batch_size), 1 / 255, None


def _decoder(store: FolderStore, native: bool) -> Any:
    """Return a function from a file path tensor to ``uint8 [size, size, channels]`` pixels.

    TensorFlow's decoders run in tf.data's threads without the GIL; Pillow (for WebP and TIFF)
    runs through ``py_function``. Images already at the dataset's size are taken as decoded, so
    they match :class:`FolderStore`'s pixels exactly; others are resized bilinearly with
    antialiasing, as Pillow does, which may differ from Pillow by a rounding step.
    """
    from lepton_lab.core.tf_import import tf

    size, channels = store.size, store.channels

    def with_pillow(path: tf.Tensor) -> tf.Tensor:
        def read(name: Any) -> np.ndarray:
            return dataset_files.decode_image(Path(name.numpy().decode()), size, channels)

        pixels = tf.py_function(read, [path], tf.uint8)
        pixels.set_shape([size, size, channels])
        return pixels

    def with_tensorflow(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False, dtype=tf.uint8
        )
        shape = tf.shape(image)

        def resized() -> tf.Tensor:
            values = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(values), 0, 255), tf.uint8)

        same = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
        pixels = tf.cond(same, lambda: image, resized)
        pixels.set_shape([size, size, channels])
        return pixels

    return with_tensorflow if native else with_pillow
