"""Augment layers: the Keras pieces :mod:`lepton_lab.core.augment` needs beyond Keras's own.

Images: :class:`RandomCropResize` and :class:`ClipToUnitRange`. Audio waveforms
(``float32 [n, samples]`` in [-1, 1]): :class:`RandomTimeShift`, :class:`RandomAudioNoise`
and :class:`ClipToAudioRange`. The audio layers follow the image layers' protocol with
``transform_waveforms`` in place of ``transform_images``.

Imports Keras at module level, so only :mod:`~lepton_lab.core.augment`'s
functions import this module (``import lepton_lab.core.augment`` stays TF-free).
"""

from __future__ import annotations

from typing import Any

from lepton_lab.core.tf_import import keras, tf

ops = keras.ops


@keras.saving.register_keras_serializable(package="lepton_lab")
class RandomCropResize(keras.layers.Layer):
    """Crop a random window of ``fraction`` of each side and resize it back to the input size.

    Keras's ``RandomCrop`` changes the output size, picks one window for the whole
    batch and centre-crops at inference. This layer draws a window per image, keeps
    the shape (one bilinear affine resample, no fill pixels: the window always lies
    inside the image) and is the identity when not training.

    Follows the ``get_random_transformation`` / ``transform_images`` protocol of
    Keras's image preprocessing layers, so :func:`lepton_lab.core.augment.apply`
    can drive it with explicit seeds.
    """

    def __init__(self, fraction: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 < fraction <= 1:
            raise ValueError(f"RandomCropResize: fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None
    ) -> dict[str, Any] | None:
        """Per-image window origin as a fraction of the free margin: ``{"origin": [n, 2]}`` in [0, 1)."""
        if not training:
            return None
        batch = ops.shape(data)[0]
        return {"origin": keras.random.uniform((batch, 2), seed=seed if seed is not None else self.generator)}

    def transform_images(
        self, images: Any, transformation: dict[str, Any] | None, training: bool = True
    ) -> Any:
        """Resample each image from its window (bilinear)."""
        images = ops.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        height = ops.cast(ops.shape(images)[1], "float32")
        width = ops.cast(ops.shape(images)[2], "float32")
        origin = transformation["origin"]
        # Output pixel (x, y) samples input pixel (f*x + ox, f*y + oy); ox <= (1-f)(width-1)
        # keeps the window inside the image.
        offset_y = origin[:, 0] * (1 - self.fraction) * (height - 1)
        offset_x = origin[:, 1] * (1 - self.fraction) * (width - 1)
        zeros = ops.zeros_like(offset_x)
        scale = ops.full_like(offset_x, self.fraction)
        matrix = ops.stack([scale, zeros, offset_x, zeros, scale, offset_y, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, matrix, interpolation="bilinear", fill_mode="reflect")

    def call(self, inputs: Any, training: bool = True) -> Any:
        """Crop and resize each image when training; pass it through otherwise."""
        return self.transform_images(inputs, self.get_random_transformation(inputs, training), training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return ``input_shape``: the layer keeps the shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, for saving."""
        return {**super().get_config(), "fraction": self.fraction, "seed": self.seed}


@keras.saving.register_keras_serializable(package="lepton_lab")
class ClipToUnitRange(keras.layers.Layer):
    """Clip to [0, 1]: the value range every Lepton Lab image has, before and after augmentation."""

    def call(self, inputs: Any) -> Any:
        """Clip ``inputs`` to [0, 1]."""
        return ops.clip(inputs, 0.0, 1.0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return ``input_shape``: the layer keeps the shape."""
        return input_shape


@keras.saving.register_keras_serializable(package="lepton_lab")
class RandomTimeShift(keras.layers.Layer):
    """Shift each waveform by a random whole number of samples, up to ``max_fraction`` of its length.

    Positive shifts delay the sound, negative ones advance it; samples shifted past either end
    are dropped and the gap is filled with silence (zeros), as TensorFlow's speech-commands
    training does with ``time_shift_ms``. The identity when not training.
    """

    def __init__(self, max_fraction: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 < max_fraction <= 0.5:
            raise ValueError(f"RandomTimeShift: max_fraction must be in (0, 0.5], got {max_fraction}")
        self.max_fraction = max_fraction
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None
    ) -> dict[str, Any] | None:
        """Per-waveform shift as a fraction of the largest one: ``{"shift": [n]}`` in [-1, 1]."""
        if not training:
            return None
        batch = ops.shape(data)[0]
        draw = keras.random.uniform((batch,), -1.0, 1.0, seed=seed if seed is not None else self.generator)
        return {"shift": draw}

    def transform_waveforms(
        self, waveforms: Any, transformation: dict[str, Any] | None, training: bool = True
    ) -> Any:
        """Shift each ``[samples]`` row by its draw times the largest shift, filling with zeros."""
        waveforms = ops.cast(waveforms, self.compute_dtype)
        if not training or transformation is None:
            return waveforms
        length = ops.shape(waveforms)[1]
        largest = ops.floor(self.max_fraction * ops.cast(length, "float32"))
        shift = ops.cast(ops.round(transformation["shift"] * largest), "int32")
        # Output sample t is input sample t - shift; indices outside the clip read silence.
        source = ops.arange(length, dtype="int32")[None, :] - shift[:, None]
        inside = ops.logical_and(source >= 0, source < length)
        gathered = ops.take_along_axis(waveforms, ops.clip(source, 0, length - 1), axis=1)
        return ops.where(inside, gathered, ops.zeros_like(gathered))

    def call(self, inputs: Any, training: bool = True) -> Any:
        """Shift each waveform when training; pass it through otherwise."""
        return self.transform_waveforms(inputs, self.get_random_transformation(inputs, training), training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return ``input_shape``: the layer keeps the shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, for saving."""
        return {**super().get_config(), "max_fraction": self.max_fraction, "seed": self.seed}


@keras.saving.register_keras_serializable(package="lepton_lab")
class RandomAudioNoise(keras.layers.Layer):
    """Add white Gaussian noise to each waveform at an SNR drawn uniformly from ``snr_db`` (dB).

    The noise's standard deviation is ``sqrt(P / 10 ** (snr / 10))`` with ``P`` the waveform's
    mean power, so the ratio holds whatever the clip's loudness (audiomentations'
    ``AddGaussianSNR``); a silent clip stays silent. The identity when not training.
    """

    def __init__(self, snr_db: tuple[float, float], seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        low, high = (float(value) for value in snr_db)
        if low > high:
            raise ValueError(f"RandomAudioNoise: snr_db must be [lowest, highest], got {list(snr_db)}")
        self.snr_db = (low, high)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None
    ) -> dict[str, Any] | None:
        """Per-waveform SNR in dB and unit-variance noise: ``{"snr_db": [n], "noise": data's shape}``."""
        if not training:
            return None
        seed = seed if seed is not None else self.generator
        low, high = self.snr_db
        snr = keras.random.uniform((ops.shape(data)[0],), low, high, seed=seed)
        return {"snr_db": snr, "noise": keras.random.normal(ops.shape(data), seed=seed)}

    def transform_waveforms(
        self, waveforms: Any, transformation: dict[str, Any] | None, training: bool = True
    ) -> Any:
        """Add the drawn noise scaled to each waveform's SNR."""
        waveforms = ops.cast(waveforms, self.compute_dtype)
        if not training or transformation is None:
            return waveforms
        power = ops.mean(ops.square(waveforms), axis=1, keepdims=True)
        ratio = ops.power(10.0, transformation["snr_db"] / 10.0)[:, None]
        return waveforms + transformation["noise"] * ops.sqrt(power / ratio)

    def call(self, inputs: Any, training: bool = True) -> Any:
        """Add noise when training; pass the waveforms through otherwise."""
        return self.transform_waveforms(inputs, self.get_random_transformation(inputs, training), training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return ``input_shape``: the layer keeps the shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, for saving."""
        return {**super().get_config(), "snr_db": list(self.snr_db), "seed": self.seed}


@keras.saving.register_keras_serializable(package="lepton_lab")
class ClipToAudioRange(keras.layers.Layer):
    """Clip to [-1, 1]: the value range of every Lepton Lab waveform, before and after augmentation."""

    def call(self, inputs: Any) -> Any:
        """Clip ``inputs`` to [-1, 1]."""
        return ops.clip(inputs, -1.0, 1.0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return ``input_shape``: the layer keeps the shape."""
        return input_shape


class StatelessSeeds(keras.random.SeedGenerator):
    """A seed source whose draws are a pure function of a seed tensor and the draw number.

    Keras random ops accept only an int or a ``SeedGenerator`` as ``seed``; a real
    ``SeedGenerator`` keeps its state in a variable, which parallel ``tf.data`` map
    calls update in a racy order. Draw ``k`` here is ``fold_in(seed, k)``: no
    variable (so ``SeedGenerator.__init__``, which creates one, is deliberately not
    called), and the same seed tensor always yields the same draws.
    """

    def __init__(self, seed: Any):
        self.name = "stateless_seeds"
        self._seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
        self._draws = 0

    def next(self, ordered: bool = True) -> Any:
        """Return the next seed: ``fold_in(seed, draw number)``."""
        self._draws += 1
        return tf.random.experimental.stateless_fold_in(self._seed, self._draws)
