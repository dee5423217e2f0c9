"""What changed between two releases: the turns' digests are Arrow tables
(`changes.TURN_DIGESTS`); the diff must be the one plain dicts give."""

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pressroom import changes


def _digests(turns: dict[str, str]) -> pa.Table:
    return pa.table([pa.array(list(turns), pa.string()), pa.array(list(turns.values()), pa.string())],
                    schema=changes.TURN_DIGESTS)


@pytest.mark.parametrize("seed", range(5))
def test_the_arrow_diff_of_turns_is_the_plain_one(seed):
    """Added, removed and changed ids, each sorted as Python sorts them
    (ids with accents, CJK and astral characters, whose UTF-8 bytes must
    sort as their code points)."""
    rng = random.Random(seed)
    alphabet = ["a", "b", "z", "é", "ß", "中", "😀", ":", "0"]
    ids = {"".join(rng.choices(alphabet, k=rng.randint(1, 6))) + f":{n}" for n in range(300)}
    before = {i: rng.choice("xyz") for i in ids if rng.random() < 0.7}
    after = {i: (before[i] if i in before and rng.random() < 0.8 else rng.choice("xyz"))
             for i in ids if rng.random() < 0.7}
    expected = (sorted(set(after) - set(before)), sorted(set(before) - set(after)),
                sorted(i for i in set(after) & set(before) if after[i] != before[i]))
    assert all(expected)  # the draw has each kind
    assert changes._diff_turns(_digests(before), _digests(after)) == expected
    assert changes._diff_turns(changes.no_turns(), _digests(after)) == (sorted(after), [], [])


def test_turn_ids_are_held_in_arrow_and_read_as_the_list():
    """A first build's changes list every turn: `Ids` keeps them in one
    Arrow array; length, items, slices, iteration (past a batch) and the
    JSON are those of the sorted list."""
    ids = [f"doc{n % 97}:{n}" for n in range(70_000)]
    current = changes.ReleaseSummary("1.0.0", {"doc": "sha"}, _digests(dict.fromkeys(ids, "h")), {"turns": len(ids)})
    record = changes.compare(None, current)
    listed = record["turns_added"]
    assert isinstance(listed, changes.Ids) and isinstance(listed.array, pa.StringArray)
    assert len(listed) == len(ids) and listed[0] == min(ids) and listed[-1] == max(ids)
    assert listed[:3] == sorted(ids)[:3] and listed[10:20:3] == sorted(ids)[10:20:3]
    assert listed[-5:] == sorted(ids)[-5:] and listed[20:10:-4] == sorted(ids)[20:10:-4]
    assert list(listed) == sorted(ids) and listed == sorted(ids) and listed != sorted(ids)[1:]
    plain = {**record, **{k: list(v) for k, v in record.items() if isinstance(v, changes.Ids)}}
    assert changes.to_json(record, indent=2, sort_keys=True) == json.dumps(plain, indent=2, sort_keys=True)
    assert "Turns added (70000)" in changes.changelog(record)


def test_a_summary_read_from_disk_a_batch_at_a_time_is_the_whole_one(tmp_path, monkeypatch):
    """read_summary hashes the turns' texts a batch at a time: the same
    digests as hashing the whole table, in the same order."""
    turns = pa.table({"id": [f"d:{n}" for n in range(11)], "speaker": ["A", "B"] * 5 + [None],
                      "turn_type": ["question", "answer"] * 5 + ["statement"],
                      "text": [f"text {n} é" for n in range(11)]})
    documents = pa.table({"doc_id": ["d"], "source_sha256": ["0" * 64]})
    pq.write_table(turns, tmp_path / "turns.parquet", row_group_size=4)
    pq.write_table(documents, tmp_path / "documents.parquet")
    (tmp_path / "manifest.json").write_text('{"version": "1.0.0", "tables": {"turns": {"rows": 11}}}')
    monkeypatch.setattr(changes, "TEXT_BATCH_ROWS", 3)
    summary = changes.read_summary(tmp_path)
    whole = changes.summarize("1.0.0", {"documents": documents, "turns": turns})
    assert summary.turns.equals(whole.turns) and summary.turns.num_rows == 11
    assert summary.documents == whole.documents == {"d": "0" * 64}
    assert len(set(summary.turns.column("hash").to_pylist())) == 11


def _sorted_turns(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_a_build_keeps_the_summary_its_release_gives(tmp_path, monkeypatch):
    """A build keeps its release's summary in the cache; the next build
    compares against it instead of hashing every turn of the last release
    again, and writes the same changes as reading that release gives.  A
    kept summary that is not the last release's (same version, other
    files) is not used."""
    import json
    import shutil
    from pathlib import Path

    from flows.build import build_release
    from pressroom import release

    root = Path(__file__).resolve().parent.parent
    raw = tmp_path / "raw"
    shutil.copytree(root / "tests" / "corpus" / "transcripts" / "raw", raw)
    releases, cache = tmp_path / "releases", tmp_path / "cache"
    build_release(raw_dir=str(raw), releases_dir=str(releases), cache_dir=str(cache))
    manifest = release.read_manifest(releases / "1.0.0")
    kept = release.previous_summary(releases, manifest, cache)
    read = changes.read_summary(releases / "1.0.0")
    assert (kept.version, kept.documents, kept.rows) == (read.version, read.documents, read.rows) == \
        ("1.0.0", read.documents, read.rows)
    assert _sorted_turns(kept.turns) == _sorted_turns(read.turns)

    transcript = raw / "201_kremlin-finland.txt"
    text = transcript.read_text()
    transcript.write_text(text.replace("we are glad that", "we are very glad that"))  # a turn's text
    reads = []
    monkeypatch.setattr(release, "read_summary", lambda path: reads.append(path) or changes.read_summary(path))
    version = build_release(raw_dir=str(raw), releases_dir=str(releases), cache_dir=str(cache))["version"]
    assert reads == []  # the kept summary served
    written = json.loads((releases / version / "changes.json").read_text())
    expected = changes.compare(changes.read_summary(releases / "1.0.0"), changes.read_summary(releases / version))
    assert written == {**expected, "version": version} and written["turns_changed"]

    # another releases folder sharing the cache: its release of that version is not the one kept
    other = tmp_path / "other"
    transcript.write_text(text)
    build_release(raw_dir=str(raw), releases_dir=str(other), cache_dir=str(cache), use_cache=False)
    transcript.write_text(text.replace("we are glad that", "we are so glad that"))
    assert build_release(raw_dir=str(raw), releases_dir=str(other), cache_dir=str(cache),
                         use_cache=False)["version"] == version
    transcript.write_text(text.replace("we are glad that", "we are truly glad that"))
    build_release(raw_dir=str(raw), releases_dir=str(other), cache_dir=str(cache))
    assert reads == [other / "1.0.0", other / version]  # a build without a cache reads the last release
