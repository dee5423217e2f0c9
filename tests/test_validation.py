"""The validator catches broken tables and says which table, rule and rows."""

import pyarrow as pa
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
