"""The release report: one self-contained HTML page per release.

`render_report(release_dir)` reads a release folder (its Parquet tables,
`manifest.json`, `changes.json` and, when present, `quotes.parquet`) and
returns one page a person can read on a laptop: rows per table and their
change against the previous release, document lengths, the lines removed
(by reason and by site), the repeated highlights removed beside the copy
that was kept, turns per speaker and role, each transcript's questions and
the answers linked to them, quote links, and quality figures against gold
labels when `gold_dir` is given.

The page works offline and asks for nothing: CSS in one <style>, charts
drawn here as inline SVG, no script, no font, no image, and a
Content-Security-Policy that forbids loading any resource.  Every text from
the data is escaped.  The same release renders to the same bytes.

The numbers a test (or a reader's script) may compare with the tables carry
`data-metric` (and, per group, `data-key`) attributes; see `METRICS`.
"""

from __future__ import annotations

import bisect
import html
import json
import math
import os
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pressroom.changes import Ids, stream_parquet

REPORT_FILE = "report.html"
QUOTES_FILE = "quotes.parquet"

METRICS = {
    "version": "the release's version",
    "rows": "rows of a table (data-key: table)",
    "rows-before": "rows in the previous release (data-key: table)",
    "rows-delta": "change in rows against the previous release (data-key: table)",
    "documents-added": "documents added against the previous release",
    "documents-removed": "documents removed against the previous release",
    "documents-changed": "documents changed against the previous release",
    "turns-added": "turns added", "turns-removed": "turns removed", "turns-changed": "turns changed",
    "doc-chars": "characters of a document's cleaned text (data-key: doc_id)",
    "removed-lines": "raw lines in segments not plainly kept (all of them)",
    "removed-lines-by-reason": "raw lines in segments not kept, by reason (data-key: reason)",
    "removed-segments-by-reason": "segments not kept, by reason (data-key: reason)",
    "removed-lines-by-site": "raw lines in segments not kept, by documents.site (data-key: site)",
    "duplicate-segments": "segments with status duplicate",
    "duplicate-lines": "raw lines in duplicate segments",
    "turns-by-speaker": "turns per speaker (data-key: speaker)",
    "turns-by-role": "turns per speaker_role (data-key: role)",
    "turns-by-type": "turns per turn_type (data-key: turn_type)",
    "qa-questions": "questions in a transcript (data-key: doc_id)",
    "qa-answers-linked": "answers with a question_id in a transcript (data-key: doc_id)",
    "quotes": "rows of quotes.parquet", "quotes-matched": "quotes matched to a turn",
    "quotes-by-method": "quotes per match_method (data-key: method)",
    "quality": "passed/total of a quality figure (data-key: figure; data-passed, data-total)",
    "quality-extra-turns": "turns with no gold turn (from false labels)",
}

NO_SITE = "(no site)"
NO_REASON = "(no reason)"
MAX_BARS = 25  # bars per chart; the rest are summed into one bar
MAX_DOCUMENT_BARS = 40  # more documents than this: a histogram of lengths instead
MAX_TABLE_ROWS = 200
MAX_TRANSCRIPTS = 40
MAX_HIGHLIGHT_EXAMPLES = 6
MAX_QUOTES = 60
SNIPPET = 260

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
STATUS_COLOURS = {"kept": "#59a14f", "trimmed": "#edc948", "boilerplate": "#e15759", "duplicate": "#f28e2b"}
STATUS_ORDER = ("boilerplate", "duplicate", "trimmed")
TURN_TYPE_COLOURS = {"statement": "#4e79a7", "question": "#f28e2b", "answer": "#59a14f",
                     "moderation": "#bab0ac", "other": "#9c755f"}
DOC_TYPE_COLOURS = {"transcript": "#4e79a7", "article": "#76b7b2", "commentary": "#b07aa1", "other": "#bab0ac"}
OTHER_COLOUR = "#bab0ac"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def snippet(text: str | None, limit: int = SNIPPET) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fmt(n: float | int) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}"


def metric(name: str, value: object, key: str | None = None, tag: str = "td", cls: str = "num") -> str:
    """An element holding one number of the page, findable by its data attributes."""
    key_attr = f' data-key="{esc(key)}"' if key is not None else ""
    shown = fmt(value) if isinstance(value, int) else esc(value)
    return f'<{tag} class="{cls}" data-metric="{esc(name)}"{key_attr}>{shown}</{tag}>'


# --- reading a release ----------------------------------------------------------

# The columns the page uses.  Segments and turns are the large tables (about a
# million segments in a 200 MB release): they stay Arrow tables, summed and counted
# column by column, and only the few rows the page shows become Python dicts.
SEGMENT_COLUMNS = ("doc_id", "segment_index", "status", "reason", "line_count")
EXAMPLE_COLUMNS = ("doc_id", "segment_index", "line_start", "line_end", "status", "reason",
                   "duplicate_of", "similarity", "line_count", "text")
DOCUMENT_COLUMNS = ("doc_id", "doc_type", "title", "site", "published", "raw_nonblank_lines")
TURN_COLUMNS = ("id", "doc_id", "turn_index", "speaker", "speaker_label", "speaker_role", "turn_type",
                "question_id", "reply_to", "translated", "line_start")
TURN_COUNT_COLUMNS = ("doc_id", "speaker", "speaker_role", "turn_type")
"""The columns the report holds for every row: SEGMENT_COLUMNS and
TURN_COUNT_COLUMNS (the turns' other columns, TURN_COLUMNS, only for the
turns shown).  Texts are read a batch at a time (documents' lengths) or for
the rows shown (turns, highlights), and the string columns held for every
row are read dictionary-encoded (DICTIONARY_COLUMNS): the page is made with
bounded memory (at 1 GB of input, holding every text took 2.7 GB)."""
DICTIONARY_COLUMNS = ("doc_id", "status", "reason", "speaker", "speaker_role", "turn_type")
"""Read as dictionaries, one per column (`_read_encoded`):
a doc_id repeated by a document's hundred segments is held once, each row
holds a 4-byte index."""
TEXT_BATCH_ROWS = 1024
DICTIONARY_BATCH_ROWS = 65_536
"""Rows per batch of a dictionary-encoded read: each batch holds its own
copy of its row group's dictionary until they are unified (segments of the
1 GB release: a peak of 947 MiB in batches of 1,024 rows, 309 in 65,536)."""

Pair = tuple[dict, dict | None]  # a duplicate segment and the original it repeats


@dataclass
class ReleaseData:
    """The parts of a release the report shows.

    Rejects are plain rows.  Documents (DOCUMENT_COLUMNS and "chars", the
    length of the cleaned text), segments, turns (the columns above that the
    release has) and quotes are Arrow tables: the page shows sums and counts
    over them and only a few of their rows.  `segments` holds only the
    segments not plainly kept (`removed_segments`): every segment figure of
    the page is over those, and the kept ones are most of a release."""

    path: Path
    manifest: dict
    changes: dict | None
    rows: dict[str, int]
    documents: pa.Table
    segments: pa.Table
    turns: pa.Table
    rejects: list[dict]
    quotes: pa.Table | None
    highlights: list[Pair] = field(default_factory=list)  # see highlight_examples
    segment_texts: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", self.path.name))


def _present(path: Path, columns: Sequence[str]) -> list[str]:
    """Those of `columns` the table at `path` has."""
    names = pq.read_schema(path).names
    return [c for c in columns if c in names]


