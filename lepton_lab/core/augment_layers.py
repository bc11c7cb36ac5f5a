"""Augment layers: the two Keras pieces :mod:`lepton_lab.core.augment` needs beyond Keras's own.

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
