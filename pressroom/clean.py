"""One document through the cleaning stages, in two passes.

`prepare` (per document): normalise lines, build paragraphs, find speaker
labels, guess the site from the page chrome.  Between the passes the corpus
learns its site boilerplate (`learn_site_boilerplate`, cross-document).
`clean` (per document): boilerplate, inline notes, repeated highlights,
metadata, turns; it returns the rows of the three tables.

Each stage is a module of its own; this one only wires them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pressroom import boilerplate, highlights, metadata, turns
from pressroom.ingest import RawDocument
from pressroom.normalize import normalize_lines
from pressroom.paragraphs import Paragraph, build_paragraphs

PARAGRAPH_SEPARATOR = "\n\n"
# Chrome that names somebody else's site: not evidence of the publisher.
_FOREIGN_SITE_RULES = frozenset({"source_line", "copyright", "byline", "author_list", "photo_credit"})


@dataclass
class PreparedDocument:
    raw: RawDocument
    paragraphs: list[Paragraph]
    labels: dict[int, turns.Label]  # paragraph index -> speaker label
    form_reasons: dict[int, str]  # paragraph index -> form rule
    site: str | None
    nonblank_lines: int  # raw lines with text after normalisation


@dataclass
class CleanDocument:
    document: dict
    segments: list[dict] = field(default_factory=list)
    turns: list[dict] = field(default_factory=list)


def _is_label(text: str) -> bool:
    return turns.parse_label(text) is not None


def prepare(raw: RawDocument) -> PreparedDocument:
    lines = normalize_lines(raw.text)
    paragraphs = build_paragraphs(lines, starts_paragraph=_is_label)
    labels = {p.index: label for p in paragraphs if (label := turns.parse_label(p.text))}
    form_reasons = {p.index: r for p in paragraphs if (r := boilerplate.form_rule(p.text))}
    site = metadata.find_site(
        paragraphs[i].text for i, r in form_reasons.items() if r not in _FOREIGN_SITE_RULES
    )
    nonblank = sum(1 for line in lines if line)
    return PreparedDocument(raw, paragraphs, labels, form_reasons, site, nonblank)


def learn_site_boilerplate(documents: Iterable[PreparedDocument], min_support: int = 3) -> boilerplate.SiteBoilerplate:
    """Lines repeated across documents of the same site (cross-document pass)."""
    return boilerplate.SiteBoilerplate.learn(
        ((d.site, (p.text for p in d.paragraphs)) for d in documents), min_support=min_support
    )


def clean(doc: PreparedDocument, site_model: boilerplate.SiteBoilerplate | None = None) -> CleanDocument:
    doc_id = doc.raw.doc_id
    paragraphs = doc.paragraphs
    removed = boilerplate.classify(paragraphs, doc.site, site_model, protected=frozenset(doc.labels))

    segments: dict[int, dict] = {}
    kept: dict[int, str] = {}
    for p in paragraphs:
        row = {
            "doc_id": doc_id, "segment_index": p.index, "line_start": p.line_start,
            "line_end": p.line_end, "line_count": len(p.lines), "status": "kept", "reason": None, "duplicate_of": None,
            "similarity": None, "text": p.text, "removed_text": None,
        }
        if p.index in removed:
            row.update(status="boilerplate", reason=removed[p.index])
        else:
            text, cut, rule = boilerplate.trim_inline_notes(p.text)
            if cut:
                row.update(status="trimmed", reason=rule, removed_text=cut)
            kept[p.index] = text
        segments[p.index] = row

    for copy in highlights.find_repeated_highlights(kept):
        segments[copy.index].update(
            status="duplicate", reason="repeated_highlight",
            duplicate_of=copy.original, similarity=copy.similarity,
        )
        del kept[copy.index]

    # the cleaned text, and where each kept paragraph sits in it
    offsets: dict[int, int] = {}
    parts: list[str] = []
    position = 0
    for index, text in kept.items():
        offsets[index] = position
        parts.append(text)
        position += len(text) + len(PARAGRAPH_SEPARATOR)
    text = PARAGRAPH_SEPARATOR.join(parts)

    labels = {i: label for i, label in doc.labels.items() if i in kept}
    is_transcript = turns.looks_like_transcript(list(labels.values()))
    top_reasons = [
        (paragraphs[i].text, r) for i, r in sorted(removed.items()) if r in {"site_date_line", "byline"}
    ]
    published = next((d for t, _ in top_reasons if (d := metadata.parse_date(t))), None)
    document = {
        "doc_id": doc_id,
        "source_path": doc.raw.source_path,
        "source_sha256": doc.raw.source_sha256,
        "doc_type": metadata.doc_type(is_transcript, text),
        "title": metadata.find_title([(paragraphs[i].line_start, t) for i, t in kept.items()]),
        "site": doc.site,
        "published": published,
        "text": text,
        "raw_nonblank_lines": doc.nonblank_lines,
    }
    result = CleanDocument(document, [segments[p.index] for p in paragraphs])
    if is_transcript:
        result.turns = _turn_rows(doc_id, text, kept, offsets, labels, paragraphs)
    return result


def _turn_rows(doc_id, text, kept, offsets, labels, paragraphs) -> list[dict]:
    resolver = turns.SpeakerResolver(text, list(labels.values()))
    kept_order = list(kept)
    starts = [i for i in kept_order if i in labels]
    speakers = [resolver.resolve(labels[i]) for i in starts]
    shapes = turns.assign_turns([s.role for s in speakers])
    rows = []
    for n, (start, speaker, shape) in enumerate(zip(starts, speakers, shapes)):
        label = labels[start]
        following = starts[n + 1] if n + 1 < len(starts) else None
        members = kept_order[kept_order.index(start): kept_order.index(following) if following is not None else None]
        last = members[-1]
        char_start = offsets[start] + label.text_offset
        char_end = offsets[last] + len(kept[last])
        marker = label.translation_marker
        rows.append({
            "id": f"{doc_id}:{n}",
            "doc_id": doc_id,
            "turn_index": n,
            "speaker": speaker.name,
            "speaker_label": label.printed,
            "speaker_role": speaker.role,
            "speaker_title": speaker.title,
            "speaker_resolution": speaker.resolution,
            "turn_type": shape.turn_type,
            "question_id": f"{doc_id}:{shape.question_index}" if shape.question_index is not None else None,
            "reply_to": f"{doc_id}:{shape.reply_to_index}" if shape.reply_to_index is not None else None,
            "translated": marker is not None,
            "translation_marker": marker,
            "text": text[char_start:char_end],
            "char_start": char_start,
            "char_end": char_end,
            "line_start": paragraphs[start].line_start,
            "line_end": paragraphs[last].line_end,
        })
    return rows
