"""Pieces of the scaled build: the streaming Parquet writer, the site
boilerplate as map/reduce over hashes, the per-document cache, and the
benchmark's corpus generator."""

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrow_memory import arrow_high_water, python_high_water
from pressroom import shards
from pressroom.cache import KeyedPart, PackStore
from pressroom.clean import learn_site_boilerplate, prepare
from pressroom.ingest import ingest
from pressroom.release import TableWriter
from schemas.contract import SPEAKERS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def test_table_writer_bytes_do_not_depend_on_the_parts(tmp_path):
    table = pa.table({"doc_id": [f"d{i:05d}" for i in range(1000)], "n": list(range(1000))})
    whole, parts = tmp_path / "whole.parquet", tmp_path / "parts.parquet"
    writer = TableWriter(whole, table.schema, row_group_rows=300)
    writer.write(table)
    assert writer.close() == 1000
    writer = TableWriter(parts, table.schema, row_group_rows=300)
    for start, size in ((0, 7), (7, 400), (407, 1), (408, 592)):
        writer.write(table.slice(start, size))
    writer.close()
    assert whole.read_bytes() == parts.read_bytes()
    metadata = pq.read_metadata(whole)
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [300, 300, 300, 100]
    assert pq.read_table(parts).equals(table)


def test_table_writer_holds_a_row_group_once_while_it_is_encoded(tmp_path):
    """When a row group is written, the parts it was cut from are gone:
    only its contiguous copy (and the rows after it) are held."""
    rows, group = 60_000, 20_000  # row groups of ~8 MB: the encoder's own buffers (~2 MB) are small beside them
    text = pa.array([f"{i:06d} " + "x" * 400 for i in range(rows)])
    group_bytes = text.slice(0, group).nbytes
    held_at_write = []

    def parts():  # made as they are written, like the packs' slices: nobody else holds them
        for start in range(0, rows, 2_500):
            yield pa.table({"text": pa.array(text.slice(start, 2_500).to_pylist())})

    schema = pa.schema([("text", pa.string())])
    writer = TableWriter(tmp_path / "t.parquet", schema, row_group_rows=group)
    real = writer.writer.write_table

    def recorded(table, row_group_size=None):
        held_at_write.append(pa.total_allocated_bytes() - baseline)
        real(table, row_group_size=row_group_size)

    writer.writer.write_table = recorded
    baseline = pa.total_allocated_bytes()
    for part in parts():
        writer.write(part)
        del part
    assert writer.close() == rows
    assert len(held_at_write) == rows // group
    assert max(held_at_write) < 1.5 * group_bytes  # the parts and the copy together would be twice
    assert pq.read_table(tmp_path / "t.parquet").column("text").combine_chunks().equals(text)


def test_site_support_from_hashes_is_learn_site_boilerplate():
    documents, _ = ingest(ROOT / "tests" / "corpus" / "sites" / "raw")
    prepared = [prepare(d) for d in documents]
    model = learn_site_boilerplate(prepared)
    signatures = [shards.site_signature(p) for p in prepared]
    supported = shards.site_support(signatures)
    for doc in prepared:
        mine = shards.site_model(doc, supported)
        for paragraph in doc.paragraphs:
            assert mine.is_boilerplate(doc.site_key, paragraph.text) == model.is_boilerplate(doc.site_key, paragraph.text)
    assert any(shards.site_model(doc, supported).lines_by_site for doc in prepared)


def test_pack_store_index_and_prune(tmp_path):
    store = PackStore(tmp_path)
    first = store.write("clean", ["a", "b"], {"data": {"a": 1, "b": 2}})
    second = store.write("clean", ["c"], {"data": {"c": 3}})
    assert PackStore(tmp_path).index("clean") == {"a": first, "b": first, "c": second}
    assert PackStore(tmp_path).load("clean", first, "data")["b"] == 2
    (tmp_path / "clean" / ".stray.tmp").write_text("left by a crash")
    assert PackStore(tmp_path).prune({"clean": ["b"]}) == 1
    assert PackStore(tmp_path).index("clean") == {"a": first, "b": first}
    assert not list((tmp_path / "clean").glob(".*"))


class Counted:
    """A value that counts how many times it is unpickled."""

    loads = 0

    def __init__(self, value):
        self.value = value

    def __setstate__(self, state):
        Counted.loads += 1
        self.__dict__.update(state)


