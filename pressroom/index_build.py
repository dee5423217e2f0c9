"""The quote index built out of core: `build_index`.

`quotes.TurnIndex(sketches)` builds the index from every turn's sketches
held at once (at 1 GB of input, ~7 GB in the flow's process).
`build_index` writes the same index, array for array and string for string
(a test checks it), reading the sketches one part at a time (the corpus
pass gives a pack of the clean stage per part).  It holds at once: per turn
its id, doc_id and speaker (Arrow strings) and a few counts; per stem its hash and two counts;
and one chunk of turns, about `budget` bytes of their sketches.

1. Spill: each part is put in turn id order and written to a scratch file;
   its stems are counted (sentences and turns holding each).
2. Order: all turn ids are sorted.  A part's turns are in that order
   already, so a run of consecutive turns of the index takes a run of each
   part's turns: a few contiguous reads of each spill file.
3. Chunks: runs of turns of about `budget` bytes, in id order, read back,
   joined in order, their arrays (`quotes.index_arrays`) written after the
   previous chunk's (`quotes.IndexFileWriter`), their strings as a record
   batch, their (stem, turn) pairs to scratch files by range of stems.
4. Postings: each range's pairs sorted (by stem, then turn) and written:
   the stems' posting lists, in column order.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pressroom import quotes
from pressroom.quotes import IndexSizes, TurnSketches

BUDGET = 8 << 20
"""Bytes of sketches per chunk of turns.  A chunk holds 5-8 times that at its peak: on the
200 MB generated corpus, 32 MiB chunks build its index (411 MiB) at a peak of 364 MiB RSS in 7.8 s; in
memory, 1,234 MiB in 7.2 s.  In the flow's process (the corpus pass), 8 MiB chunks take the build
from +145 to +37 MB over its start, in the same time (5.0 s against 5.1)."""

_LEVELS = {"sentences": ("start", "end", "words", "stem_count", "gram_count", "seam_count"), "entries": ("stems",),
           "grams": ("grams",), "seams": ("seams",)}
"""The arrays of `TurnSketches` a spill file holds, by the level that counts their items."""


@dataclass
class _Spill:
    """One part's sketches in turn id order, in a scratch file: the arrays
    raw, one after the other, then the turns' texts as UTF-8.  Kept in
    memory: the per-turn columns and where each turn's items start in each
    array (`bounds[level]`, one more than the turns)."""

    path: Path
    sections: dict[str, tuple[int, np.dtype]]
    bounds: dict[str, np.ndarray]
    ids: pa.Array  # strings: ~60 bytes a turn held, not a Python str each
    doc_ids: pa.Array
    speakers: pa.Array
    sentence_count: np.ndarray
    turn_hashes: np.ndarray

    @classmethod
    def write(cls, part: TurnSketches, path: Path) -> _Spill:
        sentences = quotes._offsets(part.sentence_count)
        bounds = {"sentences": sentences}
        for level, count in (("entries", "stem_count"), ("grams", "gram_count"), ("seams", "seam_count")):
            bounds[level] = quotes._offsets(getattr(part, count))[sentences]
        texts = [t.encode() for t in part.texts]
        bounds["text"] = quotes._offsets(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        sections, offset = {}, 0
        with open(path, "wb") as handle:
            for names in _LEVELS.values():
                for name in names:
                    values = np.ascontiguousarray(getattr(part, name))
                    sections[name] = (offset, values.dtype)
                    handle.write(memoryview(values).cast("B"))
                    offset += values.nbytes
            sections["text"] = (offset, np.dtype(np.uint8))
            handle.write(b"".join(texts))
        strings = (pa.array(values, pa.string()) for values in (part.ids, part.doc_ids, part.speakers))
        return cls(path, sections, bounds, *strings, part.sentence_count, part.turn_hashes)

    def read(self, first: int, last: int) -> TurnSketches:
        """The sketches of this part's turns first .. last - 1 (in id order)."""
        columns = {}
        with open(self.path, "rb") as handle:
            fd = handle.fileno()
            for level, names in [*_LEVELS.items(), ("text", ("text",))]:
                lo, hi = int(self.bounds[level][first]), int(self.bounds[level][last])
                for name in names:
                    offset, dtype = self.sections[name]
                    data = os.pread(fd, (hi - lo) * dtype.itemsize, offset + lo * dtype.itemsize)
                    columns[name] = np.frombuffer(data, dtype=dtype) if name != "text" else data
        text, ends = columns.pop("text"), self.bounds["text"][first:last + 1] - self.bounds["text"][first]
        texts = [text[a:b].decode() for a, b in zip(ends[:-1].tolist(), ends[1:].tolist())]
        ids, doc_ids, speakers = (values.slice(first, last - first).to_pylist()
                                  for values in (self.ids, self.doc_ids, self.speakers))
        return TurnSketches(ids, doc_ids, speakers, texts, self.sentence_count[first:last],
                            self.turn_hashes[first:last], **columns)


