"""Record inputs: JSON Lines (plain and gzip) and Parquet shards of scraped
records, from a folder or any fsspec URI, with stable record doc_ids."""

import datetime as dt
import gzip
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pressroom.ingest import RawDocument, Reject
from pressroom import sources
from pressroom.sources import RecordDocument, ScanMemo, read_items, scan

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = (ROOT / "raw" / "004_bba586f07c384d09.txt").read_text()
TRANSCRIPT = (ROOT / "raw" / "001_3bccebe78fcd7704.txt").read_text()


def _records():
    return [
        {"id": "a:1", "url": "https://www.example.org/news/1", "title": "Putin and Hollande in Moscow",
         "date": "2015-11-26", "text": TRANSCRIPT},
        {"id": "a2", "text": ARTICLE, "url": None},
    ]


@pytest.fixture
def record_root(tmp_path) -> Path:
    root = tmp_path / "raw"
    (root / "feeds").mkdir(parents=True)
    lines = [json.dumps(r) for r in _records()] + ["{not json", json.dumps({"title": "no text"}), ""]
    (root / "feeds" / "day1.jsonl").write_text("\n".join(lines) + "\n")
    (root / "feeds" / "day2.jsonl.gz").write_bytes(gzip.compress(
        (json.dumps({"content": "Second day.\n\nThe talks went on in Moscow on Friday, officials said."}) + "\n").encode()))
    pq.write_table(pa.Table.from_pylist([{"text": ARTICLE, "title": "A repost", "published": "2015-11-30"}]),
                   root / "feeds" / "day3.parquet")
    (root / "plain.txt").write_text("A plain text document about the summit, reported on Friday.")
    return root


def test_scan_plans_every_record_with_stable_ids(record_root):
    items, rejects = scan(str(record_root))
    ids = [i.doc_id for i in items]
    assert ids == sorted(ids)
    assert set(ids) == {"feeds/day1.jsonl#a%3A1", "feeds/day1.jsonl#a2", "feeds/day2.jsonl.gz#1",
                        "feeds/day3.parquet#1", "plain"}
    assert all(":" not in i for i in ids)
    by_id = {i.doc_id: i for i in items}
    assert by_id["feeds/day1.jsonl#a2"].record == 2 and by_id["feeds/day1.jsonl#a2"].file == "feeds/day1.jsonl"
    assert by_id["feeds/day1.jsonl#a2"].source_path == "feeds/day1.jsonl#a2"
    reasons = {r.source_path: r.reason for r in rejects}
    assert reasons["feeds/day1.jsonl#3"].startswith("not valid JSON")
    assert reasons["feeds/day1.jsonl#4"].startswith("no text field")
    # the same input scans the same; a record's hash is its line's
    again, _ = scan(str(record_root))
    assert again == items


def _counting_reads(monkeypatch) -> list[str]:
    """The files the scan reads from now on (text files and record files)."""
    read: list[str] = []
    fingerprint, records = sources._fingerprint, sources.scan_records
    monkeypatch.setattr(sources, "_fingerprint",
                        lambda fs, root, rel, local: read.append(rel) or fingerprint(fs, root, rel, local))
    monkeypatch.setattr(sources, "scan_records", lambda fs, root, rel: read.append(rel) or records(fs, root, rel))
    return read