def _read_table(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """The table at `path`, with those of `columns` it has (all columns
    without `columns`)."""
    return pq.read_table(path, columns=_present(path, columns) if columns else None)


def _read_where(path: Path, columns: Sequence[str], batch_rows: int,
                keep: Callable[[pa.RecordBatch], pa.Array] | None = None, encoded: bool = False,
                row_groups: Callable[[pq.FileMetaData], list[int]] | None = None) -> pa.Table:
    """Those of `columns` the table at `path` has, read `batch_rows` at a
    time, every row or the rows `keep` marks true in each batch; with
    `encoded`, the DICTIONARY_COLUMNS among them as dictionary arrays
    sharing one dictionary per column; with `row_groups`, only the row
    groups it picks from the file's metadata are read."""
    wanted = _present(path, columns)
    source = stream_parquet(path, read_dictionary=[c for c in wanted if c in DICTIONARY_COLUMNS] if encoded else None)
    picked = row_groups(source.metadata) if row_groups is not None else None
    batches = source.iter_batches(batch_rows, row_groups=picked, columns=wanted, use_threads=False)
    if keep is not None:
        batches = (batch.filter(keep(batch)) for batch in batches)
    table = pa.Table.from_batches(batches, pa.schema([source.schema_arrow.field(c) for c in wanted]))
    return table.unify_dictionaries() if encoded else table


def _read_matching(path: Path, columns: Sequence[str], key: str, values: Sequence[str]) -> pa.Table:
    """The rows of the table at `path` whose `key` is one of `values`, with
    those of `columns` it has, read TEXT_BATCH_ROWS at a time.  pyarrow's
    filtered read (`read_table(filters=...)`) decodes whole row groups,
    several at once, texts and all, before it filters: a few rows of the
    segments took ~70 MiB on a 50 MB release."""
    value_set = pa.array(list(values), pa.string())
    return _read_where(path, columns, TEXT_BATCH_ROWS, lambda batch: pc.is_in(batch.column(key), value_set=value_set),
                       row_groups=lambda metadata: row_groups_holding(metadata, key, values))


def row_groups_holding(metadata: pq.FileMetaData, key: str, values: Sequence[str]) -> list[int]:
    """The row groups that may hold a row whose `key` is one of `values`:
    those whose statistics of `key` (min and max) span one of them, and
    those without statistics.  The release's tables are sorted by doc_id,
    so a few documents' rows are in a row group or two (the report's
    examples, the first documents, read 1 of the 8 row groups of the
    segments at 200 MB instead of all, texts and all)."""
    column = metadata.schema.names.index(key)
    ordered = sorted(values)
    picked = []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min, str) or not isinstance(stats.max, str):
            picked.append(group)  # nothing to rule it out by (no statistics, or not as text)
            continue
        first = bisect.bisect_left(ordered, stats.min)
        if first < len(ordered) and ordered[first] <= stats.max:
            picked.append(group)
    return picked


def _read_encoded(path: Path, columns: Sequence[str],
                  keep: Callable[[pa.RecordBatch], pa.Array] | None = None) -> pa.Table:
    """Those of `columns` the table at `path` has, every row (or the rows
    `keep` marks true, a batch at a time), the DICTIONARY_COLUMNS among them
    as dictionary arrays sharing one dictionary per column (so that Arrow
    groups by them; some kernels, sort_by, count_distinct and hash_first
    among them, take none: `_plain` them first)."""
    return _read_where(path, columns, DICTIONARY_BATCH_ROWS, keep, encoded=True)


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A dictionary column as plain strings (other columns as they are)."""
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _distinct(column: pa.ChunkedArray | pa.Array) -> int:
    """Distinct values of a column, null counted as one (count_distinct's mode="all")."""
    return len(pc.unique(column))


def _read_rows(path: Path, columns: Sequence[str] | None = None) -> list[dict]:
    return _read_table(path, columns).to_pylist()


def _column(table: pa.Table, name: str, type_: pa.DataType = pa.string()) -> pa.ChunkedArray | pa.Array:
    """A column of `table`, or nulls when the table has none (as `row.get(name)` gave None)."""
    return table.column(name) if name in table.column_names else pa.nulls(table.num_rows, type_)


def load_release(release_dir: Path, changes: dict | None = None) -> ReleaseData:
    """The release at `release_dir`; `changes` is its changes.json as the
    build that writes it holds it (read from the file when not given)."""
    release_dir = Path(release_dir)
    manifest_path = release_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no release at {release_dir} (manifest.json missing)")
    manifest = json.loads(manifest_path.read_text())
    changes_path = release_dir / "changes.json"
    if changes is None and changes_path.is_file():
        changes = json.loads(changes_path.read_text())

    table_names = list(manifest.get("tables", {})) or ["documents", "segments", "turns", "rejects"]
    if (release_dir / QUOTES_FILE).is_file() and "quotes" not in table_names:
        table_names.append("quotes")
    rows = {name: pq.ParquetFile(release_dir / f"{name}.parquet").metadata.num_rows
            for name in table_names if (release_dir / f"{name}.parquet").is_file()}

    documents = _read_table(release_dir / "documents.parquet", DOCUMENT_COLUMNS)
    texts = stream_parquet(release_dir / "documents.parquet")
    lengths = pa.chunked_array([pc.utf8_length(batch.column("text")).cast(pa.int64())
                                for batch in texts.iter_batches(TEXT_BATCH_ROWS, columns=["text"], use_threads=False)],
                               pa.int64())
    if len(lengths) != documents.num_rows:
        raise ValueError(f"{release_dir / 'documents.parquet'}: {len(lengths)} texts for {documents.num_rows} rows")
    documents = documents.append_column("chars", lengths)

    segments = _read_encoded(release_dir / "segments.parquet", SEGMENT_COLUMNS, keep=_not_kept)
    turns = _read_encoded(release_dir / "turns.parquet", TURN_COUNT_COLUMNS)
    rejects = _read_rows(release_dir / "rejects.parquet") if (release_dir / "rejects.parquet").is_file() else []
    quotes = _read_table(release_dir / QUOTES_FILE) if (release_dir / QUOTES_FILE).is_file() else None

    data = ReleaseData(release_dir, manifest, changes, rows, documents, segments, turns, rejects, quotes)
    data.highlights, data.segment_texts = _highlight_rows(release_dir, highlight_examples(segments))
    return data


def _highlight_rows(release_dir: Path, picked: list[tuple[str, int]]) -> tuple[list[Pair], dict[tuple[str, int], str]]:
    """The picked duplicates with their originals, and the texts of both.

    Only the segments of the picked documents are read (with their text); an
    original is the segment of the same document whose segment_index is the
    duplicate's duplicate_of."""
    if not picked:
        return [], {}
    docs = sorted({doc_id for doc_id, _ in picked})
    rows = _read_matching(release_dir / "segments.parquet", EXAMPLE_COLUMNS, "doc_id", docs).to_pylist()
    by_key = {(s["doc_id"], s["segment_index"]): s for s in rows}
    pairs = []
    for key in picked:
        s = by_key[key]
        original = by_key.get((s["doc_id"], s["duplicate_of"])) if s["duplicate_of"] is not None else None
        pairs.append((s, original))
    wanted = {(s["doc_id"], s["segment_index"]) for pair in pairs for s in pair if s is not None}
    texts = {(s["doc_id"], s["segment_index"]): s["text"] for s in rows if (s["doc_id"], s["segment_index"]) in wanted}
    return pairs, texts


# --- the figures -----------------------------------------------------------------


def _not_kept(segments: pa.Table | pa.RecordBatch) -> pa.Array | pa.ChunkedArray:
    """True for each segment not plainly kept (a null status is not "kept" either)."""
    return pc.fill_null(pc.not_equal(segments.column("status"), "kept"), True)


def removed_segments(segments: pa.Table) -> pa.Table:
    """The segments not plainly kept: `segments` itself when it holds no
    other (as `ReleaseData.segments`), not a copy."""
    mask = _not_kept(segments)
    return segments if pc.all(mask).as_py() is not False else segments.filter(mask)


def removed_by_reason(segments: pa.Table) -> dict[str, dict]:
    """reason -> lines, segments and lines per status, for segments not kept.

    Most lines first, then by reason.  A reason's statuses are in the order
    they first occur in the table (the order a row-by-row Counter had)."""
    removed = removed_segments(segments)
    removed = removed.append_column("row", pa.array(np.arange(removed.num_rows)))
    groups = (removed.group_by(["reason", "status"], use_threads=False)
              .aggregate([("line_count", "sum"), ([], "count_all"), ("row", "min")])
              .sort_by("row_min"))
    out: dict[str, dict] = {}
    for reason, status, lines, count in zip(*(groups.column(c).to_pylist() for c in
                                               ("reason", "status", "line_count_sum", "count_all"))):
        entry = out.setdefault(reason or NO_REASON, {"lines": 0, "segments": 0, "status": Counter()})
        entry["lines"] += lines
        entry["segments"] += count
        entry["status"][status] += lines
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["lines"], kv[0])))


