"""Return the serving graph: raw stored input in, class probabilities and the top class out.

``serve(images)`` casts the stored examples to float32, scales them (and resizes, where the
dataset does) exactly as the training pipeline does, runs the trained model in float32, and
returns ``{"probabilities": float32 [batch, classes], "classes": int64 [batch]}``. Every format
is made from this one function, so each takes what the dataset stores. A text model takes its
``tf.string`` batch as it is: its TextVectorization (the model's first layer) reads the raw text,
and the input is called ``text`` instead of ``images``.

A run trained under mixed precision (``mixed_bfloat16`` on CPUs that have it, ``mixed_float16``
on GPUs) keeps float32 weights; the export rebuilds the model with a float32 policy and those
weights, because TFLite has no bfloat16 kernels and onnxruntime none for bfloat16 convolutions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lepton_lab.core.export.inputs import RawInput

#: The serving signature's name and its input's name (TF Serving's defaults for one input).
SIGNATURE = "serving_default"
INPUT_NAME = "images"
#: The input's name for a text model (raw strings).
TEXT_INPUT_NAME = "text"


def input_name(raw: RawInput) -> str:
    """Return the serving input's name: ``text`` for raw strings, else ``images``."""
    return TEXT_INPUT_NAME if raw.dtype == "string" else INPUT_NAME


#: Layers shared with the copy instead of rebuilt: a TextVectorization's vocabulary is a lookup
#: table (not a weight), which a layer rebuilt from its config would not have initialised.
KEPT_LAYERS = ("TextVectorization",)


def float32_model(model: Any) -> Any:
    """Return a copy of the Keras ``model`` computing in float32, with the same (float32) weights.

    Layers in :data:`KEPT_LAYERS` are the original's (they compute on strings and integers).
    """
    from lepton_lab.core.tf_import import keras

    def rebuild(layer: Any) -> Any:
        if type(layer).__name__ in KEPT_LAYERS:
            return layer
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=rebuild)
    copy.set_weights(model.get_weights())
    return copy


def input_spec(raw: RawInput) -> Any:
    """Return the ``tf.TensorSpec`` of the serving input: ``[None, *raw.shape]`` of ``raw.dtype``."""
    from lepton_lab.core.tf_import import tf

    return tf.TensorSpec([None, *raw.shape], getattr(tf, raw.dtype), name=input_name(raw))


def serving_function(model: Any, raw: RawInput) -> Any:
    """Return the ``tf.function`` from raw input to ``{"probabilities", "classes"}`` (see the module doc)."""
    from lepton_lab.core.tf_import import tf

    def outputs(values: Any) -> dict[str, Any]:
        probabilities = tf.cast(model(values, training=False), tf.float32)
        return {
            "probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int64),
        }

    def serve(images: Any) -> dict[str, Any]:
        values = tf.cast(images, tf.float32)
        if raw.scale != 1.0:
            values = values * tf.constant(raw.scale, tf.float32)
        if raw.resize is not None:
            values = tf.image.resize(values, raw.resize, method="bilinear")
        return outputs(values)

    def serve_text(text: Any) -> dict[str, Any]:
        return outputs(text)

    return tf.function(serve_text if raw.dtype == "string" else serve, input_signature=[input_spec(raw)])


def write_savedmodel(model: Any, raw: RawInput, directory: Path) -> None:
    """Write a SavedModel whose ``serving_default`` signature is :func:`serving_function`.

    Keras 3's ``ExportArchive`` tracks the model's variables so that converters (TFLite)
    see and freeze them; a plain ``tf.Module`` holding the model saves them too, but the
    TFLite converter then leaves them as uninitialised resource variables.
    """
    from lepton_lab.core.tf_import import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE, serving_function(model, raw).python_function, input_signature=[input_spec(raw)]
    )
    archive.write_out(str(directory), verbose=False)
