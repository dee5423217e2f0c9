"""Passes over the whole corpus, after every document is cleaned.

* `attach_clusters`: near-duplicate documents (MinHash/LSH over the cleaned
  text, `pressroom.dedup`) flagged with a cluster id and a canonical member;
  nothing is dropped.
* `build_speakers`: one row per speaker across the corpus, and each turn's
  `speaker_id`.
* `build_quotes`: the quotations of articles and commentary, linked to the
  transcript turn they come from (`pressroom.quotes`).

Each function is deterministic and independent of document order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from pressroom import dedup, quotes, turns
from pressroom.clean import CleanDocument


def attach_clusters(documents: Sequence[CleanDocument]) -> None:
    """Set cluster_id, canonical_doc_id, cluster_size, similarity_to_canonical
    and duplicate_kind on every document row."""
    clusters = dedup.find_document_clusters((d.document["doc_id"], d.document["text"]) for d in documents)
    rows = {row["doc_id"]: row for row in dedup.cluster_rows(clusters)}
    for d in documents:
        row = rows[d.document["doc_id"]]
        d.document.update({k: v for k, v in row.items() if k != "doc_id"})


def speaker_id(turn: dict) -> str:
    """A stable id: the folded name for a named person ('vladimir-putin'),
    the document and label for an unnamed questioner."""
    slug = re.sub(r"[^a-z0-9]+", "-", turns.fold(turn["speaker"])).strip("-") or "speaker"
    return f"{turn['doc_id']}:{slug}" if turn["speaker_resolution"] == "unnamed" else slug


def build_speakers(documents: Sequence[CleanDocument]) -> list[dict]:
    """Speakers table rows; also sets `speaker_id` on every turn."""
    seen: dict[str, dict] = {}
    labels: dict[str, set[str]] = defaultdict(set)
    docs: dict[str, set[str]] = defaultdict(set)
    roles: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in documents:
        for turn in d.turns:
            sid = turn["speaker_id"] = speaker_id(turn)
            seen.setdefault(sid, turn)
            labels[sid].add(turn["speaker_label"])
            docs[sid].add(turn["doc_id"])
            roles[sid][turn["speaker_role"]] += 1
    rows = []
    for sid, turn in seen.items():
        role = max(roles[sid], key=lambda r: (roles[sid][r], r != "unknown", r))
        rows.append({
            "speaker_id": sid,
            "name": turn["speaker"],
            "role": role,
            "title": turn["speaker_title"],
            "aliases": sorted(labels[sid]),
            "documents": sorted(docs[sid]),
            "turns": sum(roles[sid].values()),
        })
    return rows


def build_quotes(documents: Sequence[CleanDocument]) -> list[dict]:
    """Quotations of the non-transcripts, linked to turns of other documents."""
    found = []
    for d in documents:
        if d.document["doc_type"] == "transcript" or not d.document["text"]:
            continue
        lines = [(s["line_start"], s["line_end"]) for s in d.segments if s["status"] in ("kept", "trimmed")]
        found += quotes.extract_quotes(d.document["doc_id"], d.document["text"], lines)
    all_turns = [t for d in documents for t in d.turns]
    return quotes.link_quotes(found, all_turns) if found else []
