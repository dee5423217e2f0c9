"""Sharded, cached builds: the same tables as the whole corpus cleaned in
memory, whatever the shard size; a rebuild after a few documents changed
does the work of those documents only and gives the same bytes as a full
build."""

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.build import build_release
from pressroom import shards, sources
from pressroom.cache import PackStore
from pressroom.clean import clean, learn_site_boilerplate, prepare
from pressroom.corpus import attach_clusters, build_quotes, build_speakers
from pressroom.ingest import ingest
from pressroom.tables import build_tables

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("documents", "segments", "turns", "speakers", "quotes", "rejects")
SITES = ROOT / "tests" / "corpus" / "sites" / "raw"


def in_memory(raw: Path) -> dict:
    """The whole corpus in memory, stage by stage: the reference."""
    documents, rejects = ingest(raw)
    prepared = [prepare(d) for d in documents]
    model = learn_site_boilerplate(prepared)
    cleaned = [clean(p, model) for p in prepared]
    attach_clusters(cleaned)
    return build_tables(cleaned, rejects, build_speakers(cleaned), build_quotes(cleaned))


def _build(raw, releases, **options) -> dict:
    return build_release(raw_dir=str(raw), releases_dir=str(releases), **options)


def _same_bytes(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name


@pytest.mark.parametrize("corpus", ["raw", "tests/corpus/sites/raw", "tests/corpus/transcripts/raw",
                                    "tests/corpus/quotes"])
def test_sharded_build_equals_the_corpus_in_memory(corpus, tmp_path):
    raw = ROOT / corpus
    summary = _build(raw, tmp_path / "releases", batch_size=3)
    release = tmp_path / "releases" / "1.0.0"
    reference = in_memory(raw)
    for name in TABLES:
        assert pq.read_table(release / f"{name}.parquet").to_pylist() == reference[name].to_pylist(), name
    assert summary["work"]["prepared"] == reference["documents"].num_rows


def test_shard_size_does_not_change_a_byte(tmp_path):
    _build(SITES, tmp_path / "a", batch_size=1)
    _build(SITES, tmp_path / "b", batch_size=200, use_cache=False)
    _same_bytes(tmp_path / "a" / "1.0.0", tmp_path / "b" / "1.0.0")
    assert not list((tmp_path / "b").glob(".work-*"))  # no cache kept


def test_rebuild_after_edits_redoes_only_those_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.ScanMemo, "RACY_NS", 0)  # the copies are new: let the scan memo trust them
    raw = tmp_path / "raw"
    shutil.copytree(SITES, raw)
    releases = tmp_path / "releases"
    first = _build(raw, releases, batch_size=4)
    assert first["work"]["prepared"] == 30

    # one edit, one new document, one removed
    edited = raw / "105_courier-trade-mission.txt"
    edited.write_text(edited.read_text() + "\n\nThe governor's office published the agreement text on Monday.\n")
    (raw / "199_new-note.txt").write_text("A short note on the trade mission, published on Tuesday by the desk.\n")
    (raw / "103_wire-mirenia-election.txt").unlink()
    read = []
    fingerprint = sources._fingerprint
    monkeypatch.setattr(sources, "_fingerprint", lambda *a: read.append(a[2]) or fingerprint(*a))
    second = _build(raw, releases, batch_size=4)
    assert sorted(read) == ["105_courier-trade-mission.txt", "199_new-note.txt"]  # the scan read no other file
    assert second["version"] == "1.1.0"
    assert second["work"]["prepared"] == 2  # the edited and the new document
    assert second["work"]["cleaned"] <= 4  # and those whose site lines changed

    full = _build(raw, tmp_path / "full", batch_size=7, use_cache=False)
    assert full["version"] == "1.0.0"
    _same_bytes(releases / "1.1.0", tmp_path / "full" / "1.0.0")
    # the cache holds what the latest build used, nothing more
    cache = releases / ".cache"
    assert len(list((cache / "prepare").glob("*.keys"))) <= 30 / 4 + 3


