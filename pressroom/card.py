"""What a release says about itself: the dataset card (`README.md`, a
Hugging Face card whose YAML configs load each table) and Croissant
metadata (`croissant.json`).  Both are written from the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from schemas.contract import TABLES

LICENSE = "other"
CROISSANT_CONTEXT = json.loads((Path(__file__).with_name("croissant_context.json")).read_text())
CROISSANT_TYPES = {
    pa.string(): "sc:Text", pa.int32(): "sc:Integer", pa.int64(): "sc:Integer",
    pa.float64(): "sc:Float", pa.bool_(): "sc:Boolean", pa.date32(): "sc:Date",
    pa.list_(pa.string()): "sc:Text",
}
DESCRIPTION = (
    "Press conference transcripts and the news and commentary that quote them, cleaned by "
    "pressroom: text normalised, site boilerplate and repeated highlights removed (every removal "
    "kept in `segments` with its reason), transcripts split into speaker turns."
)

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
             f"license: {LICENSE}", "configs:"]
    for table in TABLES:
        if table.name in tables:
            lines += [f"- config_name: {table.name}", "  data_files:", "  - split: train",
                      f"    path: {table.name}.parquet"]
    lines += ["---", "", f"# pressroom release {manifest['version']}", "", DESCRIPTION, "",
              f"- created: {manifest['created_at']}",
              f"- pipeline: pressroom {manifest['pipeline_version']}, contract {manifest['contract_version']}",
              f"- input fingerprint: `{manifest['input_fingerprint']}`", ""]
    changes = manifest["changes"]
    if changes.get("previous_version"):
        lines += [f"## Changes since {changes['previous_version']} ({changes['bump']})", "",
                  f"- documents added: {changes['documents_added']}, removed: "
                  f"{changes['documents_removed']}, changed: {changes['documents_changed']}",
                  f"- turns added: {changes['turns_added']}, removed: {changes['turns_removed']}",
                  "- rows: " + ", ".join(f"{k} {v:+d}" for k, v in changes["rows_delta"].items()),
                  "- details: `CHANGELOG.md`, `changes.json`", ""]
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


def croissant(manifest: dict) -> dict:
    """Croissant 1.0 metadata: one FileObject per Parquet file (with its
    sha256) and one RecordSet per table, fields typed from the contract."""
    tables = manifest["tables"]
    distribution, record_sets = [], []
    for table in TABLES:
        if table.name not in tables:
            continue
        file = tables[table.name]["files"][0]
        distribution.append({
            "@type": "cr:FileObject", "@id": file["path"], "name": file["path"],
            "contentUrl": file["path"], "encodingFormat": "application/x-parquet", "sha256": file["sha256"],
        })
        record_sets.append({
            "@type": "cr:RecordSet", "@id": table.name, "name": table.name, "description": table.description,
            "field": [
                {
                    "@type": "cr:Field", "@id": f"{table.name}/{c.name}", "name": c.name,
                    "description": c.description, "dataType": CROISSANT_TYPES[c.type],
                    "source": {"fileObject": {"@id": file["path"]}, "extract": {"column": c.name}},
                    **({"repeated": True} if pa.types.is_list(c.type) else {}),
                }
                for c in table.columns
            ],
        })
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": "pressroom",
        "description": DESCRIPTION,
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "citeAs": f"pressroom release {manifest['version']}",
        "datePublished": manifest["created_at"][:10],
        "license": LICENSE,
        "url": "https://example.org/pressroom",
        "version": manifest["version"],
        "distribution": distribution,
        "recordSet": record_sets,
    }


def release_documents(manifest: dict, release_dir: Path | None = None, gold_dir: Path | None = None,
                      raw_dir: Path | None = None, changes: dict | None = None) -> dict[str, str]:
    """The descriptive files of a release, by file name: the card, Croissant
    metadata and, when the tables are on disk, the report page (`changes`:
    the release's changes.json as the build holds it)."""
    files = {
        "README.md": dataset_card(manifest),
        "croissant.json": json.dumps(croissant(manifest), indent=2, ensure_ascii=False) + "\n",
    }
    if release_dir is not None:
        from pressroom.report import render_report

        files["report.html"] = render_report(release_dir, gold_dir, raw_dir if gold_dir else None, changes)
    return files