def _is_in(column: pa.ChunkedArray, values: Sequence[str]) -> pa.ChunkedArray:
    """Whether each row's value is one of `values`.  A dictionary-encoded
    column (as `load_release` holds them) is tested on its dictionaries,
    then the answers taken by index: `pc.is_in` would decode every row."""
    value_set = pa.array(values, pa.string())
    if pa.types.is_dictionary(column.type):
        return pa.chunked_array([pc.is_in(chunk.dictionary, value_set=value_set).take(chunk.indices)
                                 for chunk in column.chunks], pa.bool_())
    return pc.is_in(column, value_set=value_set)


def removed_lines_of(segments: pa.Table, doc_ids: Sequence[str]) -> Counter:
    """doc_id -> raw lines in its segments not kept, for the documents `doc_ids`."""
    removed = removed_segments(segments)
    removed = removed.filter(_is_in(removed.column("doc_id"), doc_ids))
    groups = removed.group_by("doc_id").aggregate([("line_count", "sum")])
    return Counter(dict(zip(groups.column("doc_id").to_pylist(), groups.column("line_count_sum").to_pylist())))


def _document_sites(documents: pa.Table) -> pa.ChunkedArray:
    """Each document's site, NO_SITE where it has none (null or empty)."""
    site = _column(documents, "site")
    return pc.fill_null(pc.if_else(pc.equal(site, ""), pa.scalar(None, site.type), site), NO_SITE)


def removed_by_site(segments: pa.Table, documents: pa.Table) -> dict[str, dict]:
    """site -> documents, raw lines, removed lines and removed lines per status.

    Most removed lines first, then by site; segments of a document not in
    `documents` count under NO_SITE."""
    sites = _document_sites(documents)
    out: dict[str, dict] = defaultdict(lambda: {"documents": 0, "raw_lines": 0, "lines": 0, "status": Counter()})
    raw = pc.fill_null(_column(documents, "raw_nonblank_lines", pa.int64()), 0)
    per_site = pa.table({"site": sites, "raw": raw}).group_by("site").aggregate([("raw", "sum"), ("raw", "count")])
    for site, raw_lines, count in zip(*(per_site.column(c).to_pylist() for c in ("site", "raw_sum", "raw_count"))):
        out[site].update(documents=count, raw_lines=raw_lines)
    # removed lines per document and status first (a row per pair, not per
    # segment: no site string for each of millions of segments), then each
    # document's site looked up by Arrow in the doc_id -> site mapping
    removed = removed_segments(segments)
    per_document = removed.group_by(["doc_id", "status"], use_threads=False).aggregate([("line_count", "sum")])
    at = pc.index_in(_plain(per_document.column("doc_id")), value_set=documents.column("doc_id").combine_chunks())
    document_sites = pc.fill_null(pc.take(sites, at), NO_SITE).to_pylist()
    for site, status, lines in zip(document_sites, _plain(per_document.column("status")).to_pylist(),
                                   per_document.column("line_count_sum").to_pylist()):
        entry = out[site]
        entry["lines"] += lines
        entry["status"][status] += lines
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["lines"], kv[0])))