def test_a_new_document_that_makes_a_line_site_boilerplate(tmp_path):
    """Site lines are learned across documents: a third document of a site
    holding a line lifts it over the support bar, and the two earlier
    documents holding it are cleaned again, though their bytes did not change."""
    raw = tmp_path / "raw"
    raw.mkdir()
    chrome = "The quiet bells of the harbor ring at noon."
    body = ("{n}. The ministers met in {city} on Monday and agreed to continue the talks on the border crossings "
            "next month, officials from both delegations said after the meeting ended late in the evening.")
    after = "The next round is planned for {city} in the spring, when the river commission meets again."

    def page(n, city):
        return (f"Harbor Ledger\n\n{body.format(n=n, city=city)}\n\n{chrome}\n\n{after.format(city=city)}\n\n"
                "Copyright 2024 harborledger.com\n")

    for n, city in enumerate(["Brevik", "Seren"], start=1):
        (raw / f"{n}.txt").write_text(page(n, city))
    releases = tmp_path / "releases"
    _build(raw, releases)
    segments = pq.read_table(releases / "1.0.0" / "segments.parquet").to_pylist()
    assert not any(s["text"] == chrome and s["status"] == "boilerplate" for s in segments)

    (raw / "3.txt").write_text(page(3, "Tavros"))
    summary = _build(raw, releases)
    assert summary["work"]["prepared"] == 1 and summary["work"]["cleaned"] == 3
    segments = pq.read_table(releases / "1.1.0" / "segments.parquet").to_pylist()
    assert sum(s["text"] == chrome and s["reason"] == "site_repeated_line" for s in segments) == 3
    _build(raw, tmp_path / "full", use_cache=False)
    _same_bytes(releases / "1.1.0", tmp_path / "full" / "1.0.0")


def test_quote_index_is_reused_while_no_transcript_changes(tmp_path, monkeypatch):
    """The quote index depends on the turns only: editing an article keeps
    it, and only that article's quotations are linked again (the others'
    links are cached under the index) and the turn sketches are not read;
    editing a transcript builds a new
    index (the old one leaves the cache) and links again the quotations
    whose links read something that changed, or all of them when every
    weight changed.  Every release is the bytes of a full build."""
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "tests" / "corpus" / "quotes", raw)
    (raw / "gold.json").unlink()
    releases = tmp_path / "releases"
    indexes = releases / ".cache" / "index"
    first = _build(raw, releases)
    total = pq.read_table(releases / "1.0.0" / "quotes.parquet").num_rows
    assert first["work"]["quote_index"] == "built" and first["work"]["quotes_linked"] == total > 0
    packs = sorted(p.name for p in indexes.iterdir())

    article = raw / "article-wire-brevik.txt"
    article.write_text(article.read_text() + "\n\nThe ministry did not comment further on Tuesday.\n")
    # the turn sketches (most of the cached bytes) are read only to build an index
    sketches = sorted((releases / ".cache" / "clean").glob("*.sketch"))
    assert sketches
    for path in sketches:
        path.rename(tmp_path / path.name)
    made = []  # speakers tables made (not read back from the cache)
    speaker_table = shards.speaker_table
    monkeypatch.setattr(shards, "speaker_table", lambda turns: made.append(1) or speaker_table(turns))
    second = _build(raw, releases)
    for path in sketches:
        (tmp_path / path.name).rename(path)
    mine = pq.read_table(releases / second["version"] / "quotes.parquet").to_pandas()
    assert second["work"]["quote_index"] == "reused" and second["work"]["cleaned"] == 1
    assert 0 < second["work"]["quotes_linked"] == (mine.doc_id == "article-wire-brevik").sum() < total
    assert sorted(p.name for p in indexes.iterdir()) == packs
    assert made == []  # no document with speaker turns changed: the speakers table was read back
    _build(raw, tmp_path / "full-2", use_cache=False)
    made.clear()
    _same_bytes(releases / second["version"], tmp_path / "full-2" / "1.0.0")

    # a word changed in a transcript: a new index; every quotation is checked and only those
    # whose link reads a changed weight or turn are linked again
    transcript = raw / "transcript-kessaly-briefing.txt"
    # (the new index is the last one updated: only the edited transcript's turn sketches are read)
    transcript.write_text(transcript.read_text().replace("the farmers alike", "the fishermen alike"))
    read = []
    load_by_pack = PackStore.load_by_pack
    monkeypatch.setattr(PackStore, "load_by_pack", lambda self, stage, part, keys: (
        read.extend(keys) if part == "sketch" else None) or load_by_pack(self, stage, part, keys))
    third = _build(raw, releases)
    assert made == [1]
    work = third["work"]
    assert work["quote_index"] == "updated" and work["quotes_checked"] == total
    assert len(read) == 1
    assert 0 < total - work["quotes_linked"]  # some links kept
    assert len(list(indexes.glob("*.keys"))) == 1 and sorted(p.name for p in indexes.iterdir()) != packs
    _build(raw, tmp_path / "full-3", use_cache=False)
    _same_bytes(releases / third["version"], tmp_path / "full-3" / "1.0.0")

    # a question added: this small corpus's sentence count moves to another IDF base, every
    # weight changes and every quotation is linked again, reading back the fuzzy scores of
    # the windows of the turns that did not change
    transcript.write_text(transcript.read_text() + "\n\nQUESTION: One more thing: will the port reopen?\n")
    fourth = _build(raw, releases)
    assert fourth["work"]["quotes_checked"] == fourth["work"]["quotes_linked"] == total
    assert fourth["work"]["fuzzy_scores_read_back"] > 0 == first["work"]["fuzzy_scores_read_back"]
    _build(raw, tmp_path / "full-4", use_cache=False)
    _same_bytes(releases / fourth["version"], tmp_path / "full-4" / "1.0.0")