def test_a_keyed_part_unpickles_only_the_values_taken(tmp_path):
    """A pack part written as a KeyedPart reads back as a mapping whose
    values are unpickled when taken: a rebuild taking one document of a
    pack of a thousand unpickles one."""
    store = PackStore(tmp_path)
    values = {f"k{n}": Counted([n] * 3) for n in range(50)}
    pack = store.write("clean", list(values), {"data": KeyedPart(values), "sum": {"k0": 1}})
    Counted.loads = 0
    part = PackStore(tmp_path).load("clean", pack, "data")
    assert Counted.loads == 0 and len(part) == 50 and "k7" in part and "nope" not in part
    assert part["k7"].value == [7, 7, 7] and Counted.loads == 1
    assert part.get("nope", ()) == () and Counted.loads == 1
    assert [v.value[0] for v in PackStore(tmp_path).load_many("clean", "data", ["k3", "k9"])] == [3, 9]
    assert Counted.loads == 3
    assert PackStore(tmp_path).load("clean", pack, "sum") == {"k0": 1}  # other parts as they were written
    assert sorted(part) == sorted(values)


def test_generator_is_seeded_and_prefix_stable(tmp_path):
    from generate import generate, mutate

    small, large = tmp_path / "small", tmp_path / "large"
    counts = generate(small, 0.2, seed=3)
    generate(large, 0.4, seed=3)
    files = sorted(p.relative_to(small) for p in small.rglob("*.txt"))
    assert len(files) == counts["documents"] > 10
    for relative in files:
        assert (small / relative).read_bytes() == (large / relative).read_bytes()
    texts = [(small / f).read_text() for f in files]
    assert any("Q:" in t or "QUESTION" in t for t in texts)  # transcripts
    assert any("â€" in t for t in texts) or any("’" in t for t in texts)
    assert any("originally published" in t for t in texts)  # reposts
    changed = mutate(small, 0.1, seed=3)
    assert 1 <= len(changed) <= len(files) // 5
    records = tmp_path / "records"
    generate(records, 0.1, seed=3, fmt="jsonl.gz")
    assert list(records.glob("*.jsonl.gz"))


def test_an_open_vocabulary_keeps_growing_with_the_corpus(tmp_path):
    """The generator's own words come from the repository's texts: its
    vocabulary stops growing.  With `open_vocabulary`, words of an open
    lexicon keep adding stems as the corpus grows, as real text's
    vocabulary does; the corpus stays a function of the seed, and the
    lexicon gives distinct ranks distinct words."""
    from generate import generate, lexicon_word

    from pressroom.quotes import content_stems

    def stems_at(folder, marks):
        seen, count, found = set(), 0, []
        for path in sorted(folder.rglob("*.txt")):
            for s in content_stems(path.read_text()):
                seen.add(s)
                count += 1
                if marks and count == marks[0]:
                    found.append(len(seen))
                    marks = marks[1:]
        return found

    growth = {}
    for name, open_vocabulary in (("closed", False), ("open", True)):
        generate(tmp_path / name, 1.0, seed=3, open_vocabulary=open_vocabulary)
        growth[name] = stems_at(tmp_path / name, [20_000, 80_000])
    closed, grown = growth["closed"], growth["open"]
    assert grown[1] - grown[0] > 3 * (closed[1] - closed[0])  # new stems in the next 60,000 words
    generate(tmp_path / "again", 0.2, seed=3, open_vocabulary=True)
    for path in (tmp_path / "again").rglob("*.txt"):
        assert path.read_bytes() == (tmp_path / "open" / path.relative_to(tmp_path / "again")).read_bytes()
    assert len({lexicon_word(rank) for rank in range(10_000)}) == 10_000


def test_automatic_shard_size_makes_about_eight_tasks_within_bounds():
    assert len(shards.batches(list(range(1506)))) == 8  # 189 documents each
    assert len(shards.batches(list(range(120)))) == 3  # never fewer than 50 documents a shard...
    assert len(shards.batches(list(range(29932)))) == 30  # ...nor more than 1000
    assert len(shards.batches(list(range(1506)), 500)) == 4  # a requested size wins
    assert sum(map(len, shards.batches(list(range(1506))))) == 1506