def highlight_examples(segments: pa.Table, limit: int = MAX_HIGHLIGHT_EXAMPLES) -> list[tuple[str, int]]:
    """(doc_id, segment_index) of a few duplicates, taken in turn from each document.

    Round robin over the documents in doc_id order, each giving its duplicates
    in segment_index order: the first duplicate of every document, then the
    second, ... That is the duplicates ordered by (rank in their document,
    doc_id), the first `limit` of them."""
    duplicates = segments.filter(pc.equal(segments.column("status"), "duplicate"))
    duplicates = pa.table({"doc_id": _plain(duplicates.column("doc_id")),
                           "segment_index": duplicates.column("segment_index")})
    duplicates = duplicates.sort_by([("doc_id", "ascending"), ("segment_index", "ascending")])  # a stable sort
    n = duplicates.num_rows
    if n == 0:
        return []
    doc_ids = duplicates.column("doc_id")
    starts = np.ones(n, dtype=bool)  # where a document's run of duplicates starts
    starts[1:] = pc.not_equal(doc_ids.slice(1), doc_ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    position = np.arange(n)
    rank = position - np.maximum.accumulate(np.where(starts, position, 0))
    order = np.argsort(rank, kind="stable")[:limit]  # stable: doc_id order within a rank
    picked = duplicates.take(pa.array(order))
    return list(zip(picked.column("doc_id").to_pylist(), picked.column("segment_index").to_pylist()))


def count_by(values: pa.Array | pa.ChunkedArray, missing: str = "(none)") -> dict[str, int]:
    """value -> rows holding it (nulls as `missing`), the most frequent first, ties by str(value)."""
    counts: Counter = Counter()
    for item in pc.value_counts(values).to_pylist():
        counts[item["values"] if item["values"] is not None else missing] += item["counts"]
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


@dataclass
class Exchange:
    question: dict
    answers: list[dict]


@dataclass
class TranscriptStructure:
    doc_id: str
    turns: list[dict]
    opening: list[dict]  # turns before the first question that answer nothing
    exchanges: list[Exchange]
    unlinked_answers: list[dict]
    other: list[dict]  # statements and moderation after the first question

    @property
    def answers_linked(self) -> int:
        return sum(len(e.answers) for e in self.exchanges)


def transcript_structure(doc_id: str, turns: Sequence[dict]) -> TranscriptStructure:
    """Questions in order, each with the answers whose question_id names it."""
    ordered = sorted(turns, key=lambda t: t["turn_index"])
    exchanges = {t["id"]: Exchange(t, []) for t in ordered if t["turn_type"] == "question"}
    opening, unlinked, other = [], [], []
    seen_question = False
    for t in ordered:
        if t["turn_type"] == "question":
            seen_question = True
        elif t.get("question_id") is not None and t["question_id"] in exchanges:
            exchanges[t["question_id"]].answers.append(t)
        elif t["turn_type"] == "answer":
            unlinked.append(t)
        elif not seen_question:
            opening.append(t)
        else:
            other.append(t)
    return TranscriptStructure(doc_id, ordered, opening, list(exchanges.values()), unlinked, other)


# --- SVG charts -------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    parts: list[tuple[float, str, str]]  # value, colour, name of the part
    text: str | None = None  # shown at the end of the bar instead of the total

    @property
    def total(self) -> float:
        return sum(v for v, _, _ in self.parts)


def _truncate(label: str, width_px: float, char_px: float = 6.8) -> str:
    room = max(4, int(width_px / char_px))
    return label if len(label) <= room else label[: room - 1] + "…"


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _axis(largest: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step) of a value axis: about `ticks` round steps, whole numbers for counts."""
    if largest <= 0:
        return 1.0, 1.0
    raw = largest / ticks
    exponent = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * exponent
        if step >= raw and (step >= 1 or largest < 1) and not (factor == 2.5 and exponent == 1):
            break
    step = max(step, 1.0) if largest >= 1 else step
    return step * math.ceil(largest / step - 1e-9), step


def cap_bars(bars: list[Bar], limit: int = MAX_BARS, name: str = "others") -> list[Bar]:
    """The `limit - 1` largest bars and one bar summing the rest."""
    if len(bars) <= limit:
        return bars
    head, tail = bars[: limit - 1], bars[limit - 1:]
    return head + [Bar(f"{len(tail)} {name}", [(sum(b.total for b in tail), OTHER_COLOUR, name)])]


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], unit: str = "", width: int = 560,
              label_width: int = 190) -> str:
    """Horizontal bars (stacked when a bar has several parts), values at the end."""
    row, pad_top, pad_bottom = 24, 8, 24
    height = pad_top + row * max(1, len(bars)) + pad_bottom
    value_room = 64
    plot = width - label_width - value_room
    top, step = _axis(max((b.total for b in bars), default=0))
    scale = plot / top
    out = [f'<svg class="chart" data-chart="{esc(chart_id)}" role="img" aria-label="{esc(title)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{esc(title)}</title>"]
    for tick in range(round(top / step) + 1):
        value = tick * step
        x = label_width + value * scale
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{pad_top - 4}" x2="{x:.1f}" y2="{height - pad_bottom + 2}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{height - 8}" text-anchor="middle">{esc(_short(value))}</text>')
    if not bars:
        out.append(f'<text class="empty" x="{label_width + 8}" y="{pad_top + 16}">none</text>')
    for i, bar in enumerate(bars):
        y = pad_top + i * row
        out.append(f'<text class="label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
                   f"<title>{esc(bar.label)}</title>{esc(_truncate(bar.label, label_width - 12))}</text>")
        x = float(label_width)
        for value, colour, name in bar.parts:
            w = value * scale
            if w <= 0:
                continue
            out.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{row - 8}" fill="{colour}">'
                       f"<title>{esc(bar.label)}: {esc(name)} {esc(fmt(_int(value)))}{esc(unit)}</title></rect>")
            x += w
        shown = bar.text if bar.text is not None else fmt(_int(bar.total))
        out.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 16}">{esc(shown)}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(chart_id: str, title: str, values: Sequence[int], unit: str, width: int = 560, bins: int = 12) -> str:
    """Counts of values in equal bins, as vertical bars."""
    height, left, bottom, top_pad = 220, 44, 40, 12
    low, high = (min(values), max(values)) if values else (0, 1)
    step = _nice_ceiling(max(1, (high - low) / bins))
    start = math.floor(low / step) * step
    n = max(1, int(math.ceil((high - start + 1) / step)))
    counts = [0] * n
    for v in values:
        counts[min(n - 1, int((v - start) // step))] += 1
    peak, peak_step = _axis(max(counts, default=1))
    plot_w, plot_h = width - left - 12, height - bottom - top_pad
    bw = plot_w / n
    out = [f'<svg class="chart" data-chart="{esc(chart_id)}" role="img" aria-label="{esc(title)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{esc(title)}</title>"]
    for tick in range(round(peak / peak_step) + 1):
        y = top_pad + plot_h * (1 - tick * peak_step / peak)
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(_short(tick * peak_step))}</text>')
    for i, count in enumerate(counts):
        x = left + i * bw
        h = plot_h * count / peak
        lo, hi = start + i * step, start + (i + 1) * step
        out.append(f'<rect x="{x + 1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" '
                   f'fill="{PALETTE[0]}"><title>{esc(_short(lo))}–{esc(_short(hi))} {esc(unit)}: {count}</title></rect>')
        if i % max(1, n // 6) == 0:
            out.append(f'<text class="tick" x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{esc(_short(lo))}</text>')
    out.append(f'<text class="tick" x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">{esc(unit)}</text>')
    out.append("</svg>")
    return "".join(out)


def turn_strip(structure: TranscriptStructure, width: int = 900) -> str:
    """The transcript's turns in order, coloured by type, with an arc from each answer to its question."""
    turns = structure.turns
    n = max(1, len(turns))
    left, cell_gap = 8, 2
    cell = min(36.0, (width - 2 * left) / n)
    used = left * 2 + cell * n
    arc_room, cell_h = 52, 20
    height = arc_room + cell_h + 10
    x_of = {t["id"]: left + i * cell for i, t in enumerate(turns)}
    out = [f'<svg class="chart strip" data-chart="qa-{esc(structure.doc_id)}" role="img" '
           f'aria-label="turns of {esc(structure.doc_id)}" width="{used:.0f}" height="{height}" '
           f'viewBox="0 0 {used:.0f} {height}" xmlns="http://www.w3.org/2000/svg">']
    for t in turns:
        q = t.get("question_id")
        if q in x_of:
            x1, x2 = x_of[t["id"]] + cell / 2, x_of[q] + cell / 2
            lift = min(arc_room - 4, 10 + abs(x1 - x2) / 3)
            out.append(f'<path class="link" d="M{x1:.1f},{arc_room} Q{(x1 + x2) / 2:.1f},{arc_room - lift * 2:.1f} '
                       f'{x2:.1f},{arc_room}"/>')
    for t in turns:
        colour = TURN_TYPE_COLOURS.get(t["turn_type"], OTHER_COLOUR)
        out.append(f'<rect x="{x_of[t["id"]]:.1f}" y="{arc_room}" width="{max(cell - cell_gap, 1):.1f}" height="{cell_h}" '
                   f'fill="{colour}"><title>{esc(t["turn_index"])} {esc(t["turn_type"])}: {esc(t["speaker"])}</title></rect>')
    out.append("</svg>")
    return "".join(out)


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value != int(value) else str(int(value))


def _int(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def legend(colours: dict[str, str], names: Iterable[str] | None = None) -> str:
    keys = list(names) if names is not None else list(colours)
    items = "".join(f'<span><i style="background:{colours.get(k, OTHER_COLOUR)}"></i>{esc(k)}</span>' for k in keys)
    return f'<div class="legend">{items}</div>'


# --- sections ---------------------------------------------------------------------


def _table(head: Sequence[str], rows: Sequence[str], cls: str = "", numeric_from: int = 1) -> str:
    ths = "".join(f'<th class="{"num" if i >= numeric_from else ""}">{esc(h)}</th>' for i, h in enumerate(head))
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _open(rows: int, limit: int = 20) -> str:
    """Short lists start unfolded, long ones folded."""
    return " open" if rows <= limit else ""


def _more(shown: int, total: int, what: str) -> str:
    return f'<p class="note">{fmt(total - shown)} more {esc(what)} not shown.</p>' if total > shown else ""


def section_rows(data: ReleaseData) -> str:
    changes = data.changes or {}
    rows_change = changes.get("rows") or {}
    delta_only = (data.manifest.get("changes") or {}).get("rows_delta", {})
    previous = changes.get("previous_version") or (data.manifest.get("changes") or {}).get("previous_version")
    against = f"release {previous}" if previous else "nothing (first release)"

    tiles, table_rows = [], []
    for name, rows in data.rows.items():
        change = rows_change.get(name)
        delta = change["delta"] if change else delta_only.get(name)
        before = change["before"] if change else (rows - delta if delta is not None else None)
        delta_text = f"{delta:+,d}" if delta is not None else "n/a"
        tiles.append(f'<div class="tile"><div class="tname">{esc(name)}</div>'
                     f'{metric("rows", rows, name, tag="div", cls="big")}'
                     f'<div class="delta {"up" if (delta or 0) > 0 else "down" if (delta or 0) < 0 else ""}">{esc(delta_text)}</div></div>')
        table_rows.append(
            f"<tr><td>{esc(name)}</td>"
            + (metric("rows-before", before, name) if before is not None else '<td class="num">n/a</td>')
            + f'<td class="num">{fmt(rows)}</td>'
            + (f'<td class="num" data-metric="rows-delta" data-key="{esc(name)}">{esc(delta_text)}</td>')
            + "</tr>")

    listed = []
    for kind in ("documents", "turns"):
        for what in ("added", "removed", "changed"):
            ids = changes.get(f"{kind}_{what}")
            listed_ids = isinstance(ids, (list, Ids))
            count = len(ids) if listed_ids else (data.manifest.get("changes") or {}).get(f"{kind}_{what}", 0)
            items = ""
            if listed_ids and ids:
                shown = ids[:50]
                items = ('<details><summary>list</summary><ul class="ids">'
                         + "".join(f"<li><code>{esc(i)}</code></li>" for i in shown) + "</ul>"
                         + _more(len(shown), len(ids), "ids") + "</details>")
            listed.append(f'<tr><td>{esc(kind)} {esc(what)}</td>{metric(f"{kind}-{what}", count)}<td>{items}</td></tr>')

    return (f'<section id="rows"><h2>Rows per table</h2>'
            f'<p>Change against {esc(against)}.</p>'
            f'<div class="tiles">{"".join(tiles)}</div>'
            f'<div class="grid">'
            f'<div>{_table(["table", "before", "rows", "change"], table_rows)}</div>'
            f'<div>{_table(["change", "count", ""], listed)}</div>'
            f"</div></section>")


def section_documents(data: ReleaseData) -> str:
    table = data.documents
    if not table.num_rows:
        return '<section id="documents"><h2>Documents</h2><p>No documents.</p></section>'
    lengths = table.column("chars").to_pylist()
    # the rows shown, the first by doc_id (Arrow sorts strings by their UTF-8
    # bytes: code point order, as Python sorts them); not a sorted copy of all
    first = pc.sort_indices(table.column("doc_id")).slice(0, max(MAX_DOCUMENT_BARS, MAX_TABLE_ROWS))
    docs = table.take(first).to_pylist()
    if table.num_rows <= MAX_DOCUMENT_BARS:
        bars = [Bar(d.get("title") or d["doc_id"], [(d["chars"], DOC_TYPE_COLOURS.get(d["doc_type"], OTHER_COLOUR), d["doc_type"])])
                for d in docs]
        chart = bar_chart("document-lengths", "Cleaned text length per document (characters)", bars,
                          unit=" chars", width=640, label_width=260)
        types = sorted({d["doc_type"] for d in docs}, key=lambda t: list(DOC_TYPE_COLOURS).index(t) if t in DOC_TYPE_COLOURS else 99)
        chart += legend(DOC_TYPE_COLOURS, types)
    else:
        chart = histogram("document-lengths", "Documents by cleaned text length", lengths, unit="characters")
    removed_lines = removed_lines_of(data.segments, [d["doc_id"] for d in docs[:MAX_TABLE_ROWS]])
    table_rows = [
        f'<tr><td><code>{esc(d["doc_id"])}</code></td><td>{esc(d["doc_type"])}</td>'
        f'<td class="title">{esc(snippet(d.get("title"), 90) or "—")}</td><td>{esc(d.get("site") or "—")}</td>'
        f'<td>{esc(d.get("published") or "—")}</td>{metric("doc-chars", d["chars"], d["doc_id"])}'
        f'<td class="num">{fmt(d.get("raw_nonblank_lines") or 0)}</td><td class="num">{fmt(removed_lines[d["doc_id"]])}</td></tr>'
        for d in docs[:MAX_TABLE_ROWS]]
    types = count_by(table.column("doc_type"))
    stats = (f'<ul class="facts"><li><b>{fmt(table.num_rows)}</b> documents: '
             + ", ".join(f"{fmt(n)} {esc(t)}" for t, n in types.items())
             + f'</li><li>length in characters: median <b>{fmt(int(statistics.median(lengths)))}</b>, '
               f'shortest <b>{fmt(min(lengths))}</b>, longest <b>{fmt(max(lengths))}</b>, '
               f'total <b>{fmt(sum(lengths))}</b></li></ul>')
    return (f'<section id="documents"><h2>Documents and their lengths</h2>{stats}'
            f'<figure>{chart}</figure>'
            f'<details{_open(table.num_rows, 12)}><summary>documents</summary>'
            + _table(["doc_id", "type", "title", "site", "published", "chars", "raw lines", "removed lines"],
                     table_rows, cls="docs", numeric_from=5)
            + _more(min(table.num_rows, MAX_TABLE_ROWS), table.num_rows, "documents") + "</details></section>")


def _status_parts(statuses: Counter) -> list[tuple[float, str, str]]:
    order = [s for s in STATUS_ORDER if s in statuses] + sorted(s for s in statuses if s not in STATUS_ORDER)
    return [(statuses[s], STATUS_COLOURS.get(s, OTHER_COLOUR), s) for s in order]


def section_removed(data: ReleaseData) -> str:
    by_reason = removed_by_reason(data.segments)
    by_site = removed_by_site(data.segments, data.documents)
    total = sum(e["lines"] for e in by_reason.values())
    raw_total = pc.sum(pc.fill_null(_column(data.documents, "raw_nonblank_lines", pa.int64()), 0)).as_py() or 0
    statuses = sorted({s for e in by_reason.values() for s in e["status"]},
                      key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99)

    reason_chart = bar_chart("removed-by-reason", "Raw lines not kept, by reason",
                             cap_bars([Bar(r, _status_parts(e["status"])) for r, e in by_reason.items()], name="other reasons"),
                             unit=" lines")
    site_chart = bar_chart("removed-by-site", "Raw lines not kept, by site",
                           cap_bars([Bar(s, _status_parts(e["status"])) for s, e in by_site.items()], name="other sites"),
                           unit=" lines")
    reason_rows = [
        f'<tr><td>{esc(r)}</td><td>{esc(", ".join(s for s in STATUS_ORDER if s in e["status"]) or ", ".join(e["status"]))}</td>'
        f'{metric("removed-segments-by-reason", e["segments"], r)}{metric("removed-lines-by-reason", e["lines"], r)}</tr>'
        for r, e in by_reason.items()]
    site_rows = [
        f'<tr><td>{esc(s)}</td><td class="num">{fmt(e["documents"])}</td><td class="num">{fmt(e["raw_lines"])}</td>'
        f'{metric("removed-lines-by-site", e["lines"], s)}<td class="num">{_share(e["lines"], e["raw_lines"])}</td></tr>'
        for s, e in by_site.items()]
    return (f'<section id="removed"><h2>Lines removed</h2>'
            f'<p>Raw lines in segments that were not plainly kept: '
            f'{metric("removed-lines", total, tag="b", cls="")} of {fmt(raw_total)} non-blank raw lines '
            f'({_share(total, raw_total, 1)}). <i>trimmed</i> segments are kept with '
            f'inline boilerplate or a highlight copy cut. Every decision is a row of <code>segments</code>.</p>'
            f'{legend(STATUS_COLOURS, statuses)}'
            f'<div class="grid"><figure><figcaption>by reason</figcaption>{reason_chart}</figure>'
            f'<figure><figcaption>by site</figcaption>{site_chart}</figure></div>'
            f'<div class="grid"><details{_open(len(reason_rows))}><summary>reasons</summary>'
            f'{_table(["reason", "status", "segments", "lines"], reason_rows, numeric_from=2)}</details>'
            f'<details{_open(len(site_rows))}><summary>sites</summary>'
            f'{_table(["site", "documents", "raw lines", "lines not kept", "share"], site_rows)}</details></div>'
            f"</section>")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{fmt(n)} {word if n == 1 else many or word + 's'}"


def _share(part: int, whole: int, digits: int = 0) -> str:
    return f"{part / whole:.{digits}%}" if whole else "—"


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def mark_shared(original: str, duplicate: str) -> str:
    """The original, escaped, with the sentences the duplicate repeats in <mark>."""
    spans = []
    for sentence in _SENTENCE_END.split(duplicate.strip()):
        sentence = sentence.strip()
        if len(sentence) < 12:
            continue
        at = original.find(sentence)
        if at >= 0:
            spans.append((at, at + len(sentence)))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(esc(original[last:start]) + "<mark>" + esc(original[start:end]) + "</mark>")
        last = end
    return "".join(out) + esc(original[last:])


def section_highlights(data: ReleaseData) -> str:
    duplicates = data.segments.filter(pc.equal(data.segments.column("status"), "duplicate"))
    lines = pc.sum(duplicates.column("line_count"), min_count=0).as_py()
    docs = _distinct(duplicates.column("doc_id"))
    examples = data.highlights
    cards = []
    for dup, original in examples:
        dup_text = data.segment_texts.get((dup["doc_id"], dup["segment_index"]), "")
        if original is not None:
            orig_text = data.segment_texts.get((original["doc_id"], original["segment_index"]), "")
            kept = (f'<div class="kept"><h4>kept original: segment {esc(original["segment_index"])}, '
                    f'{_lines(original)}</h4><p>{mark_shared(orig_text, dup_text)}</p></div>')
        else:
            kept = '<div class="kept"><h4>kept original</h4><p class="note">not found</p></div>'
        similarity = f'{dup["similarity"]:.0%} of its words in the original' if dup.get("similarity") is not None else ""
        cards.append(f'<div class="pair"><div class="pairhead"><code>{esc(dup["doc_id"])}</code> {esc(similarity)}</div>'
                     f'<div class="sides"><div class="dup"><h4>removed: segment {esc(dup["segment_index"])}, '
                     f'{_lines(dup)}</h4><p>{esc(dup_text)}</p></div>{kept}</div></div>')
    return (f'<section id="highlights"><h2>Repeated highlights removed</h2>'
            f'<p>{metric("duplicate-segments", duplicates.num_rows, tag="b", cls="")} segments '
            f'({metric("duplicate-lines", lines, tag="b", cls="")} raw lines) in {plural(docs, "document")} repeat a passage '
            f'kept elsewhere in the same document. Examples, the removed copy beside the kept original '
            f'(the repeated sentences marked):</p>'
            + ("".join(cards) or '<p class="note">None in this release.</p>')
            + _more(len(examples), duplicates.num_rows, "repeated highlights") + "</section>")


def _lines(segment: dict) -> str:
    a, b = segment["line_start"], segment["line_end"]
    return f"line {esc(a)}" if a == b else f"lines {esc(a)}–{esc(b)}"


def section_turns(data: ReleaseData) -> str:
    turns = data.turns
    if not turns.num_rows:
        return '<section id="turns"><h2>Turns</h2><p>No turns in this release.</p></section>'
    by_speaker = count_by(turns.column("speaker"))
    by_role = count_by(turns.column("speaker_role"))
    by_type = count_by(turns.column("turn_type"))
    role_colour = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(sorted(by_role))}
    # a speaker's role is the one of their first turn in the table
    first_roles = (pa.table({"speaker": turns.column("speaker"), "speaker_role": _plain(turns.column("speaker_role"))})
                   .group_by("speaker", use_threads=False)
                   .aggregate([("speaker_role", "first", pc.ScalarAggregateOptions(skip_nulls=False))]))
    speaker_role = dict(zip(first_roles.column("speaker").to_pylist(),
                            first_roles.column("speaker_role_first").to_pylist()))
    speaker_chart = bar_chart("turns-by-speaker", "Turns per speaker",
                              cap_bars([Bar(s, [(n, role_colour[speaker_role[s]], speaker_role[s])]) for s, n in by_speaker.items()],
                                       name="other speakers"), unit=" turns")
    role_chart = bar_chart("turns-by-role", "Turns per role",
                           [Bar(r, [(n, role_colour[r], r)]) for r, n in by_role.items()], unit=" turns")
    type_chart = bar_chart("turns-by-type", "Turns per type",
                           [Bar(k, [(n, TURN_TYPE_COLOURS.get(k, OTHER_COLOUR), k)]) for k, n in by_type.items()],
                           unit=" turns")
    speaker_rows = [f'<tr><td>{esc(s)}</td><td>{esc(speaker_role[s])}</td>{metric("turns-by-speaker", n, s)}</tr>'
                    for s, n in by_speaker.items()]
    role_rows = [f'<tr><td>{esc(r)}</td>{metric("turns-by-role", n, r)}</tr>' for r, n in by_role.items()]
    type_rows = [f'<tr><td>{esc(k)}</td>{metric("turns-by-type", n, k)}</tr>' for k, n in by_type.items()]
    transcripts = _distinct(turns.column("doc_id"))
    return (f'<section id="turns"><h2>Turns per speaker and role</h2>'
            f'<p>{plural(turns.num_rows, "turn")} in {plural(transcripts, "transcript")}, '
            f'{plural(len(by_speaker), "speaker")}.</p>'
            f'<div class="grid"><figure><figcaption>per speaker (coloured by role)</figcaption>{speaker_chart}'
            f'{legend(role_colour)}</figure>'
            f'<figure><figcaption>per role</figcaption>{role_chart}<figcaption>per type</figcaption>{type_chart}</figure></div>'
            f'<div class="grid3"><details{_open(len(by_speaker))}><summary>speakers</summary>'
            f'{_table(["speaker", "role", "turns"], speaker_rows, numeric_from=2)}</details>'
            f'<div>{_table(["role", "turns"], role_rows)}</div><div>{_table(["turn type", "turns"], type_rows)}</div></div>'
            f"</section>")


def _turn_line(t: dict, css: str, anchors: bool) -> str:
    anchor = f' id="turn-{esc(t["id"])}"' if anchors else ""
    translated = ' <span class="badge">translated</span>' if t.get("translated") else ""
    return (f'<li class="{css}"{anchor}><span class="who">{esc(t["speaker"])}</span> '
            f'<span class="meta">turn {esc(t["turn_index"])} · {esc(t["speaker_role"])}{translated}</span>'
            f'<div class="said">{esc(snippet(t["text"]))}</div></li>')


def _shown_turns(release_dir: Path, doc_ids: Sequence[str]) -> list[dict]:
    """The turns of the documents `doc_ids`, with their text, in table order."""
    if not doc_ids:
        return []
    return _read_matching(release_dir / "turns.parquet", (*TURN_COLUMNS, "text"), "doc_id", doc_ids).to_pylist()


def section_qa(data: ReleaseData) -> tuple[str, set[str]]:
    """Each transcript's questions with the answers linked to them; returns the turn ids shown."""
    documents = data.documents
    transcripts = documents.filter(pc.equal(documents.column("doc_type"), "transcript")).column("doc_id").to_pylist()
    turn_doc_ids = pc.unique(data.turns.column("doc_id")).to_pylist()
    transcript_ids = sorted(set(transcripts) | set(turn_doc_ids))
    shown = transcript_ids[:MAX_TRANSCRIPTS]
    shown_documents = documents.filter(pc.is_in(documents.column("doc_id"), value_set=pa.array(shown, pa.string())))
    titles = dict(zip(shown_documents.column("doc_id").to_pylist(), _column(shown_documents, "title").to_pylist()))
    turns_by_doc: dict[str, list[dict]] = defaultdict(list)  # the turns of the transcripts shown
    for t in _shown_turns(data.path, shown):
        turns_by_doc[t["doc_id"]].append(t)
    shown_ids: set[str] = set()
    blocks = []
    for i, doc_id in enumerate(shown):
        structure = transcript_structure(doc_id, turns_by_doc.get(doc_id, []))
        shown_ids |= {t["id"] for t in structure.turns}
        title = titles.get(doc_id) or doc_id
        parts = []
        if structure.opening:
            parts.append('<h4>opening</h4><ul class="turns">'
                         + "".join(_turn_line(t, t["turn_type"], True) for t in structure.opening) + "</ul>")
        for n, exchange in enumerate(structure.exchanges, start=1):
            q = exchange.question
            answers = "".join(_turn_line(a, "answer", True) for a in exchange.answers) or \
                '<li class="none">no answer linked</li>'
            parts.append(f'<div class="exchange"><ul class="turns">{_turn_line(q, "question", True)}</ul>'
                         f'<ul class="answers">{answers}</ul></div>')
        if structure.unlinked_answers:
            parts.append('<h4>answers without a linked question</h4><ul class="turns">'
                         + "".join(_turn_line(t, "answer", True) for t in structure.unlinked_answers) + "</ul>")
        if structure.other:
            parts.append('<h4>other turns after the first question</h4><ul class="turns">'
                         + "".join(_turn_line(t, t["turn_type"], True) for t in structure.other) + "</ul>")
        if not structure.turns:
            parts.append('<p class="note">No turns found in this transcript.</p>')
        blocks.append(
            f'<details class="transcript"{" open" if i == 0 else ""}><summary><b>{esc(snippet(title, 120))}</b> '
            f'<code>{esc(doc_id)}</code> · {fmt(len(structure.turns))} turns, '
            f'{metric("qa-questions", len(structure.exchanges), doc_id, tag="span", cls="")} questions, '
            f'{metric("qa-answers-linked", structure.answers_linked, doc_id, tag="span", cls="")} answers linked'
            f'</summary>{turn_strip(structure) if structure.turns else ""}'
            f'{legend(TURN_TYPE_COLOURS, [k for k in TURN_TYPE_COLOURS if any(t["turn_type"] == k for t in structure.turns)])}'
            f'{"".join(parts)}</details>')
    body = "".join(blocks) or '<p class="note">No transcripts in this release.</p>'
    return (f'<section id="qa"><h2>Questions and answers per transcript</h2>'
            f'<p>Each question with the answers whose <code>question_id</code> names it; above, the turns in order '
            f'with an arc from each answer to its question.</p>{body}'
            + _more(min(len(transcript_ids), MAX_TRANSCRIPTS), len(transcript_ids), "transcripts") + "</section>",
            shown_ids)


def section_quotes(data: ReleaseData, shown_turns: set[str]) -> str:
    """Quote counts per match method and kind, and the first quotes: matched ones first, by doc_id and quote_index."""
    quotes = data.quotes
    turn_ids = _column(quotes, "matched_turn_id")
    matched = pc.sum(pc.fill_null(pc.not_equal(turn_ids, ""), False), min_count=0).as_py()
    by_method = count_by(_column(quotes, "match_method"), missing="(unmatched)")
    by_kind = count_by(_column(quotes, "kind"))
    method_chart = bar_chart("quotes-by-method", "Quotes per match method",
                             [Bar(m, [(n, PALETTE[i % len(PALETTE)], m)]) for i, (m, n) in enumerate(by_method.items())],
                             unit=" quotes")
    method_rows = [f'<tr><td>{esc(m)}</td>{metric("quotes-by-method", n, m)}</tr>' for m, n in by_method.items()]
    kind_rows = [f'<tr><td>{esc(k)}</td><td class="num">{fmt(n)}</td></tr>' for k, n in by_kind.items()]
    sort_keys = pa.table({"unmatched": pc.is_null(turn_ids), "doc_id": pc.fill_null(_column(quotes, "doc_id"), ""),
                          "quote_index": pc.fill_null(_column(quotes, "quote_index", pa.int64()), 0)})
    first = pc.sort_indices(sort_keys, [(name, "ascending") for name in sort_keys.column_names])[:MAX_QUOTES]  # stable
    rows = []
    for q in quotes.take(first).to_pylist():
        turn = q.get("matched_turn_id")
        if turn and turn in shown_turns:
            link = f'<a href="#turn-{esc(turn)}"><code>{esc(turn)}</code></a>'
        else:
            link = f"<code>{esc(turn)}</code>" if turn else '<span class="note">no match</span>'
        score = q.get("match_score")
        rows.append(f'<tr><td><code>{esc(q.get("doc_id"))}</code></td><td>{esc(q.get("kind"))}</td>'
                    f'<td class="quote">“{esc(snippet(q.get("text"), 200))}”</td><td>{esc(q.get("matched_speaker") or "—")}</td>'
                    f'<td>{link}</td><td class="num">{esc(f"{score:.2f}" if isinstance(score, float) else score if score is not None else "—")}</td>'
                    f'<td>{esc(q.get("match_method") or "—")}</td></tr>')
    return (f'<section id="quotes"><h2>Quote links</h2>'
            f'<p>{metric("quotes", quotes.num_rows, tag="b", cls="")} quotes in news and commentary, '
            f'{metric("quotes-matched", matched, tag="b", cls="")} linked to a transcript turn.</p>'
            f'<div class="grid"><figure>{method_chart}</figure><div>{_table(["match method", "quotes"], method_rows)}'
            f'{_table(["kind", "quotes"], kind_rows)}</div></div>'
            + _table(["document", "kind", "quote", "speaker", "turn", "score", "method"], rows, cls="quotes", numeric_from=99)
            + _more(len(rows), quotes.num_rows, "quotes") + "</section>")


def section_quality(release_dir: Path, gold_dir: Path, raw_dir: Path) -> str:
    from pressroom.scoring import LABELS, score_release

    scores = score_release(release_dir, gold_dir, raw_dir)
    bars = [Bar(LABELS.get(name, name), [(100 * f.rate, PALETTE[4], "passed"), (100 - 100 * f.rate, PALETTE[2], "missed")],
                text=f"{f.passed}/{f.total}") for name, f in scores.figures.items()]
    chart = bar_chart("quality", "Quality against gold: share of gold items passed", bars, unit="%", label_width=230)
    rows = []
    for name, f in scores.figures.items():
        misses = ""
        if f.misses:
            misses = ('<details><summary>misses</summary><ul class="ids">'
                      + "".join(f"<li>{esc(m)}</li>" for m in f.misses[:30]) + "</ul>"
                      + _more(min(len(f.misses), 30), len(f.misses), "misses") + "</details>")
        rows.append(f'<tr><td>{esc(LABELS.get(name, name))}</td>'
                    f'<td class="num" data-metric="quality" data-key="{esc(name)}" data-passed="{f.passed}" '
                    f'data-total="{f.total}">{f.passed}/{f.total}</td><td class="num">{f.rate:.0%}</td><td>{misses}</td></tr>')
    extra = (f'<p>Turns without gold (from false labels): <b data-metric="quality-extra-turns">{len(scores.extra_turns)}</b></p>')
    return (f'<section id="quality"><h2>Quality against gold labels</h2>'
            f'<p>Scored against <code>{esc(Path(gold_dir).name)}</code> ({fmt(len(list(Path(gold_dir).glob("*.json"))))} gold files).</p>'
            f'<div class="grid"><figure>{chart}{legend({"passed": PALETTE[4], "missed": PALETTE[2]})}</figure>'
            f'<div>{_table(["figure", "passed/total", "rate", ""], rows)}{extra}</div></div></section>')


def section_rejects(data: ReleaseData) -> str:
    if not data.rejects:
        return ('<section id="rejects"><h2>Rejected inputs</h2><p>No input file was rejected.</p></section>')
    rows = [f'<tr><td><code>{esc(r.get("source_path"))}</code></td><td>{esc(r.get("reason"))}</td></tr>'
            for r in sorted(data.rejects, key=lambda r: r.get("source_path") or "")[:MAX_TABLE_ROWS]]
    return ('<section id="rejects"><h2>Rejected inputs</h2>'
            + _table(["file", "reason"], rows, numeric_from=99)
            + _more(min(len(data.rejects), MAX_TABLE_ROWS), len(data.rejects), "rejects") + "</section>")


# --- the page ---------------------------------------------------------------------

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif}
header{background:#1f2f46;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:24px}
header .meta{color:#c9d4e3;font-size:13px}
nav{margin-top:10px;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:14px}
nav a{color:#fff;text-decoration:none;border-bottom:1px solid #6b85a8}
main{max-width:1240px;margin:0 auto;padding:16px 24px 40px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 20px;margin:16px 0}
h2{font-size:19px;margin:2px 0 8px}
h4{margin:10px 0 4px;font-size:13px;color:#57606a;font-weight:600}
p{margin:6px 0}
code{font:12.5px ui-monospace,"DejaVu Sans Mono",monospace;background:#f0f2f4;padding:0 3px;border-radius:3px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{padding:3px 10px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{font-weight:600;color:#57606a;font-size:13px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.title{max-width:340px}
td.quote{max-width:420px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:8px 28px;align-items:start}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:8px 28px;align-items:start}
figure{margin:6px 0}
figcaption{font-size:13px;color:#57606a;margin:4px 0}
svg.chart{max-width:100%;height:auto;display:block}
svg text{font:12px system-ui,"Liberation Sans","DejaVu Sans",sans-serif;fill:#1f2328}
svg text.tick{fill:#6e7781;font-size:11px}
svg line.grid{stroke:#e4e7eb;stroke-width:1}
svg path.link{fill:none;stroke:#8c959f;stroke-width:1.2}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.tile{border:1px solid #dde1e6;border-radius:8px;padding:8px 16px;min-width:150px;background:#fbfcfd}
.tile .tname{font-size:13px;color:#57606a}
.tile .big{font-size:28px;font-weight:650;font-variant-numeric:tabular-nums}
.delta{font-size:13px;color:#6e7781}.delta.up{color:#1a7f37}.delta.down{color:#cf222e}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;color:#57606a;margin:4px 0}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
ul.facts{margin:4px 0;padding-left:20px}
ul.ids{columns:3;font-size:12.5px;margin:4px 0}
details{margin:6px 0}
summary{cursor:pointer;color:#0b5cad}
.pair{border:1px solid #e4e7eb;border-radius:6px;margin:10px 0;overflow:hidden}
.pairhead{background:#f6f7f9;padding:4px 10px;font-size:13px;color:#57606a}
.sides{display:grid;grid-template-columns:1fr 1fr}
.sides>div{padding:4px 12px 8px;font-size:14px}
.sides .dup{background:#fff5ec;border-right:1px solid #e4e7eb}
.sides .kept{background:#f1f8f2}
mark{background:#ffe08a;padding:0 1px}
details.transcript{border:1px solid #e4e7eb;border-radius:6px;padding:6px 12px}
details.transcript>summary{color:#1f2328}
ul.turns,ul.answers{list-style:none;margin:0;padding:0}
ul.answers{margin-left:34px;border-left:3px solid #59a14f;padding-left:10px}
.exchange{margin:10px 0}
li{margin:4px 0}
li.question .who{color:#b85c00}
li.answer .who{color:#2d7a3a}
li.statement .who,li.moderation .who{color:#2f5d8c}
li.none{color:#8c959f;font-style:italic}
.who{font-weight:600}
.meta{color:#6e7781;font-size:12.5px}
.said{font-size:14px;color:#2c3238}
.badge{background:#eef1f5;border-radius:8px;padding:0 6px;font-size:11.5px}
.note{color:#6e7781;font-size:13px}
footer{color:#6e7781;font-size:12.5px;text-align:center;padding:0 0 24px}
"""


def render_report(release_dir: Path, gold_dir: Path | None = None, raw_dir: Path | None = None,
                  changes: dict | None = None) -> str:
    """One self-contained HTML page describing the release in `release_dir`.

    With `gold_dir` (gold labels in the format of tests/gold/seeds) the page
    shows quality figures; `raw_dir` is then needed, as the gold line numbers
    refer to the raw files.  `changes`: the release's changes.json as the
    build holds it (a first build's lists every turn id: not parsed again)."""
    release_dir = Path(release_dir)
    if gold_dir is not None and raw_dir is None:
        raise ValueError("quality figures need raw_dir: the gold line numbers refer to the raw files")
    data = load_release(release_dir, changes)
    manifest = data.manifest
    changes = manifest.get("changes") or {}
    qa, shown_turns = section_qa(data)
    sections = [section_rows(data), section_documents(data), section_removed(data), section_highlights(data),
                section_turns(data), qa]
    nav = [("rows", "rows"), ("documents", "documents"), ("removed", "lines removed"),
           ("highlights", "repeated highlights"), ("turns", "turns"), ("qa", "Q&A")]
    if data.quotes is not None:
        sections.append(section_quotes(data, shown_turns))
        nav.append(("quotes", "quotes"))
    if gold_dir is not None:
        sections.append(section_quality(release_dir, Path(gold_dir), Path(raw_dir)))
        nav.append(("quality", "quality"))
    sections.append(section_rejects(data))
    nav.append(("rejects", "rejects"))

    bump = changes.get("bump")
    previous = changes.get("previous_version")
    meta = " · ".join(esc(x) for x in (
        f"created {manifest.get('created_at', '?')}",
        f"{bump} release against {previous}" if previous else "first release",
        f"pipeline {manifest.get('pipeline_version', '?')}",
        f"contract {manifest.get('contract_version', '?')}",
        f"build {str(manifest.get('build_fingerprint', ''))[:12]}",
    ))
    nav_html = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pressroom release {esc(data.version)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<header><h1>pressroom release <span data-metric="version">{esc(data.version)}</span></h1>'
        f'<div class="meta">{meta}</div><nav>{nav_html}</nav></header>'
        f'<main>{"".join(sections)}</main>'
        f"<footer>Generated by pressroom from release {esc(data.version)}: its manifest.json, changes.json and tables. "
        f"This page loads nothing: no script, font or image.</footer>"
        "</body></html>\n"
    )


def write_report(release_dir: Path, gold_dir: Path | None = None, raw_dir: Path | None = None) -> Path:
    """Write `report.html` into the release folder (atomically) and return its path."""
    release_dir = Path(release_dir)
    page = render_report(release_dir, gold_dir, raw_dir)
    target = release_dir / REPORT_FILE
    temporary = release_dir / f".{REPORT_FILE}.{os.getpid()}.tmp"
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, target)
    return target