def test_many_transcripts_changed_build_the_index_out_of_core(tmp_path, monkeypatch):
    """An update holds the changed documents' sketches at once: past
    `shards.UPDATE_MOST_DOCUMENTS` (and the share) of the documents with
    turns, the index is built one pack at a time instead, to the same release."""
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "tests" / "corpus" / "quotes", raw)
    (raw / "gold.json").unlink()
    releases = tmp_path / "releases"
    _build(raw, releases)
    transcript = raw / "transcript-kessaly-briefing.txt"
    transcript.write_text(transcript.read_text().replace("the farmers alike", "the fishermen alike"))
    monkeypatch.setattr(shards, "UPDATE_MOST_DOCUMENTS", 0)
    built = _build(raw, releases)
    assert built["work"]["quote_index"] == "built" and built["work"]["quotes_checked"] > 0
    _build(raw, tmp_path / "full", use_cache=False)
    _same_bytes(releases / built["version"], tmp_path / "full" / "1.0.0")


def test_relink_plan_needs_the_last_index_and_its_members(tmp_path):
    """Links made against the last build's index are kept only when that
    index is cached with its members; otherwise everything is linked again."""
    from pressroom import quotes, shards
    from pressroom.cache import PackStore

    store = PackStore(tmp_path)
    turn = {"id": "brief:t0", "doc_id": "brief", "speaker": "Anna Kowal",
            "text": "The port reopens on Monday. Ships wait outside the breakwater."}

    def save(key: str, turns: list[dict], members: dict | None) -> str:
        parts = {part: store.temporary("index", part) for part in shards.INDEX_PARTS}
        quotes.TurnIndex(turns).save(*parts.values())
        return store.write("index", [key], {**parts, **({"members": members} if members is not None else {})})

    edited = {**turn, "text": turn["text"].replace("Monday", "Tuesday")}
    new = save("new", [edited], {"brief": "clean-2"})
    save("old", [turn], {"brief": "clean-1"})
    save("old-without-members", [turn], None)
    plan = shards.relink_plan(store, "old", new, {"brief": "clean-2"})
    assert plan["key"] == "old" and plan["changed"] == ["brief:t0"] and len(plan["stale"]) == 2  # monday, tuesday
    assert shards.relink_plan(store, None, new, {"brief": "clean-2"}) is None
    assert shards.relink_plan(store, "never-built", new, {"brief": "clean-2"}) is None
    assert shards.relink_plan(store, "old-without-members", new, {"brief": "clean-2"}) is None
    assert shards.relink_plan(store, "new", new, {"brief": "clean-2"}) is None
    shards.remember_index(store, "new")
    assert shards.latest_index(store) == "new" and shards.latest_index(PackStore(tmp_path / "empty")) is None