@pytest.mark.parametrize("documents", [1, 5, 120, 299, 381, 1000, 1506, 3000, 29932, 150_001])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_on_dask_workers_a_pass_has_a_multiple_of_their_tasks_of_200_documents_or_more(documents, workers):
    """A Dask task costs 0.2 s: a rebuild's small pass gives each worker one
    task, not three of 50 documents; the tasks are a multiple of the
    workers (at least one each) unless one task takes every document."""
    shards_ = shards.batches(list(range(documents)), workers=workers)
    assert [d for shard in shards_ for d in shard] == list(range(documents))
    sizes = [len(shard) for shard in shards_]
    assert max(sizes) <= shards.SHARD_DOCS_MAX and max(sizes) - min(sizes) <= max(sizes) // 2 + 1
    if len(shards_) > 1:
        assert len(shards_) % workers == 0
        assert len(shards_) == workers or min(sizes) >= shards.SHARD_DOCS_MIN_WORKERS // 2  # one each: no wait
    else:
        assert documents <= 2 * shards.SHARD_DOCS_MIN_WORKERS
    assert len(shards.batches(list(range(299)), workers=2)) == 2  # 6 of 50 on Prefect's thread pool
    assert len(shards.batches(list(range(299)))) == 6


def test_shard_passes_run_with_the_cycle_collector_paused_and_restore_it(monkeypatch, tmp_path):
    import gc

    seen = []
    monkeypatch.setattr(shards, "prepare", lambda document: seen.append(gc.isenabled()) or prepare(document))
    from pressroom.sources import scan

    raw = str(ROOT / "tests" / "corpus" / "sites" / "raw")
    items, _ = scan(raw)
    assert gc.isenabled()
    shards.prepare_batch(raw, items[:3], ["a", "b", "c"], PackStore(tmp_path))
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        shards.prepare_batch(raw, items[:1], ["d"], PackStore(tmp_path))
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_the_quotes_table_made_a_pack_at_a_time_is_the_whole_one(tmp_path):
    """shards.quotes_table reads the linked rows one links pack at a time:
    the table is the one `to_arrow` makes of all the rows at once, whatever
    order the packs and documents come in (non-ASCII doc_ids included)."""
    from pressroom.tables import to_arrow
    from schemas.contract import QUOTES

    def quote(doc_id, n, turn):
        return {"id": f"{doc_id}:q{n}", "doc_id": doc_id, "quote_index": n, "kind": "inline", "rule": "quote_marks",
                "char_start": n, "char_end": n + 5, "text": f"said {n}", "word_count": 2,
                "matched_turn_id": turn, "matched_doc_id": "t" if turn else None,
                "matched_speaker": "A" if turn else None, "match_score": 0.9 if turn else None,
                "match_method": "fuzzy" if turn else None, "matched_start": 0 if turn else None,
                "matched_end": 5 if turn else None}

    store = PackStore(tmp_path)
    docs = {"b": 3, "a": 2, "é": 1, "z": 12, "ä": 0}
    rows = {d: [quote(d, n, "t:1" if n % 2 else None) for n in reversed(range(count))] for d, count in docs.items()}
    store.write("links", ["z", "a"], {"rows": {"z": rows["z"], "a": rows["a"]}})
    store.write("links", ["é", "b", "ä"], {"rows": {"é": rows["é"], "b": rows["b"], "ä": rows["ä"]}})
    made = shards.quotes_table(PackStore(tmp_path), ["b", "z", "é", "a", "ä"])
    assert made.equals(to_arrow(QUOTES, (r for d in docs for r in rows[d])))
    assert made.column("doc_id").to_pylist()[:3] == ["a", "a", "b"] and made.num_rows == 18
    assert shards.quotes_table(store, []).equals(to_arrow(QUOTES, ()))


def _plain_speakers(rows: list[tuple]) -> list[dict]:
    """The speakers table as plain Python makes it (as `corpus.build_speakers`):
    turns in (rank, index) order, the first names the speaker, the most
    frequent role wins (ties: not 'unknown', then the greatest name)."""
    from collections import Counter, defaultdict

    seen, labels, docs, roles = {}, defaultdict(set), defaultdict(set), defaultdict(Counter)
    for _, _, sid, speaker, title, label, role, doc_id in sorted(rows, key=lambda r: (r[0], r[1])):
        seen.setdefault(sid, (speaker, title))
        labels[sid].add(label)
        docs[sid].add(doc_id)
        roles[sid][role] += 1
    return sorted(({"speaker_id": sid, "name": name, "title": title, "aliases": sorted(labels[sid]),
                    "documents": sorted(docs[sid]), "turns": sum(roles[sid].values()),
                    "role": max(roles[sid], key=lambda r: (roles[sid][r], r != "unknown", r))}
                   for sid, (name, title) in seen.items()), key=lambda row: row["speaker_id"])


