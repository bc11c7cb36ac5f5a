"""What a Keras ``TextVectorization`` makes of one text, for the TextBrowser.

The browser shows the tokens a model really receives: the ids (``int`` mode: padding and
out-of-vocabulary ids included) or the vector entries (``multi_hot`` / ``count`` / ``tf_idf``)
of the vectorizer, mapped back to vocabulary entries. The vectorizer is a spec adapted on the
dataset's **training split** (as :func:`lepton_lab.core.preprocessing.adapt` does for a run), a
Keras layer given by the caller, or the one inside a run's ``model.keras``.

TensorFlow is imported by :meth:`Vectorizer.load` only, never when this module is imported.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Vector entries shown for multi-hot / count / TF-IDF outputs (the largest first).
MAX_VECTOR_TOKENS = 120
#: Keras's out-of-vocabulary token.
OOV = "[UNK]"

_CHIP = (
    "display:inline-block;margin:1px 2px;padding:0 4px;border-radius:3px;font-family:monospace;"
    "font-size:12px;background:{background};color:{color}"
)


def chip(text: str, background: str = "#e3f2fd", color: str = "#0d47a1", title: str = "") -> str:
    """One token as an inline-styled ``<span>`` (inline: a static snapshot keeps the look)."""
    tooltip = f' title="{html.escape(title)}"' if title else ""
    style = _CHIP.format(background=background, color=color)
    return f'<span class="lepton-token" style="{style}"{tooltip}>{html.escape(text)}</span>'


@dataclass(frozen=True)
class Vectorized:
    """The output of a vectorizer for one text.

    Attributes
    ----------
    mode : str
        The layer's ``output_mode``.
    tokens : list of str
        ``int`` mode: the vocabulary entry of each id up to the padding; vector modes: the
        entries with a non-zero value, largest value first.
    ids : list of int
        The ids (``int``) or vector positions (other modes) of ``tokens``.
    values : list of float
        Vector modes: the value of each entry; ``int`` mode: empty.
    padding : int
        ``int`` mode: padding ids after the text (0 when the text fills or overflows the length).
    length : int or None
        ``int`` mode: ``output_sequence_length``.
    """

    mode: str
    tokens: list[str]
    ids: list[int]
    values: list[float]
    padding: int
    length: int | None

    @property
    def oov(self) -> int:
        """How many tokens are out of the vocabulary."""
        return sum(1 for token in self.tokens if token == OOV)


def _spec_of(vectorizer: Any) -> Any:
    """Return the TextVectorizationSpec of a spec, a spec dict, a ModelSpec / model dict or a preset name."""
    from lepton_lab.core.models import PRESET_PREPROCESSING, preprocessing_of
    from lepton_lab.core.preprocessing_specs import TextVectorizationSpec, parse_preprocessing
    from lepton_lab.core.specs import ModelSpec

    if vectorizer is None:
        return TextVectorizationSpec()
    if isinstance(vectorizer, str):
        return PRESET_PREPROCESSING[vectorizer]
    if isinstance(vectorizer, dict):
        model_keys = {"preset", "layers", "preprocessing"}
        vectorizer = (
            ModelSpec(**vectorizer) if model_keys & set(vectorizer) else parse_preprocessing(vectorizer)
        )
    if isinstance(vectorizer, ModelSpec):
        vectorizer = preprocessing_of(vectorizer)
    if not isinstance(vectorizer, TextVectorizationSpec):
        raise ValueError(
            f"the vectorizer's preprocessing is {type(vectorizer).__name__}, not TextVectorization; "
            "pass a text preset name (text_bilstm, text_cnn, bag_of_words) or a TextVectorization spec"
        )
    return vectorizer


def _text_presets() -> list[str]:
    from lepton_lab.core.models import PRESET_PREPROCESSING
    from lepton_lab.core.preprocessing_specs import TextVectorizationSpec

    return [name for name, spec in PRESET_PREPROCESSING.items() if isinstance(spec, TextVectorizationSpec)]


def _is_run_dir(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike)) and (Path(value) / "spec.json").is_file()


class Vectorizer:
    """A TextVectorization layer for a dataset, loaded (and adapted) on first use.

    Parameters
    ----------
    vectorizer
        None (the default ``TextVectorization`` spec: words, 10 000 tokens, 200 ids), a text
        preset name (``"text_bilstm"``, ``"text_cnn"``, ``"bag_of_words"``: its preprocessing), a
        ``TextVectorizationSpec`` or its dict, a ``ModelSpec`` or its dict (its preprocessing),
        an adapted ``keras.layers.TextVectorization``, or a run (``Run`` or run directory)
        whose ``model.keras`` holds one.
    dataset
        The text dataset; a spec is adapted on its training split only.

    Raises
    ------
    ValueError
        ``vectorizer`` is none of these; the message lists what is accepted.
    """

    def __init__(self, vectorizer: Any, dataset: Any) -> None:
        self.dataset = dataset
        self.layer: Any = None
        self.vocabulary: list[str] = []
        self._run: Any = None
        self._spec: Any = None
        if hasattr(vectorizer, "get_vocabulary") and callable(vectorizer):
            self._use(vectorizer, "the given TextVectorization layer")
        elif hasattr(vectorizer, "load_model") and hasattr(vectorizer, "spec"):
            self._run = vectorizer
            self.description = f"the vectorizer of run {vectorizer.id}"
        elif _is_run_dir(vectorizer):
            from lepton_lab.core.run_store import load_run

            self._run = load_run(vectorizer)
            self.description = f"the vectorizer of run {self._run.id}"
        else:
            if isinstance(vectorizer, str) and vectorizer not in _text_presets():
                raise ValueError(
                    f"vectorizer {vectorizer!r} is neither a text preset ({', '.join(_text_presets())}) "
                    "nor a run directory; pass one of those, a TextVectorization spec or layer, or a Run"
                )
            try:
                self._spec = _spec_of(vectorizer)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"vectorizer={vectorizer!r} is not usable ({error}); pass None, a text preset name, a "
                    "TextVectorization spec (or dict), a model spec, a keras TextVectorization layer or a run"
                ) from None
            self.description = (
                f"TextVectorization ({_describe(self._spec.model_dump())}) adapted on the train split "
                f"({dataset.count('train'):,} texts)"
            )

    @property
    def ready(self) -> bool:
        """Whether the layer is loaded (and adapted): :meth:`vectorize` needs no TensorFlow start-up."""
        return self.layer is not None

    def _use(self, layer: Any, description: str) -> None:
        self.layer = layer
        self.vocabulary = [str(token) for token in layer.get_vocabulary()]
        if len(self.vocabulary) == 0:
            raise ValueError(
                "the TextVectorization layer has no vocabulary; adapt it first (layer.adapt(texts))"
            )
        config = layer.get_config()
        self.description = f"{description} ({_describe(config)}, vocabulary {len(self.vocabulary):,})"

    def load(self) -> None:
        """Load the run's layer or adapt the spec on the training split (imports TensorFlow)."""
        if self.ready:
            return
        if self._run is not None:
            model = self._run.load_model()
            layer = next(
                (found for found in _all_layers(model) if type(found).__name__ == "TextVectorization"), None
            )
            if layer is None:
                raise ValueError(
                    f"run {self._run.id}'s model has no TextVectorization layer (is it a text run?); "
                    "pass a text run, a preset name or a TextVectorization spec"
                )
            self._use(layer, f"the vectorizer of run {self._run.id}")
            return
        from lepton_lab.core import preprocessing
        from lepton_lab.core.tf_import import tf

        texts, _ = self.dataset.arrays("train")
        examples = tf.data.Dataset.from_tensor_slices(texts.astype(str)).batch(preprocessing.ADAPT_BATCH)
        (layer,) = preprocessing.adapt(self._spec, examples, ())
        self._use(layer, "TextVectorization adapted on the train split")

    def vectorize(self, text: str) -> Vectorized:
        """Return what the layer makes of ``text`` (loads the layer first if needed)."""
        self.load()
        from lepton_lab.core.tf_import import tf

        output = np.asarray(self.layer(tf.constant([text])))[0]
        config = self.layer.get_config()
        mode = str(config.get("output_mode", "int"))
        if mode == "int":
            ids = [int(i) for i in output]
            used = len(ids)
            while used and ids[used - 1] == 0:
                used -= 1
            return Vectorized(
                mode, [self._token(i) for i in ids[:used]], ids[:used], [], len(ids) - used,
                config.get("output_sequence_length"),
            )  # fmt: skip
        positions = np.flatnonzero(output)
        order = positions[np.argsort(-output[positions], kind="stable")]
        return Vectorized(
            mode, [self._token(int(i)) for i in order], [int(i) for i in order],
            [float(output[i]) for i in order], 0, None,
        )  # fmt: skip

    def _token(self, index: int) -> str:
        return self.vocabulary[index] if 0 <= index < len(self.vocabulary) else f"<{index}>"


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models' layers included."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found


