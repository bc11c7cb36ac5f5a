"""Which dataset folders jobs may read."""

from __future__ import annotations

import pytest

from lepton_lab.core.specs import parse_job
from lepton_lab.server.access import DatasetRefused, allowed_dataset


def test_relative_folder_inside_the_root_is_made_absolute(tmp_path):
    (tmp_path / "images" / "cats").mkdir(parents=True)
    spec = allowed_dataset(parse_job({"dataset": {"name": "folder:images"}}), tmp_path, [])
    assert spec.dataset.name == f"folder:{tmp_path / 'images'}"


def test_folder_escaping_the_root_through_dotdot_or_symlink_is_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    for name in ("folder:../outside", "folder:link", f"folder:{outside}"):
        with pytest.raises(DatasetRefused, match="outside the allowed dataset roots"):
            allowed_dataset(parse_job({"dataset": {"name": name}}), root, [])


def test_configured_roots_replace_the_default_and_missing_folders_are_named(tmp_path):
    data = tmp_path / "data"
    (data / "set").mkdir(parents=True)
    spec = allowed_dataset(parse_job({"dataset": {"name": f"folder:{data / 'set'}"}}), tmp_path / "x", [data])
    assert spec.dataset.name == f"folder:{data / 'set'}"
    with pytest.raises(DatasetRefused, match="does not exist"):
        allowed_dataset(parse_job({"dataset": {"name": f"folder:{data / 'nope'}"}}), tmp_path, [data])


def test_in_memory_datasets_are_refused_on_the_server(tmp_path):
    with pytest.raises(DatasetRefused, match="only inside a kernel"):
        allowed_dataset(parse_job({"dataset": {"name": "memory:x"}}), tmp_path, [])
