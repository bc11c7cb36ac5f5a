"""What a ``folder:<path>`` dataset holds: images, text or audio, judged by the files' suffixes.

The same class-per-subfolder layout serves keras's ``image_dataset_from_directory``,
``text_dataset_from_directory`` and ``audio_dataset_from_directory``; the suffixes of the files
in the class folders say which one a folder is. A folder really mixing kinds is refused, naming
a file of each kind, rather than silently dropping some of the data; a few stray files of
another kind (notes beside images) are ignored, as image folders always did.
"""

from __future__ import annotations

from pathlib import Path

from lepton_lab.core.dataset_files import IMAGE_SUFFIXES

#: Suffixes of each kind of example file (lower case).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "image": IMAGE_SUFFIXES,
    "text": (".txt",),
    "audio": (".wav",),
}


def folder_kind(root: Path) -> str:
    """Return ``"image"``, ``"text"`` or ``"audio"`` for the class folders under ``root``.

    The kind with the most files wins, and files of other kinds are ignored as before (a
    ``notes.txt`` beside the images of an image folder) while they are strays: under a quarter
    of the example files, and no class folder made of them alone. Otherwise the folder really
    mixes kinds and is refused. A folder with no example files at all is ``"image"`` (the image
    loader then explains the layout it expects). Other suffixes (README.md, .DS_Store) are ignored.

    Raises
    ------
    ValueError
        The class folders mix kinds; the message names a file of each kind.
    """
    counts: dict[str, int] = {}
    first: dict[str, Path] = {}
    classes: list[set[str]] = []  # the kinds each class folder holds
    if root.is_dir():
        for folder in sorted(
            entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
        ):
            kinds: set[str] = set()
            for path in sorted(folder.rglob("*")):
                kind = _KIND_OF_SUFFIX.get(path.suffix.lower())
                if kind is not None and path.is_file():
                    counts[kind] = counts.get(kind, 0) + 1
                    first.setdefault(kind, path)
                    kinds.add(kind)
            classes.append(kinds)
    if not counts:
        return "image"
    kind = max(counts, key=lambda k: (counts[k], k == "image"))
    strays = sum(counts.values()) - counts[kind]
    alone = any(kinds and kind not in kinds for kinds in classes)
    if alone or strays * 4 >= sum(counts.values()):
        found = "; ".join(f"{counts[k]} {k} files such as {path}" for k, path in first.items())
        raise ValueError(
            f"folder dataset {str(root)!r} mixes kinds of examples ({found}); a folder dataset holds "
            "one kind: keep only images, only .txt files or only .wav files in its class folders"
        )
    return kind


_KIND_OF_SUFFIX = {suffix: kind for kind, suffixes in SUFFIXES.items() for suffix in suffixes}
