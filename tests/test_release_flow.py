"""The real Prefect flow end to end: release layout, no-op rebuilds, versions,
and no release when validation fails."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows import build as build_flow
from flows.build import ValidationFailed, build_release
from pressroom.release import file_sha256, list_releases, verify_release

ROOT = Path(__file__).resolve().parent.parent


def test_release_layout_and_manifest(seed_release):
    manifest = json.loads((seed_release / "manifest.json").read_text())
    assert manifest["version"] == "1.0.0"
    assert manifest["created_at"].endswith("Z")
    for key in ("pipeline_version", "input_fingerprint", "code_fingerprint", "tools", "configuration"):
        assert manifest[key]
    assert manifest["configuration"]["ftfy"]["uncurl_quotes"] is False
    for name in ("documents", "segments", "turns", "rejects"):
        entry = manifest["tables"][name]
        file = seed_release / entry["files"][0]["path"]
        assert file_sha256(file) == entry["files"][0]["sha256"]
        assert pq.read_metadata(file).num_rows == entry["rows"]
        assert [f["name"] for f in entry["schema"]] == pq.read_schema(file).names
    assert manifest["tables"]["documents"]["rows"] == 5
    assert verify_release(seed_release) == []
    listed = {f["path"] for f in manifest["files"]}
    assert listed == {"README.md", "croissant.json", "report.html", "changes.json", "CHANGELOG.md"}
    card = (seed_release / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: turns" in card and "| speaker_label |" in card


def test_rebuild_without_changes_makes_no_release_and_edits_bump_versions(raw_copy, tmp_path):
    releases = tmp_path / "releases"
    assert build_release(str(raw_copy), str(releases))["version"] == "1.0.0"
    again = build_release(str(raw_copy), str(releases))
    assert again["version"] is None and again["latest"] == "1.0.0"
    assert list_releases(releases) == ["1.0.0"]

    edited = raw_copy / "004_bba586f07c384d09.txt"
    edited.write_text(edited.read_text() + "\n\nA new closing paragraph was added by the site today.")
    patch = build_release(str(raw_copy), str(releases))
    assert patch["version"] == "1.0.1"
    changes = json.loads((releases / "1.0.1" / "changes.json").read_text())
    assert changes["previous_version"] == "1.0.0"
    assert changes["documents_changed"] == ["004_bba586f07c384d09"]
    assert changes["documents_added"] == [] and changes["rows"]["segments"]["delta"] == 1
    assert changes["turns_added"] == [] and changes["turns_removed"] == []
    manifest = json.loads((releases / "1.0.1" / "manifest.json").read_text())
    assert manifest["changes"]["bump"] == "patch" and manifest["changes"]["documents_changed"] == 1
    changelog = (releases / "1.0.1" / "CHANGELOG.md").read_text()
    assert "## 1.0.1 (patch release against 1.0.0)" in changelog and "`004_bba586f07c384d09`" in changelog

    (raw_copy / "new.txt").write_text("Brand new article text about the summit, reported today.")
    minor = build_release(str(raw_copy), str(releases))
    assert minor["version"] == "1.1.0"
    assert list_releases(releases) == ["1.0.0", "1.0.1", "1.1.0"]
    assert json.loads((releases / "1.1.0" / "changes.json").read_text())["documents_added"] == ["new"]
    catalog = json.loads((releases / "catalog.json").read_text())
    assert catalog["latest"] == "1.1.0"
    assert [e["version"] for e in catalog["releases"]] == ["1.0.0", "1.0.1", "1.1.0"]
    # earlier releases are untouched
    assert verify_release(releases / "1.0.0") == []

    # removing the transcript: a minor release whose turns are all removed
    (raw_copy / "001_3bccebe78fcd7704.txt").unlink()
    assert build_release(str(raw_copy), str(releases))["version"] == "1.2.0"
    changes = json.loads((releases / "1.2.0" / "changes.json").read_text())
    assert changes["documents_removed"] == ["001_3bccebe78fcd7704"]
    assert len(changes["turns_removed"]) == 13 and changes["rows"]["turns"]["after"] == 0


def test_builds_are_byte_identical(seed_release, tmp_path):
    """Same inputs and code: the same Parquet bytes (only created_at differs)."""
    releases = tmp_path / "again"
    build_release(str(ROOT / "raw"), str(releases))
    again = releases / "1.0.0"
    for name in ("documents", "segments", "turns", "rejects"):
        assert (again / f"{name}.parquet").read_bytes() == (seed_release / f"{name}.parquet").read_bytes(), name
    for name in ("changes.json", "CHANGELOG.md"):
        assert (again / name).read_bytes() == (seed_release / name).read_bytes(), name
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (seed_release, again))
    for manifest in (first, second):  # the card, Croissant and report carry the creation date
        manifest.pop("created_at"), manifest.pop("files")
    assert first == second


def test_shard_tasks_run_a_bounded_number_at_a_time(raw_copy, tmp_path, monkeypatch):
    """Prefect's thread pool is unbounded: every shard of a pass would run,
    and hold its documents, at once.  The flow's pool runs SHARD_THREADS."""
    real, lock = build_flow.shards.prepare_batch, threading.Lock()
    running, most = [0], [0]

    def counted(*args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.3)  # long enough for an unbounded pool to start the other shards
            return real(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(build_flow.shards, "prepare_batch", counted)
    summary = build_release(str(raw_copy), str(tmp_path / "releases"), batch_size=1)
    assert summary["work"]["prepared"] == len(list(raw_copy.iterdir())) > build_flow.SHARD_THREADS
    assert most[0] == build_flow.SHARD_THREADS


def test_the_release_tables_are_written_one_at_a_time(raw_copy, tmp_path, monkeypatch):
    """Each table writer holds a row group's rows and their copy: written
    side by side, the writers were the top of a 1 GB build's memory."""
    lock, open_, most, names = threading.Lock(), [0], [0], []

    class Counted(build_flow.release.TableWriter):
        def __init__(self, path, *args):
            super().__init__(path, *args)
            with lock:
                open_[0] += 1
                most[0] = max(most[0], open_[0])
                names.append(path.stem)

        def write(self, table):
            time.sleep(0.05)  # long enough for a second writer to open, were there one
            super().write(table)

        def close(self):
            with lock:
                open_[0] -= 1
            return super().close()

    monkeypatch.setattr(build_flow.release, "TableWriter", Counted)
    summary = build_release(str(raw_copy), str(tmp_path / "releases"))
    assert sorted(names) == sorted(summary["rows"]) and len(names) == 6
    assert most[0] == 1
    assert verify_release(Path(summary["path"])) == []


def _failed_build(raw_copy, releases, monkeypatch, edit) -> str:
    """Build with each batch's turns table passed through `edit`: the build
    must fail and write no release; returns what it reported."""
    real = build_flow.build_tables

    def edited(*args):
        tables = real(*args)
        tables["turns"] = edit(tables["turns"])
        return tables

    monkeypatch.setattr(build_flow, "build_tables", edited)
    with pytest.raises(ValidationFailed) as failure:
        build_release(str(raw_copy), str(releases))
    assert list_releases(releases) == []
    return str(failure.value)


def _replaced(turns, name: str, values: list):
    import pyarrow as pa

    index = turns.schema.get_field_index(name)
    return turns.set_column(index, turns.schema.field(index), pa.array(values, turns.schema.field(index).type))


def test_failed_validation_writes_no_release(raw_copy, tmp_path, monkeypatch):
    releases = tmp_path / "releases"
    report = _failed_build(raw_copy, releases, monkeypatch,
                           lambda turns: _replaced(turns, "char_end", [10**9] * turns.num_rows))
    assert "turns: span lies inside the document text" in report
    assert not list(releases.glob(".staging-*"))


def test_assembled_turns_are_checked_against_the_speakers_table(raw_copy, tmp_path, monkeypatch):
    """The speakers table is made in the corpus pass from the documents'
    summaries; the turns rows are made later, in assembly.  A turn whose
    speaker_id came out of assembly different names no speakers row, and
    the build fails naming that speaker_id: the check reads the turns as
    assembled, not the summaries the speakers table was made from."""
    def respoken(turns):
        ids = turns.column("speaker_id").to_pylist()
        return _replaced(turns, "speaker_id", ["nobody-of-the-speakers-table", *ids[1:]]) if ids else turns

    report = _failed_build(raw_copy, tmp_path / "releases", monkeypatch, respoken)
    assert "turns: speaker_id names a row of speakers" in report
    assert "nobody-of-the-speakers-table" in report


def test_cli_build_prints_no_traceback_or_error(raw_copy, tmp_path):
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "INFO"}
    run = subprocess.run(
        [sys.executable, "-m", "pressroom.cli", "build", "--raw", str(raw_copy), "--releases", str(tmp_path / "rel")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "release 1.0.0 written" in run.stdout
    assert "Traceback" not in output and "| ERROR" not in output and "Error logging to API" not in output


def test_cli_user_errors_are_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pressroom.cli", "build", "--raw", str(tmp_path / "missing")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == f"pressroom: raw folder not found: {tmp_path / 'missing'} (hint: pass --raw DIR)"