def _describe(config: dict[str, Any]) -> str:
    mode = config.get("output_mode", "int")
    parts = [str(mode), f"split by {config.get('split') or 'whitespace'}"]
    if config.get("max_tokens"):
        parts.append(f"max {int(config['max_tokens']):,} tokens")
    if mode == "int" and config.get("output_sequence_length"):
        parts.append(f"{int(config['output_sequence_length'])} ids per text")
    if config.get("ngrams"):
        parts.append(f"n-grams up to {config['ngrams']}")
    return ", ".join(parts)


def vectorized_html(result: Vectorized, description: str) -> str:
    """Render the vectorizer's output for one text as token chips, out-of-vocabulary tokens in red."""
    unknown = {"background": "#ffebee", "color": "#b71c1c"}
    if result.mode == "int":
        chips = "".join(
            chip(token, title=f"id {index}", **(unknown if token == OOV else {}))
            for token, index in zip(result.tokens, result.ids, strict=True)
        )
        if result.padding:
            ending = f"then {result.padding} padding ids (0) up to {result.length}"
        else:
            ending = f"all {result.length} ids used: a longer text is cut there"
        summary = f"{len(result.tokens)} token ids, {result.oov} out of vocabulary, {ending}"
    else:
        shown = list(zip(result.tokens, result.ids, result.values, strict=True))[:MAX_VECTOR_TOKENS]
        chips = "".join(
            chip(
                token if result.mode == "multi_hot" else f"{token} {_value(value, result.mode)}",
                title=f"position {index}",
                **(unknown if token == OOV else {}),
            )
            for token, index, value in shown
        )
        more = f" (the first {MAX_VECTOR_TOKENS} shown)" if len(result.tokens) > MAX_VECTOR_TOKENS else ""
        summary = f"{len(result.tokens)} non-zero {result.mode} entries{more}, largest first"
    return (
        "<div class='lepton-vectorized' style='line-height:1.4'><div style='font-size:12px;color:#555'>"
        f"{html.escape(description)}: "
        f"{html.escape(summary)}</div><div style='line-height:1.9'>{chips}</div></div>"
    )


def _value(value: float, mode: str) -> str:
    return f"x{int(value)}" if mode == "count" else f"{value:.2f}"
