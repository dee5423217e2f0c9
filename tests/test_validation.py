"""The validator catches broken tables and says which table, rule and rows."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from schemas.contract import TABLES_BY_NAME
from schemas.validation import validate_release


@pytest.fixture
def tables(seed_release):
    return {n: pq.read_table(seed_release / f"{n}.parquet", schema=t.arrow_schema) for n, t in TABLES_BY_NAME.items()}


def _replace(table: pa.Table, column: str, row: int, value) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type))


def test_seed_release_is_valid(tables):
    report = validate_release(tables)
    assert report.ok, str(report)


def test_turn_text_must_equal_its_span(tables):
    tables["turns"] = _replace(tables["turns"], "text", 3, "something else")
    report = validate_release(tables)
    assert not report.ok
    failure = report.failures[0]
    assert (failure.table, failure.rule) == ("turns", "text equals the span of documents.text")
    assert failure.rows == [tables["turns"].column("id")[3].as_py()]


def test_question_id_must_name_a_question(tables):
    turns = tables["turns"]
    answer = turns.column("turn_type").to_pylist().index("answer")
    tables["turns"] = _replace(turns, "question_id", answer, turns.column("id")[0].as_py())
    report = validate_release(tables)
    assert [f.rule for f in report.failures] == ["question_id names a question of the same document"]


def test_overlapping_segments_are_reported(tables):
    segments = tables["segments"]
    tables["segments"] = _replace(segments, "line_start", 1, segments.column("line_start")[0].as_py())
    report = validate_release(tables)
    assert "segments do not overlap" in [f.rule for f in report.failures]


def test_schema_failures_name_column_and_check(tables):
    tables["documents"] = _replace(tables["documents"], "doc_type", 0, "poem")
    report = validate_release(tables)
    assert report.failures[0].table == "documents"
    assert "doc_type" in report.failures[0].rule and "isin" in report.failures[0].rule
    assert "documents: doc_type" in str(report)


def test_removal_without_reason_is_reported(tables):
    segments = tables["segments"]
    removed = segments.column("status").to_pylist().index("boilerplate")
    tables["segments"] = _replace(segments, "reason", removed, None)
    report = validate_release(tables)
    assert any(f.table == "segments" and "every removal has a reason" in f.rule for f in report.failures)


def _first(table: pa.Table, column: str, test) -> int:
    return next(k for k, v in enumerate(table.column(column).to_pylist()) if test(v))


@pytest.mark.parametrize("break_it, table, rule", [
    (lambda t: {"turns": _replace(t["turns"], "reply_to", _first(t["turns"], "reply_to", bool), "nowhere:t0")},
     "turns", "reply_to names a turn of the same document"),
    (lambda t: {"turns": _replace(t["turns"], "reply_to", _first(t["turns"], "reply_to", bool), None)},
     "turns", "exactly one root (reply_to null) per document"),
    (lambda t: {"segments": _replace(t["segments"], "duplicate_of",
                                     _first(t["segments"], "duplicate_of", lambda v: v is not None), 10_000)},
     "segments", "duplicate_of names a segment of the same document"),
    (lambda t: {"quotes": _replace(t["quotes"], "text", 0, "not what the document says")},
     "quotes", "text equals the span of documents.text"),
    (lambda t: {"quotes": _replace(t["quotes"], "matched_turn_id", 0, "nowhere:t0")},
     "quotes", "matched_turn_id names a turn"),
    (lambda t: {"speakers": t["speakers"].slice(1)},
     "turns", "speaker_id names a row of speakers"),
    (lambda t: {"turns": _replace(t["turns"], "char_end", 0, 10**8)},
     "turns", "span lies inside the document text"),
])
def test_each_cross_table_rule_names_its_rows(tables, break_it, table, rule):
    """One broken row (or a missing one), one failure: the rule that sees it."""
    assert validate_release(tables).ok
    tables.update(break_it(tables))
    report = validate_release(tables)
    assert [(f.table, f.rule) for f in report.failures] == [(table, rule)], str(report)
    assert report.failures[0].rows


def test_the_sharded_build_checks_links_and_speakers_against_the_whole_corpus(tables):
    """`shards.validate_corpus`, the build's checks of the tables that come
    whole from its reduce passes, names the quote whose turn does not exist
    and the speaker_id no speakers row has, against the turns as assembled."""
    from pressroom.changes import turn_digests
    from pressroom.shards import ReleaseParts, validate_corpus

    assembled = ReleaseParts({}, turn_digests(tables["turns"]), {}, pc.unique(tables["turns"].column("speaker_id")))
    assert validate_corpus(tables, assembled).ok
    linked = _first(tables["quotes"], "matched_turn_id", bool)
    broken = {**tables, "quotes": _replace(tables["quotes"], "matched_turn_id", linked, "nowhere:t0"),
              "speakers": tables["speakers"].slice(1)}
    report = validate_corpus(broken, assembled)
    assert {(f.table, f.rule) for f in report.failures} == {
        ("quotes", "matched_turn_id names a turn"), ("turns", "speaker_id names a row of speakers")}
    by_rule = {f.rule: f.rows for f in report.failures}
    assert by_rule["matched_turn_id names a turn"] == [tables["quotes"].column("id")[linked].as_py()]
    assert by_rule["speaker_id names a row of speakers"] == [tables["speakers"].column("speaker_id")[0].as_py()]


@pytest.mark.parametrize("column", ["matched_turn_id", "matched_doc_id", "matched_speaker", "match_score",
                                    "match_method"])
def test_a_quote_with_part_of_its_match_is_reported(tables, column):
    """The match columns are all set or all null: each one set alone on an
    unlinked quote, or cleared alone on a linked one, is reported, with
    that quote's id."""
    quotes = tables["quotes"]
    linked = _first(quotes, "matched_turn_id", bool)
    loose = _first(quotes, "matched_turn_id", lambda v: v is None)
    value = quotes.column(column)[linked].as_py()
    for row, replacement in ((linked, None), (loose, value)):
        broken = {**tables, "quotes": _replace(quotes, column, row, replacement)}
        failures = [f for f in validate_release(broken).failures if "all set or all null" in f.rule]
        assert [f.rows for f in failures] == [[quotes.column("id")[row].as_py()]]