@dataclass
class _StemCounts:
    """Per stem hash (sorted): how many sentences and how many turns hold it."""

    hashes: np.ndarray
    sentences: np.ndarray
    turns: np.ndarray

    @classmethod
    def of(cls, part: TurnSketches) -> _StemCounts:
        hashes, columns = np.unique(part.stems, return_inverse=True)
        pattern = quotes.turn_stem_pattern(part.sentence_count, part.stem_count, columns, len(hashes))
        return cls(hashes, np.bincount(columns, minlength=len(hashes)),
                   np.bincount(pattern.indices, minlength=len(hashes)))

    @classmethod
    def merge(cls, counts: list[_StemCounts]) -> _StemCounts:
        hashes, inverse = np.unique(np.concatenate([c.hashes for c in counts]), return_inverse=True)

        def total(name: str) -> np.ndarray:  # float64 sums: exact below 2^53
            values = np.concatenate([getattr(c, name) for c in counts]).astype(np.float64)
            return np.bincount(inverse, weights=values, minlength=len(hashes)).astype(np.int64)

        return cls(hashes, total("sentences"), total("turns"))


def _chunk_ends(cost: np.ndarray, budget: int) -> np.ndarray:
    """Where runs of consecutive turns costing at most `budget` each end
    (positions after their last turn); a turn costing more is a run alone."""
    total = np.concatenate(([0], np.cumsum(cost)))
    ends, start = [], 0
    while start < len(cost):
        start = max(int(np.searchsorted(total, total[start] + budget, side="right")) - 1, start + 1)
        ends.append(start)
    return np.array(ends, dtype=np.int64)


def build_index(parts: Iterable[TurnSketches], arrays_path: Path, strings_path: Path,
                scratch: Path | None = None, budget: int = BUDGET) -> None:
    """Write the quote index of the turns of `parts` (consumed one at a
    time) to the two files `quotes.TurnIndex.load` maps, as
    `quotes.TurnIndex(TurnSketches.concat(parts)).save(...)` would.
    Scratch files go to a temporary folder in `scratch` (its name starts
    with a dot: `cache.PackStore.prune` removes one a crash left)."""
    with tempfile.TemporaryDirectory(prefix=".index-build-", dir=scratch) as folder:
        _build(parts, Path(arrays_path), Path(strings_path), Path(folder), budget)


