"""Releases: immutable, versioned folders of Parquet tables with a manifest.

A release is written to a staging folder beside the releases and renamed
into place whole, so a reader sees all of it or nothing.  Nothing here ever
modifies or deletes a published release.

Versioning (semantic, in the spirit of Croissant's data versioning):

* MAJOR when the release contract changed incompatibly (`CONTRACT_VERSION`'s
  major number);
* MINOR when documents were added or removed;
* PATCH when only the cleaning of existing documents changed (new code or
  configuration, or a raw file edited in place).

A build whose inputs, code and configuration match the latest release makes
no new release.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import pressroom
from pressroom.cache import PackStore
from pressroom.changes import ReleaseSummary, changelog, compare, read_summary, summarize
from pressroom.changes import to_json as changes_json
from pressroom.faults import checkpoint
from pressroom.ingest import RawDocument, Reject
from pressroom.normalize import FTFY_OPTIONS
from schemas.contract import CONTRACT_VERSION, TABLES_BY_NAME

MANIFEST = "manifest.json"
CATALOG = "catalog.json"
CHANGES = "changes.json"
CHANGELOG = "CHANGELOG.md"
CARD = "README.md"
LOCK = ".build.lock"
STAGING_PREFIX = ".staging-"
VERSION_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# zstd's default level: on the 200 MB benchmark corpus level 9 made the tables
# 59 MiB instead of 75 but took 9.2 s to encode instead of 2.0
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "2.0",
}
CODE_PACKAGES = ("pressroom", "schemas", "flows")


class ReleaseError(RuntimeError):
    """A release could not be made (the reason is in the message)."""


class BuildLocked(ReleaseError):
    pass


# --- fingerprints ------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_fingerprint(documents: Sequence[RawDocument], rejects: Sequence[Reject]) -> str:
    """sha256 over every input document's path and content hash (documents
    are `RawDocument`s or planned `sources.Item`s)."""
    entries = sorted(
        [(d.source_path, getattr(d, "source_sha256", None) or d.sha256) for d in documents]
        + [(r.source_path, r.source_sha256 or "unreadable") for r in rejects]
    )
    return _sha256("".join(f"{p}\t{h}\n" for p, h in entries).encode())


def code_fingerprint(root: Path | None = None) -> str:
    """sha256 over the pipeline's own source files (pressroom, schemas, flows)."""
    root = root or Path(pressroom.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    import ftfy
    import pandera

    return {
        "pressroom": pressroom.__version__,
        "pyarrow": pa.__version__,
        "ftfy": ftfy.__version__,
        "pandera": pandera.__version__,
    }


def configuration() -> dict:
    return {"ftfy": FTFY_OPTIONS, "parquet": PARQUET_OPTIONS}


def build_fingerprint(input_fp: str, code_fp: str) -> str:
    config = json.dumps(configuration(), sort_keys=True)
    return _sha256(f"{input_fp}\n{code_fp}\n{config}\n{CONTRACT_VERSION}".encode())


# --- the releases folder -----------------------------------------------------


def parse_version(name: str) -> tuple[int, int, int] | None:
    match = VERSION_DIR.match(name)
    return tuple(map(int, match.groups())) if match else None  # type: ignore[return-value]


def list_releases(releases_root: Path) -> list[str]:
    """Published versions, oldest first."""
    if not releases_root.is_dir():
        return []
    versions = [p.name for p in releases_root.iterdir() if p.is_dir() and parse_version(p.name)]
    return sorted(versions, key=parse_version)


def read_manifest(release_dir: Path) -> dict:
    return json.loads((release_dir / MANIFEST).read_text())


def latest_manifest(releases_root: Path) -> dict | None:
    versions = list_releases(releases_root)
    return read_manifest(releases_root / versions[-1]) if versions else None


@contextlib.contextmanager
def build_lock(releases_root: Path) -> Iterator[None]:
    """One build at a time per releases folder; a second fails at once."""
    releases_root.mkdir(parents=True, exist_ok=True)
    with open(releases_root / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(
                f"another build is writing to {releases_root} (lock {releases_root / LOCK}); "
                "wait for it to finish and run again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_staging(releases_root: Path) -> list[str]:
    """Delete staging folders left by an interrupted build (call under the lock)."""
    removed = []
    for path in releases_root.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


# --- versions -----------------------------------------------------------------


def bump_kind(previous: dict | None, changes: dict) -> str:
    """major, minor or patch: see the module docstring."""
    if previous is None:
        return "initial"
    if previous.get("contract_version", "1").split(".")[0] != CONTRACT_VERSION.split(".")[0]:
        return "major"
    if changes["documents_added"] or changes["documents_removed"]:
        return "minor"
    return "patch"


def next_version(previous: dict | None, bump: str) -> str:
    if previous is None:
        return "1.0.0"
    major, minor, patch = parse_version(previous["version"])
    return {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[bump]


# --- catalog -----------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def catalog_entry(version: str, manifest: dict, manifest_sha256: str) -> dict:
    return {
        "version": version,
        "created_at": manifest["created_at"],
        "contract_version": manifest["contract_version"],
        "build_fingerprint": manifest["build_fingerprint"],
        "manifest_sha256": manifest_sha256,
        "rows": {name: entry["rows"] for name, entry in manifest["tables"].items()},
    }


def refresh_catalog(releases_root: Path) -> dict:
    """Rewrite `catalog.json` from the releases on disk (it is derived state:
    a crash between a release and its catalog entry heals on the next run)."""
    entries = [
        catalog_entry(v, read_manifest(releases_root / v), file_sha256(releases_root / v / MANIFEST))
        for v in list_releases(releases_root)
    ]
    catalog = {"latest": entries[-1]["version"] if entries else None, "releases": entries}
    _write_atomic(releases_root / CATALOG, json.dumps(catalog, indent=2, sort_keys=True) + "\n")
    return catalog


# --- writing -----------------------------------------------------------------


@dataclass
class ReleaseResult:
    version: str | None  # None: nothing changed, no release made
    path: Path | None
    manifest: dict | None
    message: str


ROW_GROUP_BYTES = 64 << 20
"""Rows per row group are chosen per table from the schema (about this many
bytes of Arrow data), never from how the rows arrive, so a table written
part by part has the same bytes as one written whole."""
ROW_GROUP_ROWS = {"documents": 8_192, "segments": 131_072, "turns": 65_536}
DEFAULT_ROW_GROUP_ROWS = 131_072


class TableWriter:
    """One Parquet file written from parts in order, with bounded memory:
    rows are buffered until a row group is full, then written."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS):
        self.path, self.schema, self.row_group_rows = path, schema, row_group_rows
        self.writer = pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.buffer.append(table.cast(self.schema) if table.schema != self.schema else table)
        self.buffered += table.num_rows
        self.rows += table.num_rows
        while self.buffered >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, rows: int) -> None:
        pending = pa.concat_tables(self.buffer)
        # one contiguous chunk: Parquet pages would otherwise follow how the rows arrived
        group = pending.slice(0, rows).combine_chunks()
        rest = pending.slice(rows)
        # the parts go before the row group is encoded: held with the copy, a
        # row group's data would be in memory twice while it is written
        del pending
        self.buffer, self.buffered = ([rest] if rest.num_rows else []), rest.num_rows
        self.writer.write_table(group, row_group_size=rows)

    def close(self) -> int:
        if self.buffered:
            self._flush(self.buffered)
        self.writer.close()
        return self.rows


def _write_table(table: pa.Table, path: Path, name: str | None = None) -> None:
    writer = TableWriter(path, table.schema, ROW_GROUP_ROWS.get(name, DEFAULT_ROW_GROUP_ROWS))
    writer.write(table)
    writer.close()


@dataclass
class StreamedTables:
    """Tables written part by part (a sharded build): `write(staging)` writes
    `<name>.parquet` for every table and returns the rows of each; `summary`
    is what `changes.compare` needs, gathered while the parts were made."""

    write: Callable[[Path], dict[str, int]]
    summary: ReleaseSummary
    schemas: dict[str, pa.Schema]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_KEPT_SUMMARY = "release-summary"
"""The summary of the last release written, kept in a build cache."""


def _summary_stamp(manifest: dict) -> tuple:
    """What a kept summary must match: the release's version and the
    checksums its manifest gives the documents and turns files."""
    return (manifest["version"], *(file["sha256"] for name in ("documents", "turns")
                                   for file in manifest["tables"][name]["files"]))


def previous_summary(releases_root: Path, manifest: dict, cache: Path | None = None) -> ReleaseSummary:
    """The summary of the release `manifest` describes: the one the build
    that wrote it kept in `cache`, when its version and checksums match,
    else read from its files (`changes.read_summary`: every turn's text
    hashed again, 3.4 s at 1 GB of input)."""
    if cache is not None:
        kept = PackStore(cache).recall(_KEPT_SUMMARY)
        if (isinstance(kept, tuple) and len(kept) == 2 and kept[0] == _summary_stamp(manifest)
                and isinstance(kept[1], ReleaseSummary)):
            return kept[1]
    return read_summary(releases_root / manifest["version"])


def write_release(
    releases_root: Path,
    tables: dict[str, pa.Table] | StreamedTables,
    fingerprints: dict[str, str],
    describe: Callable[[dict, Path, dict], dict[str, str]] | None = None,
    now: dt.datetime | None = None,
    cache: Path | None = None,
) -> ReleaseResult:
    """Write validated tables as a new release (call under `build_lock`):
    whole Arrow tables, or `StreamedTables` written part by part.

    `describe(manifest, staging_dir, changes)` returns further text files
    for the release (dataset card, Croissant metadata, report), by file name;
    it may read the tables already written to `staging_dir`.  `changes` is
    what changes.json holds, for it not to be read and parsed again.

    With a build `cache` folder, the new release's summary is kept there
    for the next build to compare against (`previous_summary`)."""
    previous = latest_manifest(releases_root)
    if previous and previous.get("build_fingerprint") == fingerprints["build"]:
        return ReleaseResult(None, None, previous, f"up to date: release {previous['version']} has the same inputs and code")
    before = previous_summary(releases_root, previous, cache) if previous else None
    streamed = isinstance(tables, StreamedTables)
    summary = tables.summary if streamed else summarize(None, tables)
    changes = compare(before, summary)
    bump = bump_kind(previous, changes)
    version = next_version(previous, bump)
    changes["version"] = version
    final = releases_root / version
    if final.exists():
        raise ReleaseError(f"release {version} already exists in {releases_root}")

    staging = releases_root / f"{STAGING_PREFIX}{version}-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        table_entries = {}
        if streamed:
            rows, schemas = tables.write(staging), tables.schemas
        else:
            rows, schemas = {}, {}
            for name, table in tables.items():
                checkpoint("writing-tables")
                _write_table(table, staging / f"{name}.parquet", name)
                rows[name], schemas[name] = table.num_rows, table.schema
        for name, schema in schemas.items():
            filename = f"{name}.parquet"
            table_entries[name] = {
                "files": [{"path": filename, "sha256": file_sha256(staging / filename),
                           "bytes": (staging / filename).stat().st_size}],
                "rows": rows[name],
                "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema],
                "description": TABLES_BY_NAME[name].description,
            }
        created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
        manifest = {
            "version": version,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "pipeline_version": pressroom.__version__,
            "contract_version": CONTRACT_VERSION,
            "input_fingerprint": fingerprints["input"],
            "code_fingerprint": fingerprints["code"],
            "build_fingerprint": fingerprints["build"],
            "tools": tool_versions(),
            "configuration": configuration(),
            "tables": table_entries,
            "changes": {
                "previous_version": changes["previous_version"], "bump": bump,
                **{k: len(changes[k]) for k in changes if k.startswith(("documents_", "turns_"))},
                "rows_delta": {k: v["delta"] for k, v in changes["rows"].items()},
            },
        }
        (staging / CHANGES).write_text(changes_json(changes, indent=2, sort_keys=True) + "\n")
        (staging / CHANGELOG).write_text(changelog(changes, bump))
        if describe is not None:
            # a draft manifest for describe() to read; the final one follows
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
            for filename, text in describe(manifest, staging, changes).items():
                (staging / filename).write_text(text)
        # the manifest last: it lists every other file with its checksum
        manifest["files"] = [
            {"path": p.name, "sha256": file_sha256(p), "bytes": p.stat().st_size}
            for p in sorted(staging.iterdir()) if p.suffix != ".parquet" and p.name != MANIFEST
        ]
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
        for path in staging.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(staging)
        checkpoint("before-rename")
        os.rename(staging, final)
        _fsync_dir(releases_root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if cache is not None:
        PackStore(cache).remember(_KEPT_SUMMARY, (_summary_stamp(manifest), replace(summary, version=version)))
    refresh_catalog(releases_root)
    return ReleaseResult(version, final, manifest, f"release {version} written to {final}")


def release_files(manifest: dict) -> list[dict]:
    """Every file a manifest vouches for (tables and the other files), each
    with path and sha256."""
    tables = [file for entry in manifest["tables"].values() for file in entry["files"]]
    return tables + manifest.get("files", [])


def verify_release(release_dir: Path) -> list[str]:
    """Problems with a release on disk: missing files or checksum mismatches."""
    problems = []
    for file in release_files(read_manifest(release_dir)):
        path = release_dir / file["path"]
        if not path.is_file():
            problems.append(f"{file['path']} is missing")
        elif file_sha256(path) != file["sha256"]:
            problems.append(f"{file['path']} does not match its sha256")
    return problems
