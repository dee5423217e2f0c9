"""One document through the cleaning stages, in two passes.

`prepare` (per document): normalise lines, build paragraphs, find speaker
labels, guess the site from the page chrome.  Between the passes the corpus
learns its site boilerplate (`learn_site_boilerplate`, cross-document).
`clean` (per document): boilerplate, inline notes, repeated highlights,
metadata, turns; it returns the rows of the three tables.

Each stage is a module of its own; this one only wires them together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pressroom import boilerplate, highlights, metadata, turns
from pressroom.frontmatter import FrontMatter, read_front_matter
from pressroom.ingest import RawDocument
from pressroom.normalize import classify_lines, split_lines
from pressroom.paragraphs import Paragraph, build_paragraphs

PARAGRAPH_SEPARATOR = "\n\n"
# Chrome that names somebody else's site: not evidence of the publisher.
_FOREIGN_SITE_RULES = frozenset({"source_line", "copyright", "byline", "author_list", "photo_credit", "credits"})
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")
_URL = re.compile(r"https?://[^\s<>\")\]]+")


@dataclass
class PreparedDocument:
    raw: RawDocument
    paragraphs: list[Paragraph]
    labels: dict[int, turns.Label]  # paragraph index -> speaker label
    form_reasons: dict[int, str]  # paragraph index -> form rule
    site: str | None  # as the page names it (domain or name)
    nonblank_lines: int  # raw lines with text after normalisation
    front_matter: FrontMatter | None = None
    title_index: int | None = None

    @property
    def site_key(self) -> str | None:
        return metadata.site_key(self.site)


@dataclass
class CleanDocument:
    document: dict
    segments: list[dict] = field(default_factory=list)
    turns: list[dict] = field(default_factory=list)


def _starts_paragraph(text: str) -> bool:
    """Speaker labels, and lines a boilerplate rule claims on their own, open
    a paragraph: a sentence is never joined across them."""
    return bool(text) and (turns.parse_label(text) is not None or boilerplate.form_rule(text) is not None)


def prepare(raw: RawDocument) -> PreparedDocument:
    lines = classify_lines(raw.text)
    text_front = read_front_matter(split_lines(raw.text))
    # a scraped record carries its own title, url and date (pressroom.sources.RecordDocument)
    front = text_front or getattr(raw, "front_matter", None)
    soft_wrapped = text_front is not None or raw.source_path.lower().endswith(MARKDOWN_SUFFIXES)
    paragraphs = build_paragraphs(lines, starts_paragraph=_starts_paragraph, soft_wrapped=soft_wrapped)
    title_index = metadata.find_title_paragraph(paragraphs, front.title if front else None)
    labels = {p.index: label for p in paragraphs
              if p.kind in ("text", "quote") and p.index != title_index and (label := turns.parse_label(p.text))}
    form_reasons = {p.index: r for p in paragraphs if (r := boilerplate.form_rule(p.text))}
    nonblank = sum(1 for line in lines if line.kind != "blank")
    return PreparedDocument(raw, paragraphs, labels, form_reasons, _site(front, paragraphs, form_reasons, title_index),
                            nonblank, front, title_index)


def _site(front, paragraphs, form_reasons, title_index) -> str | None:
    """The publishing site: front matter, else a domain the page chrome names
    (contact addresses, share links), else the copyright holder or masthead."""
    if front and front.site:
        return front.site
    chrome = [paragraphs[i].text for i, r in sorted(form_reasons.items()) if r not in _FOREIGN_SITE_RULES]
    domain = metadata.find_site(chrome)
    if domain:
        return domain
    masthead = next((p.text for p in paragraphs[:title_index or 0]
                     if p.index not in form_reasons and p.kind == "text" and len(p.text.split()) <= 4), None)
    copyright_lines = [paragraphs[i].text for i, r in sorted(form_reasons.items()) if r == "copyright"]
    return metadata.find_site_name(copyright_lines, masthead)


def learn_site_boilerplate(documents: Iterable[PreparedDocument], min_support: int = 3) -> boilerplate.SiteBoilerplate:
    """Lines repeated across documents of the same site (cross-document pass)."""
    return boilerplate.SiteBoilerplate.learn(
        ((d.site_key, (p.text for p in d.paragraphs if p.index != d.title_index)) for d in documents),
        min_support=min_support,
    )


def clean(doc: PreparedDocument, site_model: boilerplate.SiteBoilerplate | None = None) -> CleanDocument:
    doc_id = doc.raw.doc_id
    paragraphs = doc.paragraphs
    front = doc.front_matter
    byline_authors = [a for i, r in sorted(doc.form_reasons.items()) if r == "byline"
                      for a in metadata.authors_from_byline(paragraphs[i].text)]
    authors = list(front.authors) if front and front.authors else list(dict.fromkeys(byline_authors))
    # speaker labels are protected from layout guesses only in what reads as a transcript
    protected = frozenset(doc.labels) if turns.looks_like_transcript(list(doc.labels.values())) else frozenset()
    removed = boilerplate.classify(paragraphs, doc.site_key, site_model, protected=protected,
                                   title_index=doc.title_index, authors=authors, form_reasons=doc.form_reasons)

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

    candidates = {i: t for i, t in kept.items()
                  if i != doc.title_index and paragraphs[i].kind != "heading" and i not in protected}
    for copy in highlights.find_repeated_highlights(candidates):
        segments[copy.index].update(
            status="duplicate", reason="repeated_highlight",
            duplicate_of=copy.original, similarity=copy.similarity,
            removed_text=None,  # the whole paragraph goes, whatever was trimmed from it before
        )
        del kept[copy.index]

    # copies set inside a paragraph of other text: only the copy is cut
    originals = {i: t for i, t in kept.items() if i != doc.title_index and paragraphs[i].kind != "heading"}
    label_ends = {i: label.text_offset for i, label in doc.labels.items()}
    for copy in highlights.find_inline_copies(originals, fixed=label_ends, context=_turn_context(kept, doc.labels)):
        row, text = segments[copy.index], kept[copy.index]
        cut = text[copy.start:copy.end]
        kept[copy.index] = f"{text[:copy.start].rstrip()} {text[copy.end:].lstrip()}".strip()
        row.update(
            status="trimmed",
            reason="repeated_highlight" if row["reason"] is None else f"{row['reason']}+repeated_highlight",
            removed_text=cut if row["removed_text"] is None else f"{row['removed_text']} … {cut}",
            duplicate_of=copy.original, similarity=copy.similarity,
        )

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
    dated = [paragraphs[i].text for i, r in sorted(removed.items())
             if r in {"site_date_line", "byline", "source_line", "byline_meta"}]
    published = (front.published if front else None) or next((d for t in dated if (d := metadata.parse_date(t))), None)
    if front and front.title:
        title = front.title
    else:
        title = paragraphs[doc.title_index].text if doc.title_index is not None else None
    chrome_urls = [u for i in sorted(removed) for u in _URL.findall(paragraphs[i].text)
                   if removed[i] in {"site_widget", "source_line", "navigation", "field_line"}]
    document = {
        "doc_id": doc_id,
        "source_path": doc.raw.source_path,
        "source_sha256": doc.raw.source_sha256,
        "doc_type": metadata.doc_type(is_transcript, text),
        "title": title,
        "site": doc.site,
        "published": published,
        "url": (front.url if front and front.url else None) or (chrome_urls[0].rstrip(".,") if chrome_urls else None),
        "authors": authors,
        "text": text,
        "raw_nonblank_lines": doc.nonblank_lines,
        "repairs": list(doc.raw.repairs),
    }
    result = CleanDocument(document, [segments[p.index] for p in paragraphs])
    if is_transcript:
        interviewer = next((m.group(1) for p in paragraphs[:12] if (m := turns.INTERVIEWER.search(p.text))), None)
        result.turns = _turn_rows(doc_id, text, kept, offsets, labels, paragraphs, interviewer)
    return result


def _turn_groups(kept: dict[int, str], labels) -> list[list[int]]:
    """The kept paragraphs of each speaker turn: from a labelled paragraph
    to the next one (what comes before the first label is in no turn)."""
    groups: list[list[int]] = []
    for index in kept:
        if index in labels:
            groups.append([])
        if groups:
            groups[-1].append(index)
    return groups


def _turn_context(kept: dict[int, str], labels) -> dict[int, str]:
    """For each paragraph of a speaker turn, the other paragraphs of it."""
    return {i: "\n".join(kept[j] for j in group if j != i) for group in _turn_groups(kept, labels) for i in group}


def _named_from_turns(speakers, cores, texts, interviewer):
    """Names the turns themselves give: a moderator introducing himself
    ("I'm Tom Baxter"), and the interviewer the byline names for the
    generic questioner labels of a one-interviewer interview."""
    named = {}
    for speaker, core, text in zip(speakers, cores, texts):
        if speaker.role == "moderator" and speaker.resolution == "title" and core not in named:
            if who := turns.self_introduction(text):
                named[core] = who
    # an anonymous official's label, and the text introduces today's speaker
    anonymous = {core for s, core in zip(speakers, cores) if s.resolution == "unresolved" and s.role in ("official", "unknown")}
    if len(anonymous) == 1 and (introduced := next((who for text in texts if (who := turns.introduced_speaker(text))), None)):
        named[anonymous.pop()] = introduced
    questioners = {core for speaker, core in zip(speakers, cores) if speaker.resolution == "unnamed" and speaker.role == "journalist"}
    answerers = {s.name for s in speakers if s.role not in ("journalist", "audience", "moderator")}
    if interviewer and questioners and len(answerers) == 1:
        named.update({core: interviewer for core in questioners})
    return [
        turns.Speaker(named[core], s.role, s.title, "alias") if core in named else s
        for s, core in zip(speakers, cores)
    ]


def _turn_rows(doc_id, text, kept, offsets, labels, paragraphs, interviewer=None) -> list[dict]:
    members = _turn_groups(kept, labels)
    starts = [group[0] for group in members]
    spans = []
    for start, group in zip(starts, members):
        label = labels[start]
        if label.text_offset < len(kept[start]):
            char_start = offsets[start] + label.text_offset
        elif len(group) > 1:  # the label stands alone on its line: the text follows
            char_start = offsets[group[1]]
        else:
            char_start = offsets[start] + len(kept[start])
        spans.append((char_start, offsets[group[-1]] + len(kept[group[-1]])))
    texts = [text[a:b] for a, b in spans]

    # people whose labels give title and name are not behind a title-only label of that title
    turn_labels = [labels[i] for i in starts]
    splits = {core: turns.split_title(core) for core in {label.core for label in turn_labels}}
    both = [(label, title) for label in turn_labels for title, name in [splits[label.core]] if title and name]
    first = turns.SpeakerResolver(text, turn_labels)
    titled = {}
    for (_, title), speaker in zip(both, first.resolve_all([label for label, _ in both])):
        titled[turns.fold(speaker.name)] = title
    # label by label (not resolve_all, whose repeated labels share one Speaker):
    # the rows keep these speakers' strings, and the cache pickles shared ones differently
    resolver = turns.SpeakerResolver(text, turn_labels)
    speakers = [resolver.resolve(label, titled) for label in turn_labels]
    speakers = _named_from_turns(speakers, [labels[i].core for i in starts], texts, interviewer)
    moderators = turns.moderators_named(text)
    roles = ["moderator" if turns.fold(s.name) in moderators else s.role for s in speakers]
    roles = turns.questioner_roles([s.name for s in speakers], roles, texts)
    clips = [any(turns.CLIP_NOTE.search(n) for n in labels[i].notes) for i in starts]
    shapes = turns.assign_turns(roles, texts, [s.name for s in speakers], clips)
    first_question = next((n for n, shape in enumerate(shapes) if shape.turn_type == "question"), len(shapes))
    rows = []
    for n, (start, group, speaker, role, shape, (char_start, char_end)) in enumerate(
            zip(starts, members, speakers, roles, shapes, spans)):
        label = labels[start]
        marker = label.translation_marker or turns.text_translation_marker(texts[n])
        rows.append({
            "id": f"{doc_id}:{n}",
            "doc_id": doc_id,
            "turn_index": n,
            "speaker": speaker.name,
            "speaker_label": label.printed,
            "speaker_role": role,
            "speaker_title": speaker.title,
            "speaker_resolution": speaker.resolution,
            "turn_type": shape.turn_type,
            "section": "statements" if n < first_question else "questions",
            "question_id": f"{doc_id}:{shape.question_index}" if shape.question_index is not None else None,
            "reply_to": f"{doc_id}:{shape.reply_to_index}" if shape.reply_to_index is not None else None,
            "translated": marker is not None,
            "translation_marker": marker,
            "stage_notes": turns.stage_notes(texts[n]),
            "text": texts[n],
            "char_start": char_start,
            "char_end": char_end,
            "line_start": paragraphs[start].line_start,
            "line_end": paragraphs[group[-1]].line_end,
        })
    return rows
