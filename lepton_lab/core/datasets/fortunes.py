"""Fortune-cookie corpora: Debian's ``fortunes*`` packages as two labelled text tasks, offline.

``fortunes_topics``
    Eight English fortune databases of the ``fortunes`` package as classes (art, computers,
    food, law, love, politics, science, sports), each capped at :data:`TOPIC_CAP` examples.
``fortunes_languages``
    Language identification over ten languages Debian ships fortunes in (``fortunes``,
    ``fortunes-de``, ``-es``, ``-it``, ``-pl``, ``-cs``, ``-ru``, ``-eo``, ``-br``, ``-zh``),
    each capped at :data:`LANGUAGE_CAP` examples.

A fortune file holds entries separated by lines that are a lone ``%``. Entries found in more
than one class are dropped (their label would be ambiguous and they would leak across splits),
as are repeats within a class. Classes above their cap keep a sample drawn with a fixed seed,
so the corpus (and its order, classes interleaved) is the same for every split seed; the
spec's seed only changes the split.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Where Debian installs fortune databases.
FORTUNES_DIR = Path("/usr/share/games/fortunes")
#: Most examples kept per class: balances the classes without starving the small ones.
TOPIC_CAP = 200
LANGUAGE_CAP = 1000
#: Seed of the per-class sample under the cap (fixed: the corpus must not depend on the split seed).
SAMPLE_SEED = 13

_SEPARATOR = re.compile(r"^%[ \t\r]*$", re.MULTILINE)
#: Terminal colour codes (fortunes-zh colours its attributions): not part of the text.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Source:
    """One class: the Debian package that ships it and its files (globs below FORTUNES_DIR)."""

    package: str
    patterns: tuple[str, ...]


TOPICS: dict[str, Source] = {
    topic: Source("fortunes", (topic,))
    for topic in ("art", "computers", "food", "law", "love", "politics", "science", "sports")
}

#: English: the prose databases of ``fortunes`` (not ascii-art, nor translate-me's other languages).
_ENGLISH = (
    "art", "computers", "cookie", "definitions", "drugs", "education", "ethnic", "food", "goedel",
    "humorists", "kids", "law", "linux", "love", "magic", "medicine", "men-women", "miscellaneous",
    "news", "people", "pets", "platitudes", "politics", "science", "songs-poems", "sports",
    "startrek", "wisdom", "work", "zippy",
)  # fmt: skip

#: Languages by ISO 639-1 code. Left out: ASCII-art files, German IRC logs and phrase lists half
#: in English, the Slovak file among the Czech ones, the offensive subsets (fortunes-*-off), and
#: languages with under 1000 entries (fortunes-bg, fortunes-ga).
LANGUAGES: dict[str, Source] = {
    "cs": Source("fortunes-cs", ("cs/*",)),
    "de": Source("fortunes-de", ("de/*",)),
    "en": Source("fortunes", _ENGLISH),
    "eo": Source("fortunes-eo", ("eo/*",)),
    "es": Source("fortunes-es", ("es/*.fortunes",)),
    "it": Source("fortunes-it", ("it/*",)),
    "pl": Source("fortunes-pl", ("pl/*",)),
    "pt": Source("fortunes-br", ("brasil",)),
    "ru": Source("fortunes-ru", ("ru/*",)),
    "zh": Source("fortunes-zh", ("chinese", "song100", "tang300")),
}
_EXCLUDED = {"cs/klasik-sk", "de/asciiart", "de/channel-debian.fortunes", "de/translations", "it/banner"}

TASKS = {"fortunes_topics": (TOPICS, TOPIC_CAP), "fortunes_languages": (LANGUAGES, LANGUAGE_CAP)}

DESCRIPTIONS = {
    "fortunes_topics": f"Fortune cookies by topic ({', '.join(TOPICS)}), up to {TOPIC_CAP} each; "
    "text, from Debian's fortunes package.",
    "fortunes_languages": f"Fortune cookies by language ({', '.join(LANGUAGES)}), up to {LANGUAGE_CAP} "
    "each; text, from Debian's fortunes-* packages.",
}


def parse(text: str) -> list[str]:
    """Split a fortune file into entries: colour codes removed, trailing space stripped, no empty ones."""
    entries = (entry.strip("\n").rstrip() for entry in _SEPARATOR.split(_ANSI.sub("", text)))
    return [entry for entry in entries if entry.strip()]


def _files(source: Source, root: Path | None = None) -> list[Path]:
    root = root or FORTUNES_DIR
    found: set[Path] = set()
    for pattern in source.patterns:
        for path in root.glob(pattern):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and path.suffix not in (".dat", ".u8") and relative not in _EXCLUDED:
                found.add(path)
    return sorted(found)


def missing_packages(name: str) -> list[str]:
    """Debian packages ``name`` needs that are not installed (judged by their files), sorted."""
    classes, _ = TASKS[name]
    return sorted({source.package for source in classes.values() if not _files(source)})


def unavailable_message(name: str) -> str:
    """How to install what ``name`` lacks."""
    packages = " ".join(missing_packages(name))
    return (
        f"{name} reads Debian's fortune databases in {FORTUNES_DIR}, and {packages} "
        f"{'is' if ' ' not in packages else 'are'} not installed: run `sudo apt-get install {packages}` "
        "(or `make system-deps`)"
    )


def corpus(name: str) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    """Read task ``name``: ``(texts, int64 labels, class names)``, classes in sorted order.

    Read once per process and directory (a second load costs nothing).

    Raises
    ------
    FileNotFoundError
        A package is missing (see :func:`missing_packages`).
    """
    if missing_packages(name):
        raise FileNotFoundError(unavailable_message(name))
    return _read(name, FORTUNES_DIR)


@functools.lru_cache(maxsize=2)
def _read(name: str, root: Path) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    # ``root`` is FORTUNES_DIR, passed so that the cache is per directory.
    classes, cap = TASKS[name]
    names = sorted(classes)
    entries: dict[str, list[str]] = {}
    for class_name in names:
        unique: dict[str, None] = {}  # an ordered set: file order, repeats dropped
        for path in _files(classes[class_name], root):
            unique.update(dict.fromkeys(parse(path.read_text(encoding="utf-8", errors="replace"))))
        entries[class_name] = list(unique)
    owners: dict[str, int] = {}
    for class_name in names:
        for entry in entries[class_name]:
            owners[entry] = owners.get(entry, 0) + 1
    rng = np.random.default_rng(SAMPLE_SEED)
    texts: list[str] = []
    labels: list[int] = []
    for label, class_name in enumerate(names):
        kept = [entry for entry in entries[class_name] if owners[entry] == 1]
        if len(kept) > cap:
            kept = [kept[i] for i in np.sort(rng.choice(len(kept), size=cap, replace=False))]
        texts.extend(kept)
        labels.extend([label] * len(kept))
    # Interleave the classes (a fixed order): a page of the browser shows a mix, not one class.
    order = rng.permutation(len(texts))
    label_array = np.asarray(labels, dtype=np.int64)[order]
    label_array.flags.writeable = False  # shared by every load in the process
    return tuple(texts[i] for i in order), label_array, tuple(names)