@pytest.mark.parametrize("seed", range(6))
def test_the_speakers_table_in_arrow_is_the_plain_one(seed):
    """`shards.speaker_table` on random turns, in random pack order: first
    names and titles (None among them), role ties, labels and documents with
    accents, CJK and astral characters (sorted by code point)."""
    import random

    rng = random.Random(seed)
    names = ["anna-kowal", "émile-dubois", "李明", "zoë", "a😀", "unknown-questioner"]
    roles = ["official", "journalist", "unknown", "moderator"]
    rows = [(rng.randrange(40), index, sid, f"{sid.title()} {rng.randrange(3)}",
             rng.choice([None, "Minister", "Président"]), rng.choice(["ANNA", "Q", "Émile:", "李", sid]),
             rng.choice(roles), f"doc-{rng.choice('aéz中')}{rng.randrange(5)}")
            for index in range(rng.randrange(1, 300)) for sid in [rng.choice(names)]]
    rows = [(r[0], n, *r[2:]) for n, r in enumerate(rows)]
    rng.shuffle(rows)
    parts = [shards.speaker_turns_table(rows[i:i + 37]) for i in range(0, len(rows), 37)]
    table = shards.speaker_table(pa.concat_tables(parts))
    assert table.schema == SPEAKERS.arrow_schema
    assert table.to_pylist() == [{name: row[name] for name in SPEAKERS.arrow_schema.names}
                                 for row in _plain_speakers(rows)]
    assert any(len(set(r[6] for r in rows if r[2] == sid)) > 1 for sid in names)  # roles to choose between


def test_the_speakers_table_of_no_turns_is_empty_and_a_turn_needs_an_id_and_a_role():
    table = shards.speaker_table(shards.SPEAKER_TURNS.empty_table())
    assert table.num_rows == 0 and table.schema == SPEAKERS.arrow_schema
    turn = (0, 0, "anna", "Anna", None, "ANNA", "official", "d1")
    for field in (2, 6):  # speaker_id, role
        with pytest.raises(ValueError, match="without a speaker_id or a role"):
            shards.speaker_table(shards.speaker_turns_table([turn, (*turn[:field], None, *turn[field + 1:])]))


def test_the_speakers_table_holds_little_more_than_its_turns():
    """The groups are made on integer codes (numpy), not on a sorted copy
    of the turns with Arrow's hash aggregations (which held ~1.9x the
    turns): Arrow and numpy together hold under 1.6x the turns at once."""
    import random

    rng = random.Random(7)
    rows = []
    for doc in range(20_000):
        people = [f"speaker-{rng.randrange(40_000)}" for _ in range(3)]
        for index in range(5):
            sid = rng.choice(people)
            rows.append((doc, index, sid, sid.title(), rng.choice([None, "Minister"]), sid.upper() + ":",
                         rng.choice(["official", "journalist", "unknown"]), f"doc-{doc:06d}"))
    rng.shuffle(rows)
    turns = pa.concat_tables([shards.speaker_turns_table(rows[i:i + 5_000]) for i in range(0, len(rows), 5_000)])

    (table, numpy_peak), arrow_peak = arrow_high_water(lambda: python_high_water(lambda: shards.speaker_table(turns)))
    assert table.num_rows == len({r[2] for r in rows})
    assert arrow_peak + numpy_peak < 1.6 * turns.nbytes


def test_document_slices_hold_a_few_packs_and_never_read_the_summary(tmp_path, monkeypatch):
    """The writer reads each pack's row ranges (part "rows") and its table,
    keeping the last PACKS_OPEN packs: documents of more packs than that,
    visited in turn, are read again; the summary (turn digests) never is."""
    store = PackStore(tmp_path)
    packs = shards.PACKS_OPEN + 2
    finals = {}
    for p in range(packs):
        keys = [f"final-{p}-{d}" for d in range(2)]
        table = pa.table({"doc_id": [f"p{p}d{d}" for d in range(2) for _ in range(d + 1)]})  # d0: 1 row, d1: 2
        part = store.temporary("final", "documents")
        shards.write_part(table, part)
        finals.update(dict.fromkeys(keys, p))
        store.write("final", keys, {"documents.arrow": part, "summary": {"turns": pa.table({"id": keys})},
                                    "rows": {keys[0]: {"documents": (0, 1)}, keys[1]: {"documents": (1, 2)}}})
    loads = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda stage, pack, part: loads.append(part) or real(stage, pack, part))
    order = [f"final-{p}-{d}" for d in range(2) for p in range(packs)]  # every pack in turn, twice
    rows = pa.concat_tables(shards.document_slices(store, order, "documents")).column("doc_id").to_pylist()
    assert rows == [f"p{p}d{d}" for d in range(2) for p in range(packs) for _ in range(d + 1)]
    assert loads == ["rows"] * (2 * packs)  # evicted before each came round again; no summary
    loads.clear()
    in_order = [f"final-{p}-{d}" for p in range(packs) for d in range(2)]
    assert len(pa.concat_tables(shards.document_slices(store, in_order, "documents"))) == 3 * packs
    assert loads == ["rows"] * packs


