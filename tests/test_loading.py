"""A release loads in the tools people use, with the values we expect."""

import duckdb
import pandas as pd
import polars as pl

TRANSCRIPT = "001_3bccebe78fcd7704"


def test_pandas(seed_release):
    turns = pd.read_parquet(seed_release / "turns.parquet")
    assert len(turns) == 13
    first = turns[turns["id"] == f"{TRANSCRIPT}:0"].iloc[0]
    assert first["speaker"] == "Vladimir Putin"
    assert first["speaker_label"] == "President of Russia Vladimir Putin"
    assert first["text"].startswith("Ladies and gentlemen, good evening.")
    documents = pd.read_parquet(seed_release / "documents.parquet")
    assert set(documents["doc_type"]) == {"transcript", "article", "commentary"}


def test_duckdb(seed_release):
    path = str(seed_release / "turns.parquet")
    rows = duckdb.sql(f"SELECT speaker, count(*) AS n FROM '{path}' WHERE speaker_role <> 'journalist' GROUP BY speaker ORDER BY speaker").fetchall()
    assert rows == [("François Hollande", 3), ("Vladimir Putin", 6)]
    joined = duckdb.sql(
        f"SELECT count(*) FROM '{path}' t JOIN '{seed_release / 'documents.parquet'}' d USING (doc_id) "
        "WHERE substr(d.text, t.char_start + 1, t.char_end - t.char_start) = t.text"
    ).fetchall()[0][0]
    assert joined == 13


def test_polars(seed_release):
    segments = pl.read_parquet(seed_release / "segments.parquet")
    removed = segments.filter(pl.col("status") == "duplicate")
    assert removed.height == 8
    assert removed["duplicate_of"].null_count() == 0
