"""The dataset card (`README.md`) of a release, written from the contract."""

from __future__ import annotations

from schemas.contract import TABLES

LOADING = """\
## Loading

```python
import pandas as pd
documents = pd.read_parquet("documents.parquet")

import duckdb
duckdb.sql("SELECT speaker, count(*) FROM 'turns.parquet' GROUP BY speaker").show()

import polars as pl
segments = pl.read_parquet("segments.parquet")

from datasets import load_dataset
turns = load_dataset("path/to/this/release", "turns", split="train")
```
"""


def dataset_card(manifest: dict) -> str:
    """Hugging Face style card: YAML configs (one per table), then the tables
    with their columns and row counts, the changes and how to load them."""
    tables = manifest["tables"]
    lines = ["---", "pretty_name: pressroom political press texts", "language:", "- en",
             "license: other", "configs:"]
    for table in TABLES:
        if table.name in tables:
            lines += [f"- config_name: {table.name}", "  data_files:", "  - split: train",
                      f"    path: {table.name}.parquet"]
    lines += ["---", "", f"# pressroom release {manifest['version']}", "",
              "Press conference transcripts and the news and commentary that quote them, cleaned by "
              "pressroom: text normalised, site boilerplate and repeated highlights removed (every removal "
              "kept in `segments` with its reason), transcripts split into speaker turns.", "",
              f"- created: {manifest['created_at']}",
              f"- pipeline: pressroom {manifest['pipeline_version']}, contract {manifest['contract_version']}",
              f"- input fingerprint: `{manifest['input_fingerprint']}`", ""]
    changes = manifest["changes"]
    if changes.get("previous_version"):
        lines += [f"## Changes since {changes['previous_version']}", "",
                  f"- documents added: {len(changes['documents_added'])}, removed: "
                  f"{len(changes['documents_removed'])}, changed: {len(changes['documents_changed'])}",
                  "- rows: " + ", ".join(f"{k} {v:+d}" for k, v in changes["rows_delta"].items()), ""]
    lines += ["## Tables", ""]
    for table in TABLES:
        if table.name not in tables:
            continue
        lines += [f"### {table.name} ({tables[table.name]['rows']} rows)", "", table.description, "",
                  "| column | type | null | meaning |", "|---|---|---|---|"]
        for column in table.columns:
            lines.append(f"| {column.name} | {column.type} | {'yes' if column.nullable else 'no'} | {column.description} |")
        lines.append("")
    lines.append(LOADING)
    return "\n".join(lines)
