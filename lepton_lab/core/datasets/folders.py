"""What a ``folder:<path>`` dataset holds: images, text or audio, judged by the files' suffixes.

The same class-per-subfolder layout serves keras's ``image_dataset_from_directory``,
``text_dataset_from_directory`` and ``audio_dataset_from_directory``; the suffixes of the files
in the class folders say which one a folder is. A folder mixing kinds is refused, naming a file
of each kind, rather than silently dropping some of the data.
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

    A folder with no example files at all is ``"image"`` (the image loader then explains the
    layout it expects). Files of other suffixes (README, .DS_Store) are ignored.

    Raises
    ------
    ValueError
        The class folders hold files of more than one kind; the message names one of each.
    """
    first: dict[str, Path] = {}
    if root.is_dir():
        for folder in sorted(
            entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
        ):
            for path in sorted(folder.rglob("*")):
                suffix = path.suffix.lower()
                for kind, suffixes in SUFFIXES.items():
                    if suffix in suffixes and kind not in first and path.is_file():
                        first[kind] = path
    if len(first) > 1:
        found = "; ".join(f"{kind} files such as {path}" for kind, path in first.items())
        raise ValueError(
            f"folder dataset {str(root)!r} mixes kinds of examples ({found}); a folder dataset holds "
            "one kind: keep only images, only .txt files or only .wav files in its class folders"
        )
    return next(iter(first), "image")
