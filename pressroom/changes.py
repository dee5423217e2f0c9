"""What changed between two releases: documents, turns and rows.

`compare` works on plain summaries of a release (`summarize`), so the same
code serves the build (new tables against the previous release) and
`pressroom diff A B` (two releases on disk).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


TURN_DIGESTS = pa.schema([("id", pa.string()), ("hash", pa.string())])
"""A release's turns as `compare` needs them: each turn's id and the hash
of its speaker, type and text (`turn_digests`).  An Arrow table, not a
dict: a million turns take ~30 bytes each instead of ~250."""

TEXT_BATCH_ROWS = 16_384
"""Turns whose texts `read_summary` holds at once."""


def stream_parquet(path: Path, **options) -> pq.ParquetFile:
    """A Parquet file read a page at a time: `iter_batches` on it holds a
    batch's pages, not a whole row group's column chunk (documents.text in
    a row group of 8,192 documents is ~55 MB; on the 200 MB release, reading
    the texts' lengths peaked 188 MiB above the process's start with
    ParquetFile's defaults, 66 MiB streamed)."""
    return pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False, **options)


@dataclass(frozen=True)
class ReleaseSummary:
    version: str | None
    documents: dict[str, str]  # doc_id -> source sha256
    turns: pa.Table  # TURN_DIGESTS: turn id, hash of speaker, type and text
    rows: dict[str, int]


def _turn_hash(speaker: str, turn_type: str, text: str) -> str:
    return hashlib.sha256(f"{speaker}\0{turn_type}\0{text}".encode()).hexdigest()[:16]


def turn_digests(turns: pa.Table | pa.RecordBatch) -> pa.Table:
    """TURN_DIGESTS of the rows of a turns table (id, speaker, turn_type, text)."""
    hashes = [_turn_hash(s, k, t) for s, k, t in zip(
        turns.column("speaker").to_pylist(), turns.column("turn_type").to_pylist(), turns.column("text").to_pylist())]
    return pa.table([turns.column("id"), pa.array(hashes, pa.string())], schema=TURN_DIGESTS)


def no_turns() -> pa.Table:
    return TURN_DIGESTS.empty_table()


def summarize(version: str | None, tables: dict[str, pa.Table]) -> ReleaseSummary:
    docs = tables["documents"]
    return ReleaseSummary(
        version,
        dict(zip(docs.column("doc_id").to_pylist(), docs.column("source_sha256").to_pylist())),
        turn_digests(tables["turns"]),
        {name: t.num_rows for name, t in tables.items()},
    )


def read_summary(release_dir: Path) -> ReleaseSummary:
    """Summary of a release on disk (reads only the columns it needs, the
    turns' texts a batch at a time)."""
    from pressroom.release import read_manifest

    manifest = read_manifest(release_dir)
    documents = pq.read_table(release_dir / "documents.parquet", columns=["doc_id", "source_sha256"])
    turns = stream_parquet(release_dir / "turns.parquet")
    batches = turns.iter_batches(TEXT_BATCH_ROWS, columns=["id", "speaker", "turn_type", "text"], use_threads=False)
    digests = pa.concat_tables([no_turns(), *map(turn_digests, batches)])
    rows = {name: entry["rows"] for name, entry in manifest["tables"].items()}
    return ReleaseSummary(manifest["version"], dict(zip(documents.column("doc_id").to_pylist(),
                                                        documents.column("source_sha256").to_pylist())),
                          digests, rows)


def _diff(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return added, removed, changed


class Ids(Sequence):
    """A list of ids held as one Arrow string array: a first build lists
    every turn, and a million turn ids take ~40 MB so, ~90 MB as Python
    strings.  A sequence of str (a slice is a list); equal to a list of
    the same ids; `to_json` writes it as a JSON list."""

    def __init__(self, array: pa.Array):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.array))
            if step < 0:
                return list(self)[index]
            return self.array.slice(start, max(stop - start, 0)).to_pylist()[::step]
        return self.array[index].as_py()

    def __iter__(self):
        for start in range(0, len(self.array), 65_536):
            yield from self.array.slice(start, 65_536).to_pylist()

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Ids({len(self)} ids)"


def to_json(changes: dict, **options) -> str:
    """`json.dumps` of a changes record, its Ids as lists."""
    return json.dumps(changes, default=_as_list, **options)


def _as_list(value) -> list:
    if isinstance(value, Ids):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _sorted_ids(ids: pa.ChunkedArray | pa.Array) -> Ids:
    """As sorted(ids.to_pylist()): Arrow orders strings by their UTF-8 bytes,
    which is the order of their code points."""
    ordered = ids.take(pc.sort_indices(ids))
    return Ids(ordered.combine_chunks() if isinstance(ordered, pa.ChunkedArray) else ordered)


def _diff_turns(before: pa.Table, after: pa.Table) -> tuple[Ids, Ids, Ids]:
    """`_diff` of two TURN_DIGESTS tables, in Arrow."""
    added = after.column("id").filter(pc.invert(pc.is_in(after.column("id"), value_set=before.column("id"))))
    removed = before.column("id").filter(pc.invert(pc.is_in(before.column("id"), value_set=after.column("id"))))
    both = after.join(before, "id", join_type="inner", left_suffix="_after", right_suffix="_before")
    changed = both.filter(pc.not_equal(both.column("hash_after"), both.column("hash_before"))).column("id")
    return _sorted_ids(added), _sorted_ids(removed), _sorted_ids(changed)


def compare(previous: ReleaseSummary | None, current: ReleaseSummary) -> dict:
    """The changes record (`changes.json`) of `current` against `previous`."""
    before = previous or ReleaseSummary(None, {}, no_turns(), {})
    docs_added, docs_removed, docs_changed = _diff(before.documents, current.documents)
    turns_added, turns_removed, turns_changed = _diff_turns(before.turns, current.turns)
    tables = sorted(set(before.rows) | set(current.rows))
    return {
        "previous_version": before.version,
        "version": current.version,
        "documents_added": docs_added,
        "documents_removed": docs_removed,
        "documents_changed": docs_changed,
        "turns_added": turns_added,
        "turns_removed": turns_removed,
        "turns_changed": turns_changed,
        "rows": {
            name: {"before": before.rows.get(name, 0), "after": current.rows.get(name, 0),
                   "delta": current.rows.get(name, 0) - before.rows.get(name, 0)}
            for name in tables
        },
    }


def _listing(title: str, items: list[str], limit: int = 50) -> list[str]:
    if not items:
        return []
    lines = [f"### {title} ({len(items)})", ""]
    lines += [f"- `{item}`" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- ... and {len(items) - limit} more (see changes.json)")
    return lines + [""]


def changelog(changes: dict, bump: str | None = None) -> str:
    """A readable CHANGELOG.md for one release."""
    version, previous = changes["version"], changes["previous_version"]
    head = f"## {version}" + (f" ({bump} release against {previous})" if previous else " (first release)")
    lines = ["# Changelog", "", head, "", "| table | before | after | delta |", "|---|---|---|---|"]
    for name, r in changes["rows"].items():
        lines.append(f"| {name} | {r['before']} | {r['after']} | {r['delta']:+d} |")
    lines.append("")
    lines += _listing("Documents added", changes["documents_added"])
    lines += _listing("Documents removed", changes["documents_removed"])
    lines += _listing("Documents changed (new content hash)", changes["documents_changed"])
    lines += _listing("Turns added", changes["turns_added"])
    lines += _listing("Turns removed", changes["turns_removed"])
    lines += _listing("Turns changed (speaker, type or text)", changes["turns_changed"])
    return "\n".join(lines)
