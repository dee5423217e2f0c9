"""The corpus in shards: the build as map passes per shard and reduce passes
over compact signatures.  Plain functions, callable without Prefect; the
flow (`flows/build.py`) runs each map as one task per shard.

    prepare_batch(...)       map       read, normalise, paragraphs, labels (`clean.prepare`);
                                       site signatures: hashes of the short lines, per document
    site_pass(...)           reduce    the (site, line) hashes seen in >= min_support documents
                                       (`site_support`), and each document's clean key
    clean_batch(...)         map       `clean.clean` with the site lines each document sees;
                                       dedup signatures, quotations found, speaker turns
    corpus_pass(...)         reduce    near-duplicate clusters (`dedup.duplicate_clusters`),
                                       the speakers table
    quote_index_pass(...)    reduce    the quote index (`quotes.TurnIndex`), beside corpus_pass
    assemble_batch(...)      map       final rows, validated; Arrow parts with row ranges
                                       (needs the clusters only: runs while the index is made)
    link_batch(...)          map       quotations linked to turns, against that index
    document_slices(...)     driver    the parts, in doc_id order, for the Parquet writer

Each map runs over a batch (a shard) of the documents whose cached result
is missing, and caches its result per document (`pressroom.cache`), so a
rebuild after a few documents changed does work for those documents only,
wherever they sit in the corpus.  Nothing depends on how documents were
batched: the result is the same for any batch size (tested).

Site boilerplate as map/reduce: `clean.learn_site_boilerplate` counts each
short line once per document and site and keeps those seen in at least
`min_support` documents.  Here each document contributes the 64-bit hashes
of its (site, line key) pairs, a shard sums them, the reduce keeps the
hashes with enough support.  A document is then cleaned with a
`SiteBoilerplate` holding exactly its own lines whose hash has support:
`boilerplate.classify` only asks about the document's own lines, so the
answer is the one the whole-corpus model gives.  That set, per document, is
also part of the second pass's cache key: when a new document lifts a
line of a site over the support bar, the documents of that site holding it
are cleaned again, and no others.
"""

from __future__ import annotations

import functools
import inspect
import pickle
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pressroom import collector, dedup, heap, index_build, quotes
from pressroom.boilerplate import SiteBoilerplate, line_key
from pressroom.cache import KeyedPart, PackStore, hash64, key
from pressroom.changes import TURN_DIGESTS, no_turns, turn_digests
from pressroom.clean import CleanDocument, PreparedDocument, clean, learn_site_boilerplate, prepare
from pressroom.corpus import speaker_id
from pressroom.ingest import Reject
from pressroom.sources import Item, read_items
from pressroom.tables import to_arrow
from schemas.contract import QUOTES, SPEAKERS

SHARD_TASKS = 8
"""Tasks per pass when the shard size is left to the build: enough to keep
a few workers busy to the end of a pass."""
SHARD_DOCS_MIN, SHARD_DOCS_MAX = 50, 1000
"""Bounds of the automatic shard size.  A task costs about 0.2 s of Prefect
bookkeeping in a Dask worker (measured in 2026-11: Prefect's settings
rebuilt from the serialised context, and a client with its TLS context, per
task run): shards of fewer than ~50 documents spend more on that than on
the documents; more than ~1000 documents hold more memory per worker than
they save."""
SHARD_DOCS_MIN_WORKERS = 200
"""The least documents of an automatic shard on Dask workers: 0.5 to 1 s of
work (2.5 to 5 ms a document) for the task's 0.2 s."""