def test_site_pass_reads_packs_once_and_gives_the_keys_of_site_support(tmp_path, monkeypatch):
    """`site_pass` over prepare packs (signatures in several packs, a
    reject among them) gives `site_support` of all the signatures and each
    readable document's `clean_key`; each pack is read once."""
    documents, _ = ingest(ROOT / "tests" / "corpus" / "sites" / "raw")
    signatures = [shards.site_signature(prepare(d)) for d in documents]
    reject = shards.Reject("bad", "bad.txt", None, "unreadable: test")
    signatures.insert(3, shards.SiteSignature("bad", shards._EMPTY, shards._EMPTY, reject))
    first = [f"first-{n}" for n in range(len(signatures))]
    store = PackStore(tmp_path)
    for start in range(0, len(first), 7):  # packs of 7, the documents asked in another order
        pack = slice(start, start + 7)
        store.write("prepare", first[pack], {"sig": dict(zip(first[pack], signatures[pack]))})
    order = first[::2] + first[1::2]
    by_key = dict(zip(first, signatures))
    loads = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda stage, pack, part: loads.append(pack) or real(stage, pack, part))
    site = shards.site_pass(store, order)
    supported = shards.site_support(signatures)
    assert len(supported) and site.supported.tolist() == supported.tolist()
    assert site.rejects == [reject if k == first[3] else None for k in order]
    assert site.keys == [None if k == first[3] else shards.clean_key(k, by_key[k], supported) for k in order]
    assert len(loads) == len(set(loads)) == -(-len(first) // 7)
    assert len(set(site.keys)) == len(first)  # keys differ: first keys do


def test_benchmark_repeats_alternate_the_order_and_compare_medians():
    """`bench/benchmark.py --repeat`: a drift of the machine's speed falls on
    both worker counts, and one slow build does not make the ratio."""
    import benchmark

    assert benchmark.rounds([1, 2], 1) == [1, 2]
    assert benchmark.rounds([1, 2], 4) == [1, 2, 2, 1, 1, 2, 2, 1]
    runs = [{"build": b} for b in (472.9, 327.3, 444.0)]
    assert benchmark.median_run(runs)["build"] == 444.0
    assert benchmark.median_run(runs[:2])["build"] == 327.3


def test_the_cuts_a_link_task_reads_back_are_those_it_stored_or_none():
    """`shards._unpacked_cuts`: a document's stored cuts (weights, last ids)
    come back as `quotes.Cut`s; missing, short or malformed ones as None for
    each quotation, and its checks then search the old index."""
    from pressroom import quotes
    import numpy as np

    stored = (np.array([2.5, 0.0]), ["t:7", ""])
    assert shards._unpacked_cuts(stored, 2) == [quotes.Cut(2.5, "t:7"), quotes.Cut(0.0, "")]
    assert shards._unpacked_cuts(None, 2) == [None, None]
    assert shards._unpacked_cuts(stored, 3) == [None] * 3  # another count of quotations
    assert shards._unpacked_cuts(np.array([2.5, 0.0]), 2) == [None, None]  # weights alone


def _clean_the_seeds(tmp_path, packs: int = 1) -> list[tuple]:
    """The seed corpus prepared and cleaned into `packs` clean packs under
    `tmp_path`: (doc_id, ingest order, clean key) of each document."""
    from pressroom.sources import scan

    raw = str(ROOT / "raw")
    items, _ = scan(raw)
    first = [shards.prepare_key("config", item) for item in items]
    shards.prepare_batch(raw, items, first, PackStore(tmp_path))
    site = shards.site_pass(PackStore(tmp_path), first)
    size = -(-len(items) // packs)
    for start in range(0, len(items), size):
        part = slice(start, start + size)
        shards.clean_batch(raw, items[part], first[part], site.keys[part], site.supported, PackStore(tmp_path))
    return [(item.doc_id, item.order, k) for item, k in zip(items, site.keys)]


def test_the_quote_index_pass_finds_the_documents_with_turns_without_the_summaries(tmp_path, monkeypatch):
    """The quote index is made beside the clustering (its own task): from
    each clean pack's list of documents with turns (part "spoken"), never
    the summaries the clustering reads; it holds exactly the documents
    whose summaries have speaker turns, and is reused when asked again.
    The clustering never reads the sketches."""
    documents = _clean_the_seeds(tmp_path, packs=2)
    store = PackStore(tmp_path)
    summaries = {k: v for pack in set(store.index("clean").values())
                 for k, v in store.load("clean", pack, "sum").items()}
    speaking = {doc_id: k for doc_id, _, k in documents if summaries[k].speaker_turns}
    assert 0 < len(speaking) < len(documents)  # transcripts and articles

    parts = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda stage, pack, part: parts.append(part) or real(stage, pack, part))
    made = shards.quote_index_pass(store, documents)
    assert made["index_made"] == "built" and made["relink"] is None
    assert made["index_key"] == shards.quote_index_key(speaking.values())
    assert "sum" not in parts and parts.count("spoken") == 2
    assert real("index", made["index"], "members") == speaking
    assert shards.quote_index_pass(store, documents)["index_made"] == "reused"
    parts.clear()
    corpus = shards.corpus_pass(store, documents)
    assert set(parts) == {"sum"}
    assert all(corpus["clusters"][doc_id]["cluster_id"] for doc_id, _, _ in documents)
    assert corpus["speakers"].num_rows > 0
    assert sorted(k for k, _ in corpus["quoting"]) == sorted(k for _, _, k in documents if summaries[k].quote_count)


def test_the_release_summary_of_the_final_packs_is_that_of_the_tables(tmp_path):
    """`release_summary` reads each final pack's summary (`pack_summary`),
    not its tables: the documents' sha256, the turns' digests, the rows
    and the speaker_ids are those of the tables built in memory, also when
    a pack holds a document assembled again since (its summary filtered)."""
    from pressroom.changes import summarize
    from pressroom.tables import build_tables
    from test_incremental import in_memory

    documents = _clean_the_seeds(tmp_path)
    clusters = shards.corpus_pass(PackStore(tmp_path), documents)["clusters"]
    finals = [shards.final_key(k, clusters[doc_id]) for doc_id, _, k in documents]
    triples = [(doc_id, k, f) for (doc_id, _, k), f in zip(documents, finals)]
    by_doc = {doc_id: clusters[doc_id] for doc_id, _, _ in documents}
    half = len(triples) // 2
    for batch in (triples[:half], triples[half:]):
        assert shards.assemble_batch(PackStore(tmp_path), batch, by_doc, build_tables).failures == []

    reference = summarize(None, in_memory(ROOT / "raw"))
    speaker_ids = set(in_memory(ROOT / "raw")["turns"].column("speaker_id").to_pylist())

    def check(finals: list[str]) -> None:
        parts = shards.release_summary(PackStore(tmp_path), finals)
        assert parts.documents == reference.documents
        assert sorted(parts.turns.to_pylist(), key=str) == sorted(reference.turns.to_pylist(), key=str)
        assert parts.rows == {name: reference.rows[name] for name in shards.PART_TABLES}
        assert set(parts.speaker_ids.to_pylist()) == speaker_ids

    check(finals)
    doc_id, k, f = triples[1]  # assembled again under another key: its first pack holds it still
    assert shards.assemble_batch(PackStore(tmp_path), [(doc_id, k, f + "-again")], by_doc, build_tables).pack
    check([f + "-again" if final == f else final for final in finals])
    turns_of = {}
    for turn_id in reference.turns.column("id").to_pylist():
        turns_of.setdefault(turn_id.rsplit(":", 1)[0], set()).add(turn_id)
    one = next(n for n, (doc_id, _, _) in enumerate(triples) if turns_of.get(doc_id))  # a transcript alone
    parts = shards.release_summary(PackStore(tmp_path), finals[one:one + 1])
    assert list(parts.documents) == [triples[one][0]] and parts.rows["documents"] == 1
    assert set(parts.turns.column("id").to_pylist()) == turns_of[triples[one][0]]
