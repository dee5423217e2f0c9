"""Rows of the cleaned documents to Arrow tables with the contract's schemas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from pressroom.clean import CleanDocument
from pressroom.ingest import Reject
from schemas.contract import DOCUMENTS, QUOTES, REJECTS, SEGMENTS, SPEAKERS, TURNS, Table


def to_arrow(table: Table, rows: Iterable[dict]) -> pa.Table:
    """Rows (dicts) to an Arrow table with exactly the contract's columns,
    sorted by the table's key so that the same rows always give the same
    bytes."""
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in table.sort_by))
    columns = {c.name: [r.get(c.name) for r in rows] for c in table.columns}
    return pa.Table.from_pydict(columns, schema=table.arrow_schema)


def build_tables(documents: Sequence[CleanDocument], rejects: Sequence[Reject],
                 speakers: Sequence[dict] = (), quotes: Sequence[dict] = ()) -> dict[str, pa.Table]:
    return {
        "speakers": to_arrow(SPEAKERS, speakers),
        "quotes": to_arrow(QUOTES, quotes),
        "documents": to_arrow(DOCUMENTS, (d.document for d in documents)),
        "segments": to_arrow(SEGMENTS, (s for d in documents for s in d.segments)),
        "turns": to_arrow(TURNS, (t for d in documents for t in d.turns)),
        "rejects": to_arrow(REJECTS, (vars(r) for r in rejects)),
    }