def shard_size(documents: int, requested: int | None = None, workers: int | None = None) -> int:
    """Documents per shard for a pass over `documents`: `requested`, or
    about SHARD_TASKS tasks within the bounds above.  Given the `workers`
    (Dask), shards are of SHARD_DOCS_MIN_WORKERS documents at least and the
    tasks a multiple of the workers, rounded down (at least one per
    worker): a small pass, as a rebuild's, gives each worker one task
    instead of three, and none waits on a last odd task."""
    if requested:
        return requested
    least = SHARD_DOCS_MIN_WORKERS if workers else SHARD_DOCS_MIN
    size = max(least, min(SHARD_DOCS_MAX, -(-documents // SHARD_TASKS)))
    tasks = -(-documents // size)
    if workers and tasks > 1:
        down = max(workers, tasks - tasks % workers)
        tasks = down if -(-documents // down) <= SHARD_DOCS_MAX else down + workers
        size = -(-documents // tasks)
    return size
SITE_MIN_SUPPORT: int = inspect.signature(learn_site_boilerplate).parameters["min_support"].default


# --- planning --------------------------------------------------------------------


def batches(items: Sequence, size: int | None = None, workers: int | None = None) -> list[list]:
    """`items` in shards of `size` (default: `shard_size(len(items), workers=workers)`)."""
    size = shard_size(len(items), size, workers)
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def prepare_key(config: str, item: Item) -> str:
    """A document's first-pass key: its identity and bytes, code and configuration."""
    return key("prepare", config, item.doc_id, item.source_path, item.sha256)


# --- pass 1: prepare ----------------------------------------------------------------


def _site_hash(site: str, line: str) -> int:
    return hash64(f"{site}\x00{line}")


def _hashes(site: str, lines: Iterable[str]) -> np.ndarray:
    return np.unique(np.fromiter((_site_hash(site, k) for k in lines), dtype=np.uint64))


_EMPTY = np.zeros(0, dtype=np.uint64)


@dataclass
class SiteSignature:
    """What the site pass needs of one document (small): the hashes it adds
    to its site's counts, and those of every line it may ask about."""

    doc_id: str
    learned: np.ndarray
    asked: np.ndarray
    reject: Reject | None = None  # the document could not be read


def site_signature(doc: PreparedDocument) -> SiteSignature:
    """The first part comes from `learn_site_boilerplate` itself."""
    site = doc.site_key
    if site is None:
        return SiteSignature(doc.raw.doc_id, _EMPTY, _EMPTY)
    learned = learn_site_boilerplate([doc], min_support=1).lines_by_site.get(site, frozenset())
    return SiteSignature(doc.raw.doc_id, _hashes(site, learned), _hashes(site, {line_key(p.text) for p in doc.paragraphs}))


@collector.paused()
def prepare_batch(raw_uri: str, items: Sequence[Item], keys: Sequence[str], store: PackStore) -> str:
    """Pass 1 of a batch of documents: the prepared documents and their site
    signatures, stored as one pack; returns the pack's name."""
    found = read_items(raw_uri, items, store.folder("prepare"))  # record files' local copies go to the cache
    prepared, signatures = {}, {}
    for k, document in zip(keys, found):
        if isinstance(document, Reject):
            signatures[k] = SiteSignature(document.doc_id, _EMPTY, _EMPTY, document)
            continue
        prepared[k] = prepare(document)
        signatures[k] = site_signature(prepared[k])
    return store.write("prepare", keys, {"sig": signatures, "data": prepared})


def site_support(signatures: Iterable[SiteSignature], min_support: int = SITE_MIN_SUPPORT) -> np.ndarray:
    """Reduce: the sorted (site, line) hashes seen in >= min_support documents."""
    return _supported([s.learned for s in signatures], min_support)


def _supported(learned: Sequence[np.ndarray], min_support: int) -> np.ndarray:
    """The sorted hashes found in >= min_support of the arrays `learned`
    (each document's hashes are distinct)."""
    unique, counts = np.unique(np.concatenate([_EMPTY, *learned]), return_counts=True)
    return unique[counts >= min_support]


class SitePass(NamedTuple):
    """What the site pass gives the flow: the supported hashes (for the
    clean tasks), and per document (in the order asked) its clean key, or
    its Reject when it could not be read (then no key)."""

    supported: np.ndarray
    keys: list[str | None]
    rejects: list[Reject | None]


def site_pass(store: PackStore, first: Sequence[str], min_support: int = SITE_MIN_SUPPORT) -> SitePass:
    """Reduce: `site_support` over the signatures of the documents `first`
    (prepare keys), then each document's `clean_key`, reading each prepare
    pack's signatures once and keeping of them only two arrays per pack
    (the hashes learned, and those asked with where each document's
    start).  At 1 GB of input, 150k signatures held as objects left the
    flow's process 230 MB larger for the rest of the build."""
    learned, asked = [], []  # per pack: its hashes learned; (positions, asked hashes, their bounds)
    rejects: list[Reject | None] = [None] * len(first)
    for positions, signatures in store.by_pack("prepare", "sig", first):
        learned.append(np.concatenate([_EMPTY, *(s.learned for s in signatures)]))
        asked.append((positions, np.concatenate([_EMPTY, *(s.asked for s in signatures)]),
                      np.cumsum([0] + [len(s.asked) for s in signatures])))
        for position, signature in zip(positions, signatures):
            rejects[position] = signature.reject
        del signatures
    supported = _supported(learned, min_support)
    del learned
    keys: list[str | None] = [None] * len(first)
    for positions, hashes, bounds in asked:
        seen = _member(supported, hashes)
        for n, position in enumerate(positions):
            if rejects[position] is None:
                mine = hashes[bounds[n]:bounds[n + 1]]
                keys[position] = _clean_key(first[position], mine[seen[bounds[n]:bounds[n + 1]]])
    return SitePass(supported, keys, rejects)


def _member(supported: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of `values` are in `supported` (sorted): a boolean mask."""
    return quotes.sorted_positions(supported, values)[1]


def clean_key(first: str, signature: SiteSignature, supported: np.ndarray) -> str:
    """A document's second-pass key: its first-pass key and the site lines it sees."""
    return _clean_key(first, signature.asked[_member(supported, signature.asked)])


def _clean_key(first: str, seen: np.ndarray) -> str:
    return key("clean", first, seen.tobytes().hex())


def site_model(doc: PreparedDocument, supported: np.ndarray) -> SiteBoilerplate:
    """The document's own lines that the corpus repeats enough: to
    `boilerplate.classify` the same answers as the whole-corpus model."""
    site = doc.site_key  # a property that parses the site name: asked once, not per line
    if site is None:
        return SiteBoilerplate({}, SITE_MIN_SUPPORT)
    hashes = {k: _site_hash(site, k) for k in {line_key(p.text) for p in doc.paragraphs}}
    known = _member(supported, np.fromiter(hashes.values(), dtype=np.uint64, count=len(hashes)))
    mine = frozenset(k for k, found in zip(hashes, known) if found)
    return SiteBoilerplate({site: mine} if mine else {}, SITE_MIN_SUPPORT)


# --- pass 2: clean ---------------------------------------------------------------------


@dataclass
class DocumentSummary:
    """What the corpus passes need of one cleaned document."""

    signature: dict  # dedup.DocumentSignature.to_record()
    speaker_turns: list[tuple]  # (turn_index, speaker_id, speaker, title, label, role)
    quote_count: int  # quotations of a non-transcript, not yet linked (stored apart: part "quotes")


def summarize_document(result: CleanDocument) -> tuple[DocumentSummary, quotes.TurnSketches | None, list[dict]]:
    """What the corpus passes need of a cleaned document, the sketches of its
    turns for the quote index (None without turns) and the quotations it
    makes (`document_quotes`).  They are stored apart: the sketches are most
    of the bytes and are read only when the index is built, the quotations
    only by the link tasks (and assembly), never by the corpus pass."""
    row = result.document
    found = document_quotes(result)
    summary = DocumentSummary(
        dedup.document_signature(row["doc_id"], row["text"]).to_record(),
        [(t["turn_index"], speaker_id(t), t["speaker"], t["speaker_title"], t["speaker_label"], t["speaker_role"])
         for t in result.turns],
        len(found),
    )
    return summary, (quotes.TurnSketches.of_turns(result.turns) if result.turns else None), found


def document_quotes(document: CleanDocument) -> list[dict]:
    """The quotations of one document, as `corpus.build_quotes` finds them."""
    row = document.document
    if row["doc_type"] == "transcript" or not row["text"]:
        return []
    lines = [(s["line_start"], s["line_end"]) for s in document.segments if s["status"] in ("kept", "trimmed")]
    return quotes.extract_quotes(row["doc_id"], row["text"], lines)


@collector.paused()
def clean_batch(raw_uri: str, items: Sequence[Item], first_keys: Sequence[str], keys: Sequence[str],
                supported: np.ndarray, store: PackStore) -> str:
    """Pass 2 of a batch of documents (none of them rejected): cleaned with
    the site lines each sees, summarised for the corpus passes; one pack."""
    index = store.index("prepare")
    packs: dict[str, dict] = {}
    cleaned, summaries, sketches, found = {}, {}, {}, {}
    for item, first, k in zip(items, first_keys, keys):
        doc = _prepared(raw_uri, item, packs, store, index.get(first), first)
        cleaned[k] = clean(doc, site_model(doc, supported))
        summaries[k], sketch, quotations = summarize_document(cleaned[k])
        if sketch is not None:
            sketches[k] = sketch
        if quotations:
            found[k] = quotations
    # a rebuild's assembly reads a few documents of many packs: their data and quotations, value by value
    return store.write("clean", keys, {"sum": summaries, "sketch": sketches, "spoken": list(sketches),
                                       "quotes": KeyedPart(found), "data": KeyedPart(cleaned)})


def _prepared(raw_uri: str, item: Item, packs: dict[str, dict], store: PackStore, pack: str | None,
              first: str) -> PreparedDocument:
    """The document's first-pass result from its pack (`packs` keeps the packs
    read, less the documents taken: a batch holds each prepared document
    only until it is cleaned), or prepared again when the pack was pruned
    or lost."""
    if pack is not None and pack not in packs:
        try:
            packs[pack] = store.load("prepare", pack, "data")
        except OSError:
            packs[pack] = {}
    doc = packs.get(pack, {}).pop(first, None)
    if doc is None:
        document = read_items(raw_uri, [item], store.folder("prepare"))[0]
        if isinstance(document, Reject):
            raise RuntimeError(f"{item.source_path} can no longer be read: {document.reason}")
        doc = prepare(document)
    return doc


# --- reduce: the corpus passes -----------------------------------------------------


class Clusters:
    """doc_id -> the duplicate-cluster columns (`dedup.cluster_rows`) of
    every document of the corpus pass.  Only the documents with a duplicate
    are stored: the others are their own cluster (at 1 GB of input, with a
    dict of columns for each of 150k documents, the clustering left the
    flow's process ~150 MB larger, to the write phase)."""

    def __init__(self, doc_ids: Iterable[str], shared: Mapping[str, dedup.DocumentCluster]):
        self._doc_ids = frozenset(doc_ids)
        self._shared = {doc_id: _columns(doc_id, cluster) for doc_id, cluster in shared.items()}

    def __getitem__(self, doc_id: str) -> dict:
        if doc_id in self._shared:
            return self._shared[doc_id]
        if doc_id not in self._doc_ids:
            raise KeyError(doc_id)
        return _columns(doc_id, dedup.unique_cluster(doc_id))


def _columns(doc_id: str, cluster: dedup.DocumentCluster) -> dict:
    row = dedup.cluster_rows({doc_id: cluster})[0]
    del row["doc_id"]
    return row


def cluster_columns(signatures: dedup.SignatureColumns) -> Clusters:
    """The duplicate-cluster columns of the documents of `signatures`."""
    return Clusters(signatures.doc_ids, dedup.duplicate_clusters(signatures))


SPEAKER_TURNS = pa.schema([("rank", pa.int64()), ("index", pa.int64()), ("speaker_id", pa.string()),
                           ("speaker", pa.string()), ("title", pa.string()), ("label", pa.string()),
                           ("role", pa.string()), ("doc_id", pa.string())])
"""Compact turns as `speaker_table` reads them: the document's rank in
ingest order and the turn's index, then the fields of
`DocumentSummary.speaker_turns`, and the doc_id."""


def speaker_turns_table(rows: Sequence[tuple]) -> pa.Table:
    """Rows of SPEAKER_TURNS (tuples) as a table: one per cache pack, so
    that the corpus pass never holds every turn as Python objects."""
    columns = list(zip(*rows)) if rows else [()] * len(SPEAKER_TURNS)
    return pa.table([pa.array(c, f.type) for c, f in zip(columns, SPEAKER_TURNS)], schema=SPEAKER_TURNS)


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """The distinct values of `column` sorted by code point (as Python
    sorts str: UTF-8 byte order), and each row's position among them (-1
    for a null), as int64."""
    values = pc.unique(column).drop_null()
    values = values.take(pc.sort_indices(values))
    codes = pc.index_in(column, value_set=values)
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    return codes.fill_null(-1).to_numpy().astype(np.int64), values


def _firsts(groups: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted `groups` starts."""
    if not len(groups):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


def _distinct_lists(groups: np.ndarray, count: int, column: pa.ChunkedArray) -> pa.ListArray:
    """For each of `count` groups (rows' group numbers `groups`), the
    distinct non-null values of `column` in its rows, sorted by code point."""
    codes, values = _codes(column)
    valid = codes >= 0
    width = max(len(values), 1)
    pairs = np.unique(groups[valid] * width + codes[valid])  # by group, then by value
    offsets = quotes._offsets(np.bincount(pairs // width, minlength=count))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values.take(pa.array(pairs % width)))


def speaker_table(turns: pa.Table) -> pa.Table:
    """The speakers table, as `corpus.build_speakers` makes it, from
    SPEAKER_TURNS: the first turn of a speaker (in ingest order) names it,
    the most frequent role wins (ties: not 'unknown', then the greatest
    name), its labels and documents sorted, rows by speaker_id (as
    `tables.to_arrow`).  Every column is read as codes into its sorted
    distinct values, and the groups are made with numpy on those integers:
    at 1 GB of input a million turns as tuples and 400k speakers as dicts
    were the corpus pass's peak, and then Arrow's sorted copy of the turns
    and its hash aggregations (~6x the turns' size, for a moment)."""
    speaker, ids = _codes(turns.column("speaker_id"))
    role, roles = _codes(turns.column("role"))
    if (speaker < 0).any() or (role < 0).any():
        raise ValueError("a speaker turn without a speaker_id or a role")
    count = len(ids)
    # the first turn of each speaker in (rank, index) order
    order = np.lexsort((turns.column("index").to_numpy(), turns.column("rank").to_numpy(), speaker))
    first = pa.array(order[_firsts(speaker[order])])
    del order
    # each (speaker, role) pair's turns; the best role is the last of its speaker's pairs in
    # (turns, known, name) order
    width = max(len(roles), 1)
    pairs, tally = np.unique(speaker * width + role, return_counts=True)
    owner, name = pairs // width, pairs % width
    known = np.asarray(pc.not_equal(roles, "unknown"), dtype=bool)[name]
    ranked = np.lexsort((name, known, tally, owner))
    starts = _firsts(owner[ranked])
    last = np.append(starts[1:], len(ranked))[:len(starts)] - 1
    columns = {"speaker_id": ids, "name": turns.column("speaker").take(first),
               "role": roles.take(pa.array(name[ranked[last]])),
               "title": turns.column("title").take(first),
               "aliases": _distinct_lists(speaker, count, turns.column("label")),
               "documents": _distinct_lists(speaker, count, turns.column("doc_id")),
               "turns": pa.array(np.bincount(speaker, minlength=count), pa.int64()).cast(pa.int32())}
    return pa.table([columns[f.name] for f in SPEAKERS.arrow_schema], schema=SPEAKERS.arrow_schema)


def _by_pack(store: PackStore, documents: Sequence[tuple[str, tuple, str]]) -> list[tuple[str, list[tuple]]]:
    """`documents` ((doc_id, ingest order, clean key) triples) grouped by
    their clean pack, packs in name order (each read once)."""
    index = store.index("clean")
    by_pack: dict[str, list[tuple[str, tuple, str]]] = defaultdict(list)
    for doc_id, order, k in documents:
        by_pack[index[k]].append((doc_id, order, k))
    return sorted(by_pack.items())


@collector.paused()
def corpus_pass(store: PackStore, documents: Sequence[tuple[str, tuple, str]]) -> dict:
    """Reduce: near-duplicate clusters and the speakers table, from the
    cached summaries of `documents` ((doc_id, ingest order, clean key)
    triples).  Returns the clusters by doc_id, the speakers table (and its
    key in the cache: `_speakers`) and the documents that make quotations
    ((clean key, how many) pairs: the link tasks read the quotations from
    the cache).  The quote index is `quote_index_pass`'s: the assembly
    needs the clusters only, so it can run while the index is made."""
    signatures, speaker_turns, quoting = dedup.SignatureColumns(), [], []
    speaker_documents = []  # what the speakers table reads: the documents with speaker turns, and their order
    rank = {doc_id: n for n, (doc_id, _, _) in enumerate(sorted(documents, key=lambda d: d[1]))}
    for pack, members in _by_pack(store, documents):
        summaries = store.load("clean", pack, "sum")
        rows = []
        for doc_id, order, k in members:
            summary: DocumentSummary = summaries[k]
            signatures.append(doc_id, summary.signature)
            if summary.speaker_turns:  # one per turn: the documents with turns
                speaker_documents.append((doc_id, order, k))
                rows += [(rank[doc_id], *turn, doc_id) for turn in summary.speaker_turns]
            if summary.quote_count:
                quoting.append((k, summary.quote_count))  # the quotations stay in the cache
        speaker_turns.append(speaker_turns_table(rows))
        del summaries, rows
    del rank
    clusters = cluster_columns(signatures)
    del signatures
    speakers_at = speakers_key(speaker_documents)
    speakers = _speakers(store, speakers_at, speaker_turns)
    return {"clusters": clusters, "speakers": speakers, "speakers_key": speakers_at, "quoting": quoting}


@collector.paused()
def quote_index_pass(store: PackStore, documents: Sequence[tuple[str, tuple, str]],
                     previous: str | None = None) -> dict:
    """Reduce: the quote index of the turns of `documents` ((doc_id, ingest
    order, clean key) triples), its pack (stage "index", for `link_batch`)
    and key, and how it was made ("index_made").

    The index's key is the clean keys of the documents that have turns (each
    clean pack lists them: part "spoken"): a rebuild in which no transcript
    changed reuses it ("reused").  A new index is the last build's updated
    when `previous` (its key) is still cached (`update_quote_index`:
    "updated"), else built from every document's sketches ("built"); then
    "relink" says what a link made against the last index needs to be kept
    (`relink_plan`), or is None when that index is gone."""
    speaking: dict[str, str] = {}  # doc_id -> clean key, the documents with turns in pack order
    for pack, members in _by_pack(store, documents):
        spoken = set(store.load("clean", pack, "spoken"))
        speaking.update((doc_id, k) for doc_id, _, k in members if k in spoken)
    index_key = quote_index_key(speaking.values())
    pack = store.index("index").get(index_key)
    made = "reused"
    if pack is None:  # the sketches are read only when the index must be made
        parts = {part: store.temporary("index", part) for part in INDEX_PARTS}
        made = "updated" if update_quote_index(store, previous, speaking, *parts.values()) else "built"
        if made == "built":  # out of core: one pack's sketches at a time, spilled, then written chunk by chunk
            index_build.build_index((quotes.TurnSketches.concat(sketches, consume=True)
                                     for sketches in store.load_by_pack("clean", "sketch", list(speaking.values()))),
                                    *parts.values(), scratch=store.folder("index"))
        pack = store.write("index", [index_key], {**parts, "members": speaking})
    relink = None if made == "reused" else relink_plan(store, previous, pack, speaking)
    return {"index": pack, "index_key": index_key, "index_made": made, "relink": relink}


UPDATE_MOST_DOCUMENTS, UPDATE_MOST_SHARE = 64, 0.02
"""`update_quote_index` takes out and puts in the turns of at most this many
documents, or this share of the documents with turns if more: it holds
the added documents' sketches at once.  Beyond, the index is built out of
core (`index_build.build_index`), one pack's sketches at a time: after a
code change, every document's clean key is new and an update would hold
every sketch."""


def update_quote_index(store: PackStore, previous: str | None, members: Mapping[str, str], arrays: Path,
                       strings: Path) -> bool:
    """Write the quote index of the documents `members` (doc_id -> clean
    key, the documents with turns) by updating the last build's, cached
    under the key `previous` with its own members
    (`index_build.update_index`): the turns of the documents whose clean
    key differs, or that are gone, are taken out, those of the documents
    whose clean key is new put in (their sketches read from the cache).
    False when that index is gone or unreadable, when more documents
    changed than `UPDATE_MOST_DOCUMENTS` / `UPDATE_MOST_SHARE` allow, or a
    turn id would be both kept and added: the index is then built from
    every sketch."""
    old_pack = store.index("index").get(previous) if previous else None
    if old_pack is None:
        return False
    try:
        old_members = store.load("index", old_pack, "members")
        changed = changed_documents(old_members, members)
        if len(changed) > max(UPDATE_MOST_DOCUMENTS, UPDATE_MOST_SHARE * len(members)):
            return False
        old = mapped_index(store, old_pack)
        added = [members[d] for d in changed if d in members]
        sketches = [s for part in store.load_by_pack("clean", "sketch", added) for s in part]
        index_build.update_index(old, changed, quotes.TurnSketches.concat(sketches, consume=True), arrays, strings)
    except (OSError, EOFError, ValueError, KeyError, AttributeError, pickle.UnpicklingError):
        return False
    return True


def _speakers(store: PackStore, at: str, turns: list[pa.Table]) -> pa.Table:
    """The speakers table (`speaker_table` of the `turns`, a SPEAKER_TURNS
    table per pack), kept in the cache (stage "speakers") under `at`
    (`speakers_key` of the documents with speaker turns): a rebuild that
    changed no such document (articles edited, say) reads it back."""
    pack = store.index("speakers").get(at)
    if pack is not None:
        try:
            return read_part(store.path("speakers", pack, "speakers.arrow"))
        except (OSError, pa.ArrowInvalid):
            pass  # damaged: made again
    speakers = speaker_table(pa.concat_tables(turns) if turns else SPEAKER_TURNS.empty_table())
    path = store.temporary("speakers", "speakers")
    write_part(speakers, path)
    store.write("speakers", [at], {"speakers.arrow": path})
    return speakers


def speakers_key(documents: Sequence[tuple]) -> str:
    """The key of the speakers table: (doc_id, ingest order, clean key) of
    each document with speaker turns, in ingest order."""
    return key("speakers", *(f"{d}\t{o}\t{k}" for d, o, k in sorted(documents, key=lambda t: t[1])))


def relink_plan(store: PackStore, previous: str | None, pack: str, members: Mapping[str, str]) -> dict | None:
    """What `link_batch` needs to keep links made against the index cached
    under `previous` (`quotes.relink_quotes`): its key and pack, the stems
    whose weight changed and the turns that changed (in the documents whose
    clean key differs, added or gone: `quotes.changed_turns`).  When every
    weight changed, "stale" and "changed" are None: every quotation is
    linked again, reading back the fuzzy scores kept with its last links.
    None when that index is gone or unreadable."""
    old_pack = store.index("index").get(previous) if previous else None
    if old_pack is None or old_pack == pack:
        return None
    try:
        old_members = store.load("index", old_pack, "members")
        old, new = mapped_index(store, old_pack), mapped_index(store, pack)
        stale = quotes.stale_stems(old, new)
        documents = changed_documents(old_members, members)
        changed = None if stale is None else sorted(quotes.changed_turns(old, new, documents))
    except (OSError, EOFError, ValueError, KeyError, AttributeError, pickle.UnpicklingError):
        return None  # an index saved without what this needs, or damaged: link everything again
    return {"key": previous, "pack": old_pack, "stale": stale, "changed": changed}


_LATEST_INDEX = "latest-index"
"""Kept at the cache root: the key of the last complete build's quote index."""


def remember_index(store: PackStore, index_key: str) -> None:
    """Record the quote index of a complete build, for the next one's `relink_plan`."""
    store.remember(_LATEST_INDEX, index_key)


def latest_index(store: PackStore) -> str | None:
    """The key `remember_index` recorded, if any."""
    return store.recall(_LATEST_INDEX)


def quote_index_key(clean_keys: Iterable[str]) -> str:
    """The quote index's key: the clean keys of the documents with turns."""
    return key("index", *sorted(clean_keys))


def links_key(index_key: str, clean: str) -> str:
    """The key of a document's linked quotes: the index and the document's
    clean key (its quotations).  Linking a quotation reads nothing else."""
    return key("links", index_key, clean)


class Linked(NamedTuple):
    """What `link_batch` did: its pack of stage "links", how many quotations
    it linked, how many fuzzy scores it read back and how many links or
    checks it copied (`quotes.SharedLinks`)."""

    pack: str
    linked: int
    read_back: int
    copied: int


def link_batch(store: PackStore, pack: str, keys: Sequence[str], cleans: Sequence[str],
               previous_keys: Sequence[str | None] | None = None, relink: Mapping | None = None) -> Linked:
    """Map: the quotations of a batch of documents (read from the clean
    pass's packs under their clean keys `cleans`) linked to the turns they
    come from (`quotes.link_quotes`) against the corpus's quote index
    (stage "index", pack `pack`); stored per document under `keys`
    (`links_key`) as a pack of stage "links", with the fuzzy scores
    computed (`quotes.FuzzyMemo`).  A document with a previous key has
    links made against the index of `relink` (`relink_plan`) under it:
    those that read nothing changed are kept (`quotes.relink_quotes`), and
    those linked again read back the fuzzy scores kept with them.  A
    quotation of a text already linked (or checked) in this process, in a
    document with no turns, copies that link (`quotes.SharedLinks`)."""
    index = mapped_index(store, pack)
    mapped = [index]  # the indexes this task reads, whose pages it releases as it goes
    previous_keys = previous_keys or [None] * len(keys)
    known = [k for k in previous_keys if k is not None]
    old, old_rows, old_memos, old_cuts, changes = None, {}, {}, {}, None
    if relink is not None and known:
        if relink["stale"] is not None:  # else every quote is linked again: the old index is not read
            old = mapped_index(store, relink["pack"])
            mapped.append(old)
            changes = _turn_changes(relink["pack"], pack, tuple(relink["changed"]), old, index)
        old_rows = dict(zip(known, store.load_many("links", "rows", known)))
        try:
            old_memos = dict(zip(known, store.load_many("links", "fuzzy", known)))
        except (OSError, EOFError, pickle.UnpicklingError):
            old_memos = {}  # lost: the scores are computed again
        try:
            old_cuts = dict(zip(known, store.load_many("links", "cuts", known)))
        except (OSError, EOFError, KeyError, pickle.UnpicklingError):
            old_cuts = {}  # lost: the checks search the old index
        changed = frozenset(relink["changed"] or ())
    found = store.load_many("clean", "quotes", cleans)
    shared = _shared_links(pack, None)  # this process's links by text, for every task it runs
    shared_relinks = _shared_links(pack, relink["pack"]) if relink is not None and known else None
    # the indexes' pages read leave this process's RSS as they pass the budget
    pages = heap.MappedPages(lambda: [each.release_pages() for each in mapped], MAPPED_PAGES_BUDGET)
    rows, memos, cuts, linked, read_back, copied = {}, {}, {}, 0, 0, 0
    for k, q, before in zip(keys, found, previous_keys):
        memo = quotes.FuzzyMemo(old_memos.get(before))
        if before is not None and relink is not None:
            cut = _unpacked_cuts(old_cuts.get(before), len(q))
            rows[k], count = quotes.relink_quotes(q, old_rows[before], old, index, relink["stale"], changed,
                                                  changes, memo, shared_relinks, pages.check, cut)
            # a kept quote whose cut was unknown: its search in `index` gives it
            cut = [quotes.search_cut(quote, index) if c is None else c for quote, c in zip(q, cut)]
        else:
            rows[k], count = quotes.link_quotes(q, index, memo, shared, pages.check), len(q)
            cut = [quotes.search_cut(quote, index) for quote in q]  # kept by the index: no search again
        cuts[k] = (np.array([c.weight for c in cut], dtype=np.float64), [c.last for c in cut])
        memos[k] = memo.table()
        linked, read_back, copied = linked + count, read_back + memo.read_back, copied + memo.copied
    pages.release_now()
    return Linked(store.write("links", keys, {"rows": rows, "fuzzy": memos, "cuts": cuts}), linked, read_back, copied)


def _unpacked_cuts(packed, quotations: int) -> list[quotes.Cut | None]:
    """The cuts `link_batch` stored for a document's quotations ((weights,
    last ids)), or None for each when there are none to read."""
    try:
        weights, lasts = packed
        if len(weights) == len(lasts) == quotations:
            return [quotes.Cut(weight, last) for weight, last in zip(weights.tolist(), lasts)]
    except (TypeError, ValueError, AttributeError):
        pass  # none, or not of this form: the checks search the old index
    return [None] * quotations


def quotes_table(store: PackStore, keys: Sequence[str]) -> pa.Table:
    """The quotes table from the linked rows stored under `keys`, made a
    pack at a time (Arrow parts, then sorted by the table's key as
    `tables.to_arrow` sorts): the flow never holds every quote as a dict."""
    parts = [to_arrow(QUOTES, ())]
    for rows in store.load_by_pack("links", "rows", keys):
        parts.append(to_arrow(QUOTES, (row for document in rows for row in document)))
        del rows
    return pa.concat_tables(parts).sort_by([(name, "ascending") for name in QUOTES.sort_by])


MAPPED_PAGES_BUDGET = 256 << 20
"""Bytes of the quote indexes' pages a link task lets this process map
before it releases them (`heap.MappedPages`; they stay in the page cache)."""


INDEX_PARTS = ("arrays", "strings")
"""The files of a quote index pack (`quotes.TurnIndex.save`)."""


def mapped_index(store: PackStore, pack: str) -> quotes.TurnIndex:
    """The quote index of pack `pack` (stage "index"), mapped once per process (`_load_index`)."""
    return _load_index(*(str(store.path("index", pack, part)) for part in INDEX_PARTS))


def changed_documents(old_members: Mapping[str, str], members: Mapping[str, str]) -> list[str]:
    """The documents of either of two indexes' members (doc_id -> clean
    key) whose clean key differs between them, or that one has only: the
    documents whose turns may differ.  Sorted."""
    return sorted(d for d in old_members.keys() | members.keys() if old_members.get(d) != members.get(d))


@functools.lru_cache(maxsize=2)
def _load_index(arrays: str, strings: str) -> quotes.TurnIndex:
    """The quote index, mapped once per process for all the batches it
    links (and the previous build's, to keep links made against it).  A
    Dask worker keeps the last two it mapped until it maps others (a local
    cluster's workers end with the build)."""
    return quotes.TurnIndex.load(Path(arrays), Path(strings))


@functools.lru_cache(maxsize=1)
def _turn_changes(old_pack: str, pack: str, changed: tuple[str, ...], old: quotes.TurnIndex,
                  new: quotes.TurnIndex) -> quotes.TurnChanges:
    """This process's `quotes.TurnChanges` between the indexes of `old_pack`
    and `pack`, for all the link tasks it runs in one build (the indexes are
    the mapped ones of those packs: `mapped_index`)."""
    return quotes.TurnChanges(old, new, changed)


@functools.lru_cache(maxsize=2)
def _shared_links(pack: str, old_pack: str | None) -> quotes.SharedLinks:
    """This process's links by text against the index of `pack` (and the
    checks against the old index of `old_pack` when relinking), for all the
    link tasks it runs in one build."""
    return quotes.SharedLinks()


def forget_index() -> None:
    """Drop this process's copy of the quote index, and the links it shared."""
    _load_index.cache_clear()
    _shared_links.cache_clear()
    _turn_changes.cache_clear()


def release_memory() -> None:
    """Between passes: drop this process's quote index and the stages'
    memos (`heap.forget_caches`), and give its free heap pages back
    (`heap.trim`)."""
    forget_index()
    heap.forget_caches()
    heap.trim()


# --- assembly ---------------------------------------------------------------------------


PART_TABLES = ("documents", "segments", "turns")
"""Tables assembled per document; speakers, quotes and rejects come whole
from the reduce passes."""
_MATCH_COLUMNS = ("matched_turn_id", "matched_doc_id", "matched_speaker", "match_score", "match_method",
                  "matched_start", "matched_end")


def finish_documents(cleaned: Sequence[CleanDocument], clusters: Mapping[str, dict]) -> list[CleanDocument]:
    """The documents with their cluster columns, and turns with speaker_id."""
    for document in cleaned:
        document.document.update(clusters[document.document["doc_id"]])
        for turn in document.turns:
            turn["speaker_id"] = speaker_id(turn)
    return cleaned


def final_key(clean: str, cluster: Mapping[str, object]) -> str:
    """A document's last key: its clean key and its duplicate-cluster columns."""
    return key("final", clean, sorted(cluster.items()))


def _runs(column: pa.ChunkedArray) -> dict[str, tuple[int, int]]:
    """doc_id -> (first row, rows) in a table sorted by doc_id."""
    runs: dict[str, tuple[int, int]] = {}
    for row, doc_id in enumerate(column.to_pylist()):
        first, count = runs.get(doc_id, (row, 0))
        runs[doc_id] = (first, count + 1)
    return runs


@dataclass
class AssembleResult:
    pack: str | None
    failures: list  # schemas.validation.Failure (empty: valid)


@collector.paused()
def assemble_batch(store: PackStore, documents: Sequence[tuple[str, str, str]], clusters: Mapping[str, dict],
                   build_tables) -> AssembleResult:
    """The final documents, segments and turns rows of a batch of documents
    ((doc_id, clean key, final key) triples), validated (every check within a
    document, and quote spans against their document), stored as a pack of
    Arrow files with each document's row range.  `build_tables` is
    `tables.build_tables`."""
    from schemas.validation import validate_release

    index = store.index("clean")
    by_pack: dict[str, list[str]] = defaultdict(list)
    for _, k, _ in documents:
        by_pack[index[k]].append(k)
    cleaned, found = {}, []
    for pack, keys in by_pack.items():
        data, quotations = store.load("clean", pack, "data"), store.load("clean", pack, "quotes")
        for k in keys:
            cleaned[k] = data[k]
            found += [{**q, **dict.fromkeys(_MATCH_COLUMNS)} for q in quotations.get(k, ())]
    docs = finish_documents([cleaned[k] for _, k, _ in documents], clusters)
    tables = build_tables(docs, [], (), found)
    report = validate_release({name: tables[name] for name in (*PART_TABLES, "quotes")})
    if not report.ok:
        return AssembleResult(None, report.failures)
    runs = {name: _runs(tables[name].column("doc_id")) for name in PART_TABLES}
    # what the writer reads, pack by pack: each document's rows in the tables
    rows = {final: {name: runs[name].get(doc_id, (0, 0)) for name in PART_TABLES} for doc_id, _, final in documents}
    parts = {}
    for name in PART_TABLES:
        path = store.temporary("final", name)
        write_part(tables[name], path)
        parts[f"{name}.arrow"] = path
    parts["summary"], parts["rows"] = pack_summary(documents, tables, rows), rows
    return AssembleResult(store.write("final", [f for _, _, f in documents], parts), [])


def pack_summary(documents: Sequence[tuple[str, str, str]], tables: Mapping[str, pa.Table],
                 rows: Mapping[str, Mapping[str, tuple[int, int]]]) -> dict[str, pa.Table]:
    """What `release_summary` reads of a final pack, as Arrow tables keyed
    by each row's final key (column "final"): "documents" (doc_id, source
    sha256 and the document's rows in each of PART_TABLES), "turns" (the
    turns' digests, `changes.TURN_DIGESTS`) and "speakers" (the distinct
    speaker_ids of each document's turns)."""
    finals = pa.array([f for _, _, f in documents], pa.string())
    doc_ids = pa.array([d for d, _, _ in documents], pa.string())
    shas = dict(zip(*(tables["documents"].column(c).to_pylist() for c in ("doc_id", "source_sha256"))))

    def final_of(column: pa.ChunkedArray) -> pa.Array:
        return finals.take(pc.index_in(column, value_set=doc_ids))

    turns = tables["turns"]
    digests = turn_digests(turns)
    speaking = turns.select(["doc_id", "speaker_id"]).group_by(["doc_id", "speaker_id"], use_threads=False).aggregate([])
    return {
        "documents": pa.table({"final": finals, "doc_id": doc_ids,
                               "sha256": pa.array([shas[d] for d, _, _ in documents], pa.string()),
                               **{name: pa.array([rows[f][name][1] for _, _, f in documents], pa.int64())
                                  for name in PART_TABLES}}),
        "turns": pa.table({"final": final_of(turns.column("doc_id")), "id": digests.column("id"),
                           "hash": digests.column("hash")}),
        "speakers": pa.table({"final": final_of(speaking.column("doc_id")),
                              "speaker_id": speaking.column("speaker_id")}),
    }


class ReleaseParts(NamedTuple):
    """What the final packs say of the release they make (`release_summary`)."""

    documents: dict[str, str]  # doc_id -> source sha256
    turns: pa.Table  # the turns' digests (`changes.TURN_DIGESTS`): every turn id as assembled
    rows: dict[str, int]  # rows of each table assembled per document
    speaker_ids: pa.Array  # the distinct speaker_ids of the assembled turns


def release_summary(store: PackStore, finals: Sequence[str]) -> ReleaseParts:
    """From the final packs of `finals`, a pack at a time (`pack_summary`):
    what `changes.compare` needs of the release, and the turn ids and
    speaker_ids the assembled turns rows hold (`validate_corpus` checks the
    quotes and the speakers table against them)."""
    index = store.index("final")
    wanted: dict[str, set[str]] = defaultdict(set)
    for final in finals:
        wanted[index[final]].add(final)
    documents, digests, speakers = [], [no_turns()], [pa.array([], pa.string())]
    rows = dict.fromkeys(PART_TABLES, 0)
    for pack, keys in sorted(wanted.items()):
        summary = store.load("final", pack, "summary")
        if len(keys) < summary["documents"].num_rows:  # some of its documents were assembled again since
            value_set = pa.array(sorted(keys), pa.string())
            summary = {name: table.filter(pc.is_in(table.column("final"), value_set=value_set))
                       for name, table in summary.items()}
        docs = summary["documents"]
        documents.append(docs.select(["doc_id", "sha256"]))
        for name in PART_TABLES:
            rows[name] += pc.sum(docs.column(name)).as_py() or 0
        digests.append(summary["turns"].select(["id", "hash"]).cast(TURN_DIGESTS))
        speakers.append(pc.unique(summary["speakers"].column("speaker_id")).cast(pa.string()))
        del summary
    docs = pa.concat_tables(documents) if documents else pa.table({"doc_id": [], "sha256": []})
    return ReleaseParts(dict(zip(docs.column("doc_id").to_pylist(), docs.column("sha256").to_pylist())),
                        pa.concat_tables(digests), rows, pc.unique(pa.chunked_array(speakers, pa.string())))


def write_part(table: pa.Table, path) -> None:
    """An Arrow IPC file (lz4-compressed buffers)."""
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)


def read_part(path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def document_slices(store: PackStore, finals: Sequence[str], name: str) -> Iterable[pa.Table]:
    """The rows of table `name` for the documents `finals` (final keys, in
    doc_id order), as slices of the packs' tables (consecutive rows of a
    pack are one slice).  Only the last PACKS_OPEN packs read are held,
    their tables and row ranges: at 1 GB of input, every pack's turn
    digests (then in the part read for the row ranges) held to the end were
    ~300 MB in each of the three writers."""
    index = store.index("final")
    tables: OrderedDict[str, pa.Table] = OrderedDict()
    ranges: OrderedDict[str, dict] = OrderedDict()
    run: list = []  # [pack, first, count]
    for final in finals:
        pack = index[final]
        first, count = _recent(ranges, pack, lambda: store.load("final", pack, "rows"))[final][name]
        if not count:
            continue
        if run and run[0] == pack and run[1] + run[2] == first:
            run[2] += count
            continue
        if run:
            yield _slice(store, tables, name, *run)
        run = [pack, first, count]
    if run:
        yield _slice(store, tables, name, *run)


PACKS_OPEN = 4
"""Final packs `document_slices` keeps read at once.  A pack holds documents
of one stretch of doc_ids, so a full build reads each once; a rebuild's
packs of edited documents interleave with a few older ones."""


def _recent(held: OrderedDict, pack: str, load: Callable[[], object]):
    """`held[pack]`, loaded if need be; the PACKS_OPEN used last are kept."""
    if pack in held:
        held.move_to_end(pack)
    else:
        held[pack] = load()
        if len(held) > PACKS_OPEN:
            held.popitem(last=False)
    return held[pack]


def _slice(store: PackStore, tables: OrderedDict, name: str, pack: str, first: int, count: int) -> pa.Table:
    return _recent(tables, pack, lambda: read_part(store.path("final", pack, f"{name}.arrow"))).slice(first, count)


def validate_corpus(tables: Mapping[str, pa.Table], assembled: ReleaseParts | None):
    """The checks that need the whole corpus and are not in `assemble_batch`:
    the speakers, quotes (with their links) and rejects tables against their
    schemas and, given the `assembled` turns (`release_summary`), every
    turn's speaker_id in speakers and every link to a real turn.  Those are
    the turns rows as assembled, not the summaries the speakers table and
    the quote index were made from: a turn that came out of assembly
    otherwise is reported."""
    from schemas.validation import ValidationReport, _check_schema, to_pandas

    report = ValidationReport()
    for name in ("speakers", "quotes", "rejects"):
        _check_schema(report, name, to_pandas(tables[name]))
    if assembled is None:
        return report
    speakers = assembled.speaker_ids
    named = pc.fill_null(pc.is_in(speakers, value_set=tables["speakers"].column("speaker_id")), False)
    report.add("turns", "speaker_id names a row of speakers",
               sorted(set(speakers.filter(pc.invert(named)).to_pylist()), key=str))
    matched = tables["quotes"].column("matched_turn_id")
    unknown = pc.and_(pc.is_valid(matched), pc.invert(pc.is_in(matched, value_set=assembled.turns.column("id"))))
    report.add("quotes", "matched_turn_id names a turn", tables["quotes"].column("id").filter(unknown).to_pylist())
    return report