def test_a_scan_with_the_last_scans_memo_reads_only_changed_files(record_root, monkeypatch):
    monkeypatch.setattr(ScanMemo, "RACY_NS", 0)  # the files were written just now: trust them at once
    memo = ScanMemo()
    first = scan(str(record_root), memo)
    assert set(memo.seen) == {"plain.txt", "feeds/day1.jsonl", "feeds/day2.jsonl.gz", "feeds/day3.parquet"}
    # same size and mtime, other bytes (what a careless copy or a clock step can do): the ctime tells
    plain = record_root / "plain.txt"
    before = plain.stat()
    plain.write_text(plain.read_text().replace("Friday", "Monday"))
    os.utime(plain, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (plain.stat().st_size, plain.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with (record_root / "feeds" / "day1.jsonl").open("a") as feed:
        feed.write(json.dumps({"id": "a3", "text": "A third record, added later in the day."}) + "\n")
    (record_root / "new.txt").write_text("A new document.")
    read = _counting_reads(monkeypatch)
    again = ScanMemo(memo.seen)
    second = scan(str(record_root), again)
    assert sorted(read) == ["feeds/day1.jsonl", "new.txt", "plain.txt"]
    assert again.reused == 2
    assert second == scan(str(record_root))  # what reading every file gives
    assert {i.doc_id: i.sha256 for i in second[0]}["plain"] != {i.doc_id: i.sha256 for i in first[0]}["plain"]
    assert "feeds/day1.jsonl#a3" in {i.doc_id for i in second[0]}
    # nothing changed since: nothing is read
    read.clear()
    assert scan(str(record_root), ScanMemo(again.seen)) == second and read == []


def test_a_file_changed_just_before_the_scan_is_not_remembered(record_root):
    memo = ScanMemo()
    scan(str(record_root), memo)
    assert memo.seen == {}  # written within ScanMemo.RACY_NS of the scan: it could change and keep its stat
    old = time.time_ns() - 10 * ScanMemo.RACY_NS
    for path in record_root.rglob("*"):
        os.utime(path, ns=(old, old))
    memo = ScanMemo()
    scan(str(record_root), memo)
    assert memo.seen == {}  # an old mtime is not enough: the ctime is new


def test_records_read_with_their_metadata(record_root):
    items, _ = scan(str(record_root))
    found = {d.doc_id: d for d in read_items(str(record_root), items)}
    first = found["feeds/day1.jsonl#a%3A1"]
    assert isinstance(first, RecordDocument) and first.text == TRANSCRIPT
    assert first.title == "Putin and Hollande in Moscow" and first.published == dt.date(2015, 11, 26)
    assert first.front_matter.site == "example.org" and first.front_matter.url == "https://www.example.org/news/1"
    assert found["feeds/day1.jsonl#a2"].front_matter is None
    assert found["feeds/day2.jsonl.gz#1"].text.startswith("Second day.")
    assert found["feeds/day3.parquet#1"].published == dt.date(2015, 11, 30)
    assert isinstance(found["plain"], RawDocument) and not isinstance(found["plain"], RecordDocument)


def test_text_files_read_as_ingest_reads_them(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "ok.txt").write_text("Fine text.")
    items, _ = scan(str(tmp_path))
    found = read_items(str(tmp_path), items)
    assert isinstance(found[0], Reject) and found[0].reason.startswith("binary data")
    assert isinstance(found[1], RawDocument) and found[1].doc_id == "ok"


def test_an_fsspec_uri_is_read_like_a_folder(record_root):
    import fsspec

    memory = fsspec.filesystem("memory")
    for path in record_root.rglob("*"):
        if path.is_file():
            memory.pipe(f"/raw-test/{path.relative_to(record_root).as_posix()}", path.read_bytes())
    local, _ = scan(str(record_root))
    remote, _ = scan("memory://raw-test")
    assert [(i.doc_id, i.sha256) for i in remote] == [(i.doc_id, i.sha256) for i in local]
    texts = [d.text for d in read_items("memory://raw-test", remote)]
    assert texts == [d.text for d in read_items(str(record_root), local)]
    memory.rm("/raw-test", recursive=True)


def test_a_release_from_records(record_root, tmp_path):
    from flows.build import build_release

    summary = build_release(raw_dir=str(record_root), releases_dir=str(tmp_path / "releases"), batch_size=2)
    assert summary["version"] == "1.0.0"
    release = tmp_path / "releases" / "1.0.0"
    documents = {d["doc_id"]: d for d in pq.read_table(release / "documents.parquet").to_pylist()}
    first = documents["feeds/day1.jsonl#a%3A1"]
    assert first["title"] == "Putin and Hollande in Moscow" and first["site"] == "example.org"
    assert first["published"] == dt.date(2015, 11, 26) and first["doc_type"] == "transcript"
    turns = pq.read_table(release / "turns.parquet").to_pylist()
    assert turns and all(t["doc_id"] == "feeds/day1.jsonl#a%3A1" for t in turns)
    assert turns[0]["id"] == "feeds/day1.jsonl#a%3A1:0"
    rejects = pq.read_table(release / "rejects.parquet").to_pylist()
    assert {r["source_path"] for r in rejects} == {"feeds/day1.jsonl#3", "feeds/day1.jsonl#4"}
    # the repost in the Parquet shard is clustered with the article it copies
    assert documents["feeds/day3.parquet#1"]["cluster_id"] == documents["feeds/day1.jsonl#a2"]["cluster_id"]


def _big_record_file(root: Path, kind: str, records: int = 2000, size: int = 12_000) -> Path:
    """A record file of `records` distinct texts of about `size` characters."""
    rows = [{"id": f"r{n}", "text": f"Record {n}. " + " ".join(f"w{n}x{k}" for k in range(size // 8))}
            for n in range(records)]
    root.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        path = root / "big.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=50)
        return path
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path = root / ("big.jsonl.gz" if kind == "gz" else "big.jsonl")
    path.write_bytes(gzip.compress(data, compresslevel=1) if kind == "gz" else data)
    return path


@pytest.mark.parametrize("kind", ["plain", "gz", "parquet"])
def test_a_shard_holds_its_records_not_its_record_file(tmp_path, kind):
    """A shard of a few records of a large record file (24 MB of text) is
    read holding about those records: JSON Lines read at each record's
    offset (gzip from a decompressed copy on disk), Parquet a row group at
    a time.  Reading the whole file at once, as before, held it all (twice
    for JSON Lines: the bytes and their lines)."""

    from arrow_memory import arrow_high_water, python_high_water

    root = tmp_path / "raw"
    _big_record_file(root, kind)
    items, rejects = scan(str(root))
    assert len(items) == 2000 and not rejects
    shard = items[1200:1210]
    (found, python_peak), arrow_peak = arrow_high_water(lambda: python_high_water(lambda: read_items(str(root), shard)))
    assert [d.doc_id for d in found] == [i.doc_id for i in shard]
    assert all(isinstance(d, RecordDocument) and d.source_sha256 == i.sha256 for d, i in zip(found, shard))
    assert python_peak < 4_000_000, python_peak
    assert arrow_peak < 4_000_000, arrow_peak


@pytest.mark.parametrize("kind", ["plain", "gz"])
def test_a_shard_reads_its_records_at_their_offsets(tmp_path, monkeypatch, kind):
    """A shard's records are scattered over their file (shards follow
    doc_ids: '#r1', '#r10', '#r100', ...).  The scan notes where each
    record's line starts; a shard reads those lines only, never the lines
    between them (gzip: in a copy decompressed once per process)."""
    root = tmp_path / "raw"
    _big_record_file(root, kind, records=500, size=2000)
    items, _ = scan(str(root))
    assert [i.record for i in items[:4]] == [1, 2, 11, 101]  # r0, r1, r10, r100
    scanned = []
    real = sources._jsonl_records
    monkeypatch.setattr(sources, "_jsonl_records", lambda *a, **k: scanned.append(a) or real(*a, **k))
    for k in range(0, 500, 50):
        shard = items[k:k + 50]
        found = read_items(str(root), shard)
        assert [(d.doc_id, d.source_sha256) for d in found] == [(i.doc_id, i.sha256) for i in shard]
    assert scanned == []


def test_a_json_lines_file_changed_since_the_scan_is_read_from_its_start(tmp_path):
    """When the byte before a record's planned offset no longer ends a line
    (the file was rewritten), the shard reads the file from its start: it
    gets whole lines by number, whose hashes tell the build they changed,
    never a line cut in two."""
    root = tmp_path / "raw"
    path = _big_record_file(root, "plain", records=50, size=200)
    items, _ = scan(str(root))
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([b'{"id": "new", "text": "A record added at the top of the file."}'] + lines))
    found = read_items(str(root), items[-3:])
    numbers = [i.record for i in items[-3:]]
    expected = [json.loads(lines[n - 2])["text"] for n in numbers]  # line n is now the old line n - 1
    assert [d.text for d in found] == expected
    assert all(d.source_sha256 != i.sha256 for d, i in zip(found, items[-3:]))


@pytest.mark.parametrize("kind", ["gz", "parquet"])
def test_a_record_file_is_decompressed_or_decoded_once_per_process(tmp_path, monkeypatch, kind):
    """Each shard of a .jsonl.gz used to decompress it up to its last
    record, and each shard of a Parquet file to decode the row groups of
    its records: most of the file, as a shard's records are scattered.  The
    first shard now makes a local copy (decompressed; decoded to an Arrow
    file), which the next shards read; a changed file is copied again; the
    memos' clearing between passes deletes the copies."""
    from pressroom import heap

    root = tmp_path / "raw"
    path = _big_record_file(root, kind, records=1000, size=200)
    items, _ = scan(str(root))
    copies = sources._GUNZIPPED if kind == "gz" else sources._DECODED_PARQUET
    made = []
    real = copies.make
    monkeypatch.setattr(copies, "make", lambda fs, at, local: made.append(at) or real(fs, at, local))
    copies.cache_clear()
    scratch = tmp_path / "cache" / "prepare"  # as a build gives it: its cache folder, not /tmp (maybe a tmpfs)
    scratch.mkdir(parents=True)
    found = [d for k in range(0, 1000, 100) for d in read_items(str(root), items[k:k + 100], scratch)]
    assert [(d.doc_id, d.source_sha256) for d in found] == [(i.doc_id, i.sha256) for i in items]
    assert len(made) == 1 and copies.cache_info() == 1
    (copy,) = copies.files.values()
    assert Path(copy).parent == scratch and Path(copy).name.startswith(".")  # a scratch file to `prune`
    if kind == "gz":
        assert Path(copy).stat().st_size == len(gzip.decompress(path.read_bytes()))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file is another version
    assert read_items(str(root), items[:1], scratch)[0].source_sha256 == items[0].sha256 and len(made) == 2
    copy = list(copies.files.values())[-1]  # the latest version's
    Path(copy).unlink()  # as the cache's prune does, the process living on (a served flow)
    assert read_items(str(root), items[:1], scratch)[0].source_sha256 == items[0].sha256 and len(made) == 3
    kept = list(copies.files.values())
    heap.forget_caches()
    assert copies.cache_info() == 0 and not any(Path(p).exists() for p in kept)
