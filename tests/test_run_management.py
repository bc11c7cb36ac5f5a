"""Managing runs without a server: rename, note, archive (meta.json) and delete, from files alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import lepton_lab as ll
from lepton_lab.core import runmeta
from lepton_lab.core.deletion import (
    ActiveRunError,
    RunDirRefused,
    RunIdError,
    check_run_id,
    delete_run,
)
from lepton_lab.core.run_store import load_run, runs
from lepton_lab.core.rundir import RunDir

SPEC = {"name": "cnn", "tags": ["sweep"], "dataset": {"name": "digits"}, "train": {"epochs": 2}}


def _finished(runs_dir: Path, name: str = "cnn") -> RunDir:
    run = RunDir.create(runs_dir, {**SPEC, "name": name})
    run.write_status(status="completed", epoch=2)
    (run.path / "model.keras").write_bytes(b"x" * 300_000)
    return run


def test_rename_note_and_archive_go_to_meta_json_and_leave_spec_as_trained(runs_dir):
    run_dir = _finished(runs_dir)
    spec_before = run_dir.spec_path.read_bytes()
    run = load_run(run_dir.path)
    run.rename("  CNN, lr 0.01 ").set_note("best so far\nsecond line").archive()

    assert run.name == "CNN, lr 0.01" and run.note == "best so far\nsecond line" and run.archived
    assert run_dir.spec_path.read_bytes() == spec_before
    stored = json.loads((run_dir.path / "meta.json").read_text())
    assert stored["name"] == "CNN, lr 0.01" and stored["archived"] is True and "updated" in stored

    run.rename(None).set_note("").unarchive()
    assert run.name == "cnn" and run.note is None and not run.archived


def test_a_copied_run_directory_keeps_its_annotations(runs_dir, tmp_path):
    run = load_run(_finished(runs_dir).path).rename("kept").set_note("portable")
    copy = tmp_path / "elsewhere" / run.id
    import shutil

    shutil.copytree(run.path, copy)
    assert load_run(copy).name == "kept" and load_run(copy).note == "portable"


def test_runs_hides_archived_runs_unless_asked_and_shows_name_and_note(runs_dir):
    kept = load_run(_finished(runs_dir, "kept").path).rename("renamed").set_note("a note")
    hidden = load_run(_finished(runs_dir, "hidden").path).archive()

    table = runs(runs_dir)
    assert list(table["id"]) == [kept.id]
    assert table.iloc[0]["name"] == "renamed" and table.iloc[0]["note"] == "a note"
    everything = runs(runs_dir, archived=True)
    assert set(everything["id"]) == {kept.id, hidden.id}
    assert dict(zip(everything["id"], everything["archived"], strict=True)) == {
        kept.id: False,
        hidden.id: True,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"note": "x" * 10_001}, "note"),
        ({"name": 3}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"archived": "yes"}, "archived"),
        ({"colour": "red"}, "colour"),
        ({}, "nothing to change"),
    ],
)
def test_invalid_annotations_are_refused_naming_the_field(runs_dir, changes, field):
    run = _finished(runs_dir)
    with pytest.raises(runmeta.MetaError, match=field):
        runmeta.update_meta(run, **changes)
    assert not (run.path / "meta.json").exists()


def test_limits_are_inclusive(runs_dir):
    run = _finished(runs_dir)
    meta = runmeta.update_meta(run, name="n" * 200, note="n" * 10_000)
    assert len(meta["name"]) == 200 and len(meta["note"]) == 10_000


def test_a_corrupt_meta_json_hides_nothing(runs_dir):
    run = _finished(runs_dir)
    (run.path / "meta.json").write_text("{not json")
    assert runmeta.read_meta(run) == {"name": None, "note": None, "archived": False, "updated": None}
    assert list(runs(runs_dir)["name"]) == ["cnn"]


def test_delete_asks_with_id_name_and_size_and_no_keeps_the_run(runs_dir):
    run = _finished(runs_dir)
    prompts: list[str] = []

    def answer(reply):
        def ask(prompt):
            prompts.append(prompt)
            return reply

        return ask

    assert delete_run(run.id, runs_dir=runs_dir, ask=answer("")) is False
    assert delete_run(run.id, runs_dir=runs_dir, ask=answer("n")) is False
    assert run.path.is_dir()
    assert prompts[0] == f"Delete run {run.id} (cnn, 0.3 MB)? [y/N] "
    assert delete_run(run.id, runs_dir=runs_dir, ask=answer("y")) is True
    assert not run.path.exists()
    assert [p.name for p in runs_dir.iterdir()] == []  # no hidden leftovers either


def test_module_level_delete_run_is_public_and_needs_no_server(runs_dir):
    run = _finished(runs_dir)
    assert ll.delete_run(run.id, confirm=False, runs_dir=runs_dir) is True
    assert not run.path.exists()


def test_run_delete_uses_input(runs_dir, monkeypatch):
    run = load_run(_finished(runs_dir).path).rename("shown name")
    seen = []
    monkeypatch.setattr("builtins.input", lambda prompt: seen.append(prompt) or "yes")
    assert run.delete() is True
    assert "(shown name, " in seen[0] and not run.path.exists()


@pytest.mark.parametrize("status", ["queued", "running"])
def test_active_runs_are_refused_with_cancel_first(runs_dir, status):
    run = RunDir.create(runs_dir, SPEC)
    run.write_status(status=status)
    with pytest.raises(ActiveRunError, match="cancel it first"):
        delete_run(run.id, confirm=False, runs_dir=runs_dir)
    with pytest.raises(ActiveRunError):
        load_run(run.path).delete(confirm=False)
    assert run.path.is_dir()


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", ".hidden", "", "/etc", "a\\b", "x\0y", "a/../b"])
def test_ids_that_are_not_plain_names_are_refused(bad):
    with pytest.raises(RunIdError):
        check_run_id(bad)


def test_delete_never_touches_anything_outside_the_run_directory(runs_dir, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "spec.json").write_text("{}")
    (outside / "keep.txt").write_text("keep me")
    # A run directory that links out, and a "run" that is itself a link to a folder outside.
    run = _finished(runs_dir)
    os.symlink(outside, run.path / "link-out")
    os.symlink(outside / "keep.txt", run.path / "file-link")
    os.symlink(outside, runs_dir / "linked-run")

    with pytest.raises(RunDirRefused):
        delete_run("linked-run", confirm=False, runs_dir=runs_dir)
    with pytest.raises(RunIdError):
        delete_run("../precious", confirm=False, runs_dir=runs_dir)
    with pytest.raises(FileNotFoundError):
        delete_run("no-such-run", confirm=False, runs_dir=runs_dir)
    assert delete_run(run.id, confirm=False, runs_dir=runs_dir)

    assert not run.path.exists()
    assert (outside / "keep.txt").read_text() == "keep me" and (outside / "spec.json").exists()
    assert (runs_dir / "linked-run").is_symlink()
