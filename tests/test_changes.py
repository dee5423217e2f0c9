"""What changed between two releases: the turns' digests are Arrow tables
(`changes.TURN_DIGESTS`); the diff must be the one plain dicts give."""

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
