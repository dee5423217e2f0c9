"""Score a release against gold labels (the format of shared/seeds/gold).

Every figure is passed/total over gold items, computed from the release's
own tables and the raw files the gold line numbers refer to:

* content lines kept: non-blank raw lines that gold does not call
  boilerplate or duplicate, whose segment is kept (or trimmed);
* boilerplate lines removed: gold boilerplate lines whose segment is not kept;
* repeated highlights removed: gold duplicate lines whose segment is a
  `duplicate` whose `duplicate_of` segment holds the gold original line;
* highlights inside paragraphs cut (gold `inline_duplicates`): the line's
  segment is trimmed of a removed text holding the gold copy, and its
  `duplicate_of` segment holds the gold original line;
* legitimate repetitions kept (gold `repeats_kept`): the line's segment is
  kept and nothing removed from it holds the gold text;
* broken lines joined: gold broken pairs that fall in one segment;
* doc_type and title: per gold file;
* turns found: gold turns with a release turn starting on the label line;
  turns without gold are counted apart (they come from false labels);
* speaker correct, turn type correct, answers linked: over gold turns
  (gold "Journalist"/"Audience" is any unnamed questioner of that role).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pressroom.ingest import doc_id_for
from pressroom.normalize import split_lines

FIGURES = (
    "content_kept", "boilerplate_removed", "partial_removed", "highlights_removed", "inline_highlights_removed",
    "repeats_kept", "broken_joined",
    "doc_type", "title", "site", "published", "authors", "url",
    "turns_found", "speaker_correct", "turn_type_correct", "answers_linked",
)
LABELS = {
    "content_kept": "content lines kept",
    "boilerplate_removed": "boilerplate lines removed",
    "highlights_removed": "repeated highlights removed",
    "inline_highlights_removed": "highlights inside paragraphs cut",
    "repeats_kept": "legitimate repetitions kept",
    "broken_joined": "broken lines joined",
    "partial_removed": "inline boilerplate removed",
    "doc_type": "doc_type",
    "title": "title",
    "site": "site",
    "published": "published",
    "authors": "authors",
    "url": "url",
    "turns_found": "turns found",
    "speaker_correct": "speaker correct",
    "turn_type_correct": "turn type correct",
    "answers_linked": "answers linked to their question",
}
KEPT = {"kept", "trimmed"}


@dataclass
class Figure:
    passed: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def count(self, ok: bool, what: str) -> None:
        self.total += 1
        self.passed += ok
        if not ok:
            self.misses.append(what)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclass
class Scores:
    figures: dict[str, Figure]
    extra_turns: list[str]

    def as_dict(self) -> dict:
        out = {name: {"passed": f.passed, "total": f.total, "misses": f.misses} for name, f in self.figures.items()}
        out["extra_turns"] = {"count": len(self.extra_turns), "turns": self.extra_turns}
        return out

    def __str__(self) -> str:
        lines = [f"{LABELS[n]:<34} {f.passed}/{f.total}" for n, f in self.figures.items()]
        lines.append(f"{'turns without gold (false labels)':<34} {len(self.extra_turns)}")
        return "\n".join(lines)


class _Release:
    def __init__(self, release_dir: Path):
        def read(name: str) -> list[dict]:
            return pq.read_table(release_dir / f"{name}.parquet").to_pylist()

        self.documents = {d["doc_id"]: d for d in read("documents")}
        self.segments: dict[str, list[dict]] = defaultdict(list)
        for s in read("segments"):
            self.segments[s["doc_id"]].append(s)
        self.turns: dict[str, list[dict]] = defaultdict(list)
        for t in read("turns"):
            self.turns[t["doc_id"]].append(t)

    def segment_at(self, doc_id: str, line: int) -> dict | None:
        for s in self.segments[doc_id]:
            if s["line_start"] <= line <= s["line_end"]:
                return s
        return None

    def segment(self, doc_id: str, index: int) -> dict | None:
        return next((s for s in self.segments[doc_id] if s["segment_index"] == index), None)


def score_release(release_dir: Path, gold_dir: Path, raw_dir: Path) -> Scores:
    rel = _Release(Path(release_dir))
    figures = {name: Figure() for name in FIGURES}
    extra: list[str] = []
    for gold_path in sorted(Path(gold_dir).glob("*.json")):
        gold = json.loads(gold_path.read_text())
        doc_id = doc_id_for(gold["file"])
        where = gold["file"]
        if doc_id not in rel.documents:
            figures["doc_type"].count(False, f"{where}: missing from the release")
            continue
        raw_lines = split_lines((Path(raw_dir) / gold["file"]).read_text(encoding="utf-8-sig"))
        _score_lines(rel, doc_id, where, gold, raw_lines, figures)
        document = rel.documents[doc_id]
        figures["doc_type"].count(document["doc_type"] == gold["doc_type"], f"{where}: {document['doc_type']} != {gold['doc_type']}")
        figures["title"].count(document["title"] == gold["title"], f"{where}: {document['title']!r} != {gold['title']!r}")
        _score_metadata(document, gold.get("metadata"), where, figures)
        extra += _score_turns(rel, doc_id, where, gold, figures)
    return Scores(figures, extra)


def _score_metadata(document: dict, meta: dict | None, where: str, figures) -> None:
    """Metadata figures, for gold files that carry a `metadata` block."""
    if not meta:
        return
    from pressroom.metadata import site_key

    if meta.get("site"):
        figures["site"].count(site_key(document["site"]) == site_key(meta["site"]), f"{where}: {document['site']!r} != {meta['site']!r}")
    published = str(document["published"]) if document["published"] else None
    figures["published"].count(published == meta.get("published"), f"{where}: {published} != {meta.get('published')}")
    figures["authors"].count(list(document.get("authors") or []) == list(meta.get("authors") or []),
                             f"{where}: {document.get('authors')} != {meta.get('authors')}")
    if meta.get("url"):
        figures["url"].count(document.get("url") == meta["url"], f"{where}: {document.get('url')} != {meta['url']}")


def _score_lines(rel, doc_id, where, gold, raw_lines, figures) -> None:
    boilerplate = set(gold["boilerplate_lines"])
    duplicates = {dup for dup, _ in gold["duplicate_lines"]}

    def status(line: int) -> str:
        segment = rel.segment_at(doc_id, line)
        return segment["status"] if segment else "missing"

    for number, line in enumerate(raw_lines, start=1):
        if not line.strip() or number in boilerplate or number in duplicates:
            continue
        figures["content_kept"].count(status(number) in KEPT, f"{where}:{number} {status(number)}")
    for number in sorted(boilerplate):
        figures["boilerplate_removed"].count(status(number) not in KEPT, f"{where}:{number} kept")
    for partial in gold.get("partial_boilerplate", []):
        segment = rel.segment_at(doc_id, partial["line"])
        text = rel.documents[doc_id]["text"]
        needle = partial["boilerplate_text"]
        figures["partial_removed"].count(bool(segment) and segment["status"] in KEPT and needle not in text,
                                         f"{where}:{partial['line']} {needle[:40]!r}")
    for dup, original in gold["duplicate_lines"]:
        segment = rel.segment_at(doc_id, dup)
        target = rel.segment(doc_id, segment["duplicate_of"]) if segment and segment["duplicate_of"] is not None else None
        ok = bool(segment and segment["status"] == "duplicate" and target
                  and target["line_start"] <= original <= target["line_end"])
        figures["highlights_removed"].count(ok, f"{where}:{dup}->{original}")
    for item in gold.get("inline_duplicates", []):
        segment = rel.segment_at(doc_id, item["line"])
        target = rel.segment(doc_id, segment["duplicate_of"]) if segment and segment["duplicate_of"] is not None else None
        ok = bool(segment and segment["status"] == "trimmed" and _holds(segment["removed_text"], item["text"])
                  and target and target["line_start"] <= item["original_line"] <= target["line_end"])
        figures["inline_highlights_removed"].count(ok, f"{where}:{item['line']} {item['text'][:40]!r}")
    for item in gold.get("repeats_kept", []):
        segment = rel.segment_at(doc_id, item["line"])
        ok = bool(segment and segment["status"] in KEPT and not _holds(segment["removed_text"], item["text"]))
        figures["repeats_kept"].count(ok, f"{where}:{item['line']} {item['text'][:40]!r}")
    for first, second in gold["broken_lines"]:
        a, b = rel.segment_at(doc_id, first), rel.segment_at(doc_id, second)
        figures["broken_joined"].count(bool(a and b and a["segment_index"] == b["segment_index"]), f"{where}:{first}+{second}")


def _holds(removed: str | None, text: str) -> bool:
    return bool(removed) and " ".join(text.split()) in " ".join(removed.split())


def _score_turns(rel, doc_id, where, gold, figures) -> list[str]:
    turns = rel.turns[doc_id]
    by_line = {t["line_start"]: t for t in turns}
    by_id = {t["id"]: t for t in turns}
    gold_turns = gold.get("turns", [])
    for g in gold_turns:
        turn = by_line.get(g["first_line"])
        figures["turns_found"].count(turn is not None, f"{where}:{g['first_line']} {g['label']}")
        if turn is None:
            for name in ("speaker_correct", "turn_type_correct"):
                figures[name].count(False, f"{where}:{g['first_line']} no turn")
            if g.get("reply_to") is not None:
                figures["answers_linked"].count(False, f"{where}:{g['first_line']} no turn")
            continue
        if g["speaker"] in ("Journalist", "Audience"):  # unnamed questioners: any id of that role
            speaker_ok = turn["speaker_role"] == g["speaker"].lower() and turn["speaker_resolution"] == "unnamed"
        else:
            speaker_ok = turn["speaker"] == g["speaker"]
        figures["speaker_correct"].count(speaker_ok, f"{where}:{g['first_line']} {turn['speaker']!r} != {g['speaker']!r}")
        figures["turn_type_correct"].count(turn["turn_type"] == g["kind"], f"{where}:{g['first_line']} {turn['turn_type']} != {g['kind']}")
        if g.get("reply_to") is not None:
            question_line = gold_turns[g["reply_to"]]["first_line"]
            question = by_id.get(turn["question_id"]) if turn["question_id"] else None
            figures["answers_linked"].count(bool(question and question["line_start"] == question_line),
                                            f"{where}:{g['first_line']} -> {turn['question_id']}")
    gold_lines = {g["first_line"] for g in gold_turns}
    return [f"{where}:{t['line_start']} {t['speaker_label']}" for t in turns if t["line_start"] not in gold_lines]