def _build(parts: Iterable[TurnSketches], arrays_path: Path, strings_path: Path, folder: Path, budget: int) -> None:
    spills, counts, sizes = _spill(parts, folder)
    if not spills:
        quotes.TurnIndex(TurnSketches.of_turns([])).save(arrays_path, strings_path)
        return
    places, (own_positions, own_docs, own_offsets), ends = _plan(spills, budget)
    base = quotes.idf_base(sizes.sentences)
    scalars = {"unknown_weight": math.log(base) + 1.0, "idf_base": base, "own_docs": own_docs}
    posting_indptr = quotes._offsets(counts.turns)
    buckets = _Buckets(folder, posting_indptr, budget // 8, sizes.turns)
    dtypes = sizes.dtypes()
    with quotes.IndexFileWriter(arrays_path, dtypes, sizes.lengths(len(own_docs)), scalars) as writer, \
            quotes.StringsWriter(strings_path) as strings:
        for name, values in quotes.stem_weights(counts.hashes, counts.sentences, sizes.sentences).items():
            writer.write(name, values)
        writer.write("posting_indptr", posting_indptr)
        writer.write("own_positions", own_positions)
        writer.write("own_offsets", own_offsets)
        done, start = IndexSizes(), 0
        for end in ends.tolist():
            chunk = _chunk(spills, places, start, end)
            arrays, pattern = quotes.index_arrays(chunk, counts.hashes, done, dtypes)
            for name, values in arrays.items():
                writer.write(name, values)
            strings.write({"turn_ids": chunk.ids, "doc_ids": chunk.doc_ids, "speakers": chunk.speakers,
                           "texts": chunk.texts})
            buckets.add(pattern, done.turns)
            done, start = done + IndexSizes.of(chunk), end
            del chunk, arrays, pattern
        for name, total in quotes.OFFSET_TOTALS.items():
            writer.write(name, [getattr(sizes, total)])
        for turns in buckets.sorted():
            writer.write("posting_indices", turns)


def _spill(parts: Iterable[TurnSketches], folder: Path) -> tuple[list[_Spill], _StemCounts | None, IndexSizes]:
    """Step 1: each part in id order to a spill file; the stems' counts and
    the index's sizes over all parts."""
    spills, counts, pending, sizes = [], None, [], IndexSizes()
    for part in parts:
        if not part.ids:
            continue
        part.reorder(np.array(sorted(range(len(part.ids)), key=part.ids.__getitem__), dtype=np.int64))
        pending.append(_StemCounts.of(part))
        if sum(len(c.hashes) for c in pending) > 2 * (len(counts.hashes) if counts else 0) + (1 << 20):
            counts, pending = _StemCounts.merge([counts, *pending] if counts else pending), []
        sizes = sizes + IndexSizes.of(part)
        spills.append(_Spill.write(part, folder / f"part-{len(spills)}"))
        del part
    if pending:
        counts = _StemCounts.merge([counts, *pending] if counts else pending)
    if counts is not None:
        sizes = dataclasses.replace(sizes, vocabulary=len(counts.hashes), postings=int(counts.turns.sum()))
    return spills, counts, sizes


def _plan(spills: list[_Spill], budget: int) -> tuple[list[np.ndarray], tuple, np.ndarray]:
    """Step 2: each spilled turn's place in id order (per spill: increasing),
    the documents' turns (`quotes.own_turns`) and where the chunks of about
    `budget` bytes of sketches end."""
    # Arrow orders strings by their UTF-8 bytes: the order of their code points, as sorted() does
    ids = pa.chunked_array([spill.ids for spill in spills], pa.string())
    order = pc.sort_indices(ids).to_numpy().astype(np.int64)
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    firsts = quotes._offsets(np.array([len(spill.ids) for spill in spills]))
    places = [place[firsts[k]:firsts[k + 1]] for k in range(len(spills))]
    own = quotes.own_turns(pa.chunked_array([spill.doc_ids for spill in spills], pa.string()).take(order))

    def per_turn(level: str) -> np.ndarray:  # in id order
        return np.concatenate([np.diff(spill.bounds[level]) for spill in spills])[order]

    cost = per_turn("sentences") * 48 + (per_turn("entries") + per_turn("grams") + per_turn("seams")) * 8 + \
        per_turn("text")
    return places, own, _chunk_ends(cost, budget)


def _chunk(spills: list[_Spill], places: list[np.ndarray], start: int, end: int) -> TurnSketches:
    """The sketches of the turns at places start .. end - 1 of the id order."""
    pieces, taken = [], []
    for spill, place in zip(spills, places):
        first, last = np.searchsorted(place, [start, end]).tolist()
        if last > first:
            pieces.append(spill.read(first, last))
            taken.append(place[first:last])
    chunk = TurnSketches.concat(pieces, consume=True)
    if len(pieces) > 1:
        chunk.reorder(np.argsort(np.concatenate(taken), kind="stable"))
    return chunk


class _Buckets:
    """The (stem, turn) pairs of the index, spilled by ranges of stem
    columns holding about `per_bucket` pairs each, as column x turns + turn
    (int64: sorted, they are the posting lists in column order)."""

    def __init__(self, folder: Path, posting_indptr: np.ndarray, per_bucket: int, turns: int):
        self.turns = max(turns, 1)
        pairs = int(posting_indptr[-1])
        wanted = np.arange(per_bucket, pairs, max(per_bucket, 1))  # the first column of each later bucket
        self.columns = np.unique(np.concatenate(([0], np.searchsorted(posting_indptr[1:], wanted, side="right"))))
        self.sizes = np.diff(np.append(posting_indptr[self.columns], pairs))
        self.paths = [folder / f"postings-{k}" for k in range(len(self.columns))]
        for path in self.paths:
            path.touch()

    def add(self, pattern, first_turn: int) -> None:
        """The pairs of a chunk's turn x column pattern whose rows are turns first_turn on."""
        rows = np.repeat(np.arange(first_turn, first_turn + pattern.shape[0], dtype=np.int64), np.diff(pattern.indptr))
        columns = pattern.indices.astype(np.int64)
        keys = columns * self.turns + rows
        bucket = np.searchsorted(self.columns, columns, side="right") - 1
        order = np.argsort(bucket, kind="stable")
        keys, bounds = keys[order], np.searchsorted(bucket[order], np.arange(len(self.paths) + 1))
        for k, path in enumerate(self.paths):
            if bounds[k + 1] > bounds[k]:
                with open(path, "ab") as handle:
                    handle.write(memoryview(keys[bounds[k]:bounds[k + 1]]).cast("B"))

    def sorted(self) -> Iterable[np.ndarray]:
        """Each bucket's turns, by column then turn (the posting lists)."""
        for path, size in zip(self.paths, self.sizes.tolist()):
            keys = np.fromfile(path, dtype=np.int64)
            if len(keys) != size:
                raise ValueError(f"{path.name}: {len(keys)} (stem, turn) pairs spilled, {size} counted")
            keys.sort()
            yield keys % self.turns
            path.unlink()


# -- a rebuild: the last index with some documents' turns taken out and others put in ------------


def update_index(old: quotes.TurnIndex, removed: Iterable[str], added: TurnSketches, arrays_path: Path,
                 strings_path: Path, budget: int = BUDGET) -> None:
    """Write the quote index of `old`'s turns but those of the `removed`
    documents, and of the turns of `added`, to the files `build_index`
    would write from all their sketches, array for array and string for
    string (a test checks it).  A rebuild in which a few transcripts
    changed takes their old turns out and their new ones in: the kept
    turns' arrays are copied in runs, their offsets shifted and their stem
    columns renumbered, and only the added turns are made from sketches.
    The stems' counts (sentences and turns holding each) are the old ones,
    less the removed turns', plus the added turns'.  What it holds at once:
    a few arrays of one entry per turn or stem, one run of about `budget`
    bytes of the kept turns, the added sketches, and the posting lists of
    about `budget` / 8 (stem, turn) pairs.  ValueError if an added turn's
    id is one of the kept turns'."""
    plan = _UpdatePlan(old, removed, added, budget)
    if not plan.sizes.turns:
        quotes.TurnIndex(TurnSketches.of_turns([])).save(arrays_path, strings_path)
        return
    sizes, dtypes = plan.sizes, plan.sizes.dtypes()
    base = quotes.idf_base(sizes.sentences)
    own_positions, own_docs, own_offsets = quotes.own_turns(plan.doc_ids())
    scalars = {"unknown_weight": math.log(base) + 1.0, "idf_base": base, "own_docs": own_docs}
    pairs = []  # the added turns' (stem column, turn) pairs, as column x turns + turn
    with quotes.IndexFileWriter(arrays_path, dtypes, sizes.lengths(len(own_docs)), scalars) as writer, \
            quotes.StringsWriter(strings_path) as strings:
        for name, values in quotes.stem_weights(plan.vocabulary, plan.sentence_counts, sizes.sentences).items():
            writer.write(name, values)
        writer.write("posting_indptr", quotes._offsets(plan.turn_counts))
        writer.write("own_positions", own_positions)
        writer.write("own_offsets", own_offsets)
        done = IndexSizes()
        for kind, first, last in plan.runs:
            if kind == "old":
                arrays, run_sizes = plan.old_arrays(first, last, done)
                strings.write({name: getattr(old, name).array.slice(first, last - first)
                               for name in quotes.TurnIndex._STRINGS})
                release = True
            else:
                chunk = plan.added.take(np.arange(first, last))
                arrays, pattern = quotes.index_arrays(chunk, plan.vocabulary, done, dtypes)
                strings.write({"turn_ids": chunk.ids, "doc_ids": chunk.doc_ids, "speakers": chunk.speakers,
                               "texts": chunk.texts})
                rows = np.repeat(np.arange(done.turns, done.turns + len(chunk.ids), dtype=np.int64),
                                 np.diff(pattern.indptr))
                pairs.append(pattern.indices.astype(np.int64) * sizes.turns + rows)
                run_sizes, release = IndexSizes.of(chunk), False
            for name, values in arrays.items():
                writer.write(name, values)
            done = done + run_sizes
            del arrays
            if release:  # the old index's pages read leave this process's RSS (`TurnIndex.release_pages`)
                old.release_pages()
        for name, total in quotes.OFFSET_TOTALS.items():
            writer.write(name, [getattr(sizes, total)])
        for turns in plan.postings(np.sort(np.concatenate(pairs)) if pairs else np.zeros(0, np.int64)):
            writer.write("posting_indices", turns)
            old.release_pages()


class _UpdatePlan:
    """What `update_index` writes: the runs of kept old turns and of added
    turns in id order, the new vocabulary with its counts, and each old
    turn's and stem column's new place."""

    def __init__(self, old: quotes.TurnIndex, removed: Iterable[str], added: TurnSketches, budget: int):
        self.old, self.budget = old, budget
        turns = len(old.turn_keys)
        # where each old turn's sentences start (sentence_turn is sorted)
        self.sentence_bounds = np.searchsorted(old.sentence_turn, np.arange(turns + 1))
        keep = np.ones(turns, dtype=bool)
        for doc_id in set(removed):
            own = old._own_turns(doc_id)
            if own is not None:
                keep[own] = False
        self.added = added.take(np.array(sorted(range(len(added.ids)), key=added.ids.__getitem__), dtype=np.int64))
        at, found = old.find(self.added.ids)
        clash = np.zeros(len(found), dtype=bool)
        clash[found] = keep[at[found]]
        if clash.any():
            raise ValueError(f"turn {self.added.ids[int(np.flatnonzero(clash)[0])]!r} is both kept and added")
        kept = np.flatnonzero(keep)
        width = max(old.turn_keys.itemsize, quotes.id_bytes(self.added.ids), 1)
        kept_keys = old.turn_keys[kept].astype(f"S{width}")
        slots = np.searchsorted(kept_keys, quotes.turn_keys(self.added.ids, np.dtype(f"S{width}")))
        # each old turn's place in the new index (-1: removed)
        self.new_place = np.full(turns, -1, dtype=np.int64)
        self.new_place[kept] = np.arange(len(kept)) + np.searchsorted(slots, np.arange(len(kept)), side="right")
        self.runs = self._runs(kept, slots)
        self._count(keep, kept, kept_keys)
        old.release_pages()

    def _runs(self, kept: np.ndarray, slots: np.ndarray) -> list[tuple[str, int, int]]:
        """("old", first, last) runs of consecutive kept old turns, ending
        where `_chunk_ends` cuts the old turns (about `budget` bytes each),
        and ("new", first, last) runs of added turns, in id order.  An added
        turn goes before the kept turn `slots` of it counts."""
        old, bounds = self.old, self.sentence_bounds
        items = (np.diff(old.stem_indptr[bounds]) + np.diff(old.gram_offsets[bounds])
                 + np.diff(old.seam_offsets[bounds]))
        ends = _chunk_ends(np.diff(bounds) * 48 + items * 8, self.budget)
        # after which kept turns a run of them ends: the next is not the next old turn, or a chunk ends
        last = np.ones(len(kept), dtype=bool)
        last[:-1] = np.diff(kept) != 1
        last |= np.isin(kept + 1, ends)
        breaks = np.flatnonzero(last)
        runs, k, j = [], 0, 0
        while k < len(kept) or j < len(slots):
            if j < len(slots) and slots[j] <= k:
                after = j + int(np.searchsorted(slots[j:], k, side="right"))
                runs.append(("new", j, after))
                j = after
                continue
            stop = min(int(breaks[np.searchsorted(breaks, k)]) + 1, int(slots[j]) if j < len(slots) else len(kept))
            runs.append(("old", int(kept[k]), int(kept[stop - 1]) + 1))
            k = stop
        return runs

    def _count(self, keep: np.ndarray, kept: np.ndarray, kept_keys: np.ndarray) -> None:
        """The new vocabulary and, per stem, the sentences and turns holding
        it; the new column of each old one (-1: no turn holds it any more);
        the index's sizes."""
        old, bounds = self.old, self.sentence_bounds
        width = len(old.stem_vocabulary)
        entries = old.stem_indptr[bounds].astype(np.int64)
        sentence_counts = np.bincount(old.stem_indices, minlength=width).astype(np.int64)
        turn_counts = np.diff(old.posting_indptr).astype(np.int64)
        gone = np.flatnonzero(~keep)
        if len(gone):
            taken = quotes._ragged(entries[gone], entries[gone + 1] - entries[gone])
            columns = old.stem_indices[taken].astype(np.int64)
            sentence_counts -= np.bincount(columns, minlength=width)
            owner = np.repeat(gone, entries[gone + 1] - entries[gone])
            pairs = np.unique(owner * max(width, 1) + columns)
            turn_counts -= np.bincount(pairs % max(width, 1), minlength=width)
        mine = _StemCounts.of(self.added) if self.added.ids else None
        hashes = old.stem_vocabulary if mine is None else np.union1d(old.stem_vocabulary, mine.hashes)
        sentences, turns = np.zeros(len(hashes), np.int64), np.zeros(len(hashes), np.int64)
        at_old = np.searchsorted(hashes, old.stem_vocabulary)
        sentences[at_old] += sentence_counts
        turns[at_old] += turn_counts
        if mine is not None:
            at_new = np.searchsorted(hashes, mine.hashes)
            sentences[at_new] += mine.sentences
            turns[at_new] += mine.turns
        held = sentences > 0
        self.vocabulary, self.sentence_counts, self.turn_counts = hashes[held], sentences[held], turns[held]
        column = np.cumsum(held) - 1
        self.new_column = np.where(held[at_old], column[at_old], -1)
        lengths = np.char.str_len(kept_keys) if len(kept_keys) else np.zeros(0, np.int64)
        added = IndexSizes.of(self.added)
        self.sizes = IndexSizes(
            turns=len(kept) + added.turns,
            sentences=int(np.diff(bounds)[kept].sum()) + added.sentences,
            windows=int(np.diff(old.row_bounds)[kept].sum()) + added.windows,
            entries=int(np.diff(entries)[kept].sum()) + added.entries,
            grams=int(np.diff(old.gram_offsets[bounds])[kept].sum()) + added.grams,
            seams=int(np.diff(old.seam_offsets[bounds])[kept].sum()) + added.seams,
            vocabulary=len(self.vocabulary), postings=int(self.turn_counts.sum()),
            id_bytes=max(int(lengths.max(initial=0)), added.id_bytes))

    def doc_ids(self) -> pa.ChunkedArray:
        """The new index's doc_ids, in its turn order."""
        chunks = [self.old.doc_ids.array.slice(first, last - first) if kind == "old"
                  else pa.array(self.added.doc_ids[first:last], pa.string()) for kind, first, last in self.runs]
        return pa.chunked_array([c for piece in chunks for c in getattr(piece, "chunks", [piece])], pa.string())

    def old_arrays(self, first: int, last: int, done: IndexSizes) -> tuple[dict[str, np.ndarray], IndexSizes]:
        """The index arrays of the old turns first .. last - 1, placed after
        the turns counted in `done` (offsets arrays without their last
        entry), and their sizes."""
        old = self.old
        s0, s1 = self.sentence_bounds[first], self.sentence_bounds[last]
        w0, w1 = old.row_bounds[first], old.row_bounds[last]
        e0, e1 = old.stem_indptr[s0], old.stem_indptr[s1]
        g0, g1 = old.gram_offsets[s0], old.gram_offsets[s1]
        m0, m1 = old.seam_offsets[s0], old.seam_offsets[s1]
        arrays = {
            "turn_keys": old.turn_keys[first:last], "turn_hashes": old.turn_hashes[first:last],
            "sentence_start": old.sentence_start[s0:s1], "sentence_end": old.sentence_end[s0:s1],
            "sentence_turn": old.sentence_turn[s0:s1].astype(np.int64) - first + done.turns,
            "row_bounds": old.row_bounds[first:last].astype(np.int64) - w0 + done.windows,
            "window_first": old.window_first[w0:w1].astype(np.int64) - s0 + done.sentences,
            "window_size": old.window_size[w0:w1], "window_start": old.window_start[w0:w1],
            "window_end": old.window_end[w0:w1], "window_words": old.window_words[w0:w1],
            "stem_indptr": old.stem_indptr[s0:s1].astype(np.int64) - e0 + done.entries,
            "stem_indices": self.new_column[old.stem_indices[e0:e1]],
            "gram_offsets": old.gram_offsets[s0:s1] - g0 + done.grams, "grams": old.grams[g0:g1],
            "seam_offsets": old.seam_offsets[s0:s1] - m0 + done.seams, "seams": old.seams[m0:m1]}
        sizes = IndexSizes(turns=last - first, sentences=int(s1 - s0), windows=int(w1 - w0), entries=int(e1 - e0),
                           grams=int(g1 - g0), seams=int(m1 - m0))
        return arrays, sizes

    def postings(self, added: np.ndarray) -> Iterable[np.ndarray]:
        """The posting lists in column order, a block of about `budget` / 8
        old pairs at a time: the kept turns' (stem, turn) pairs renumbered
        (both numberings keep their order, so the pairs stay sorted), with
        the `added` pairs (sorted column x turns + turn keys) merged in.
        A block takes the added pairs below the next block's first."""
        pending, placed = None, 0
        for keys in self._kept_pairs():
            if not len(keys):
                continue
            if pending is not None:
                upto = placed + int(np.searchsorted(added[placed:], keys[0]))
                yield self._merged(pending, added[placed:upto])
                placed = upto
            pending = keys
        if pending is not None:
            yield self._merged(pending, added[placed:])
        elif len(added):
            yield added % max(self.sizes.turns, 1)

    def _merged(self, keys: np.ndarray, added: np.ndarray) -> np.ndarray:
        if len(added):
            keys = np.insert(keys, np.searchsorted(keys, added), added)
        return keys % max(self.sizes.turns, 1)

    def _kept_pairs(self) -> Iterable[np.ndarray]:
        """The kept turns' pairs as new column x turns + new turn, in blocks."""
        old, turns = self.old, max(self.sizes.turns, 1)
        indptr = old.posting_indptr.astype(np.int64)
        step = max(self.budget // 8, 1)
        for start in range(0, int(indptr[-1]), step):
            end = min(start + step, int(indptr[-1]))
            columns = np.searchsorted(indptr, np.arange(start, end), side="right") - 1
            places = self.new_place[old.posting_indices[start:end]]
            kept = places >= 0
            yield self.new_column[columns[kept]] * turns + places[kept]
