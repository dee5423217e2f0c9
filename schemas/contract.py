"""The release contract in one place.

Every table of a release is described here once: column names, Arrow types,
nullability and meaning.  The writer builds its Arrow schemas from it, the
validator its pandera schemas, and the dataset card its column tables.
Columns marked `contract=True` are the ones `release-contract.md` promises;
renaming or dropping one is a breaking change (a new major version).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

CONTRACT_VERSION = "1.2.0"
"""1.1.0 added the speakers and quotes tables and columns (compatible: a minor change)."""

DOC_TYPES = ("transcript", "article", "commentary", "other")
SEGMENT_STATUSES = ("kept", "trimmed", "boilerplate", "duplicate")
TURN_TYPES = ("statement", "question", "answer", "moderation", "other")
SPEAKER_ROLES = (
    "head_of_state", "head_of_government", "official", "moderator", "journalist", "audience",
    "interpreter", "unknown",
)
SPEAKER_RESOLUTIONS = ("exact", "alias", "title", "unnamed", "unresolved")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool
    description: str
    contract: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    sort_by: tuple[str, ...]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns],
            metadata={"pressroom.table": self.name, "pressroom.contract": CONTRACT_VERSION},
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


DOCUMENTS = Table(
    "documents",
    "One row per input document: its source, metadata and cleaned text.",
    (
        Column("doc_id", pa.string(), False, "stable id of the source: its path relative to the raw root, without .txt"),
        Column("source_path", pa.string(), False, "path of the raw file relative to the raw root"),
        Column("source_sha256", pa.string(), False, "sha256 of the raw bytes"),
        Column("doc_type", pa.string(), False, "transcript, article, commentary or other"),
        Column("title", pa.string(), True, "headline, when one is found"),
        Column("site", pa.string(), True, "publishing site, when its page chrome names it"),
        Column("published", pa.date32(), True, "publication date, from the site's date line"),
        Column("text", pa.string(), False, "cleaned text, paragraphs separated by a blank line"),
        Column("url", pa.string(), True, "the page's address, from front matter or its share/source lines", False),
        Column("authors", pa.list_(pa.string()), False, "author names from front matter or the byline", False),
        Column("raw_nonblank_lines", pa.int32(), False, "non-blank lines of the raw file (each is in exactly one segment)", False),
        Column("repairs", pa.list_(pa.string()), False, "what ingest did to read the file (decoded as cp1252, text extracted from HTML, ...)", False),
        Column("cluster_id", pa.string(), False, "near-duplicate cluster: doc_id of its canonical member (its own id when unique)", False),
        Column("canonical_doc_id", pa.string(), False, "the cluster's canonical member: the copy most similar to all others, then most words, then smallest doc_id", False),
        Column("cluster_size", pa.int32(), False, "documents in the cluster (1: unique)", False),
        Column("similarity_to_canonical", pa.float64(), False, "estimated Jaccard similarity of 5-word shingles to the canonical member", False),
        Column("duplicate_kind", pa.string(), False, "unique, canonical, exact or near", False),
    ),
    ("doc_id",),
)

SEGMENTS = Table(
    "segments",
    "One row per raw paragraph (lines joined where a sentence was broken): the audit trail of every decision.",
    (
        Column("doc_id", pa.string(), False, "document"),
        Column("segment_index", pa.int32(), False, "order in the raw document, from 0"),
        Column("line_start", pa.int32(), False, "first raw line (1-based)"),
        Column("line_end", pa.int32(), False, "last raw line (1-based)"),
        Column("status", pa.string(), False, "kept, trimmed (kept with inline boilerplate or a highlight copy cut), boilerplate or duplicate"),
        Column("reason", pa.string(), True, "the rule that decided, for everything not plainly kept"),
        Column("duplicate_of", pa.int32(), True, "segment_index of the passage a duplicate (or the highlight copy cut from a trimmed segment) repeats"),
        Column("text", pa.string(), False, "the normalised paragraph text"),
        Column("line_count", pa.int32(), False, "non-blank raw lines in the segment", False),
        Column("similarity", pa.float64(), True, "with duplicate_of: share of the copy's words found in the original", False),
        Column("removed_text", pa.string(), True, "for a trimmed segment: the text cut from it", False),
    ),
    ("doc_id", "segment_index"),
)

TURNS = Table(
    "turns",
    "One row per speaker turn of a transcript.",
    (
        Column("id", pa.string(), False, "<doc_id>:<turn_index>"),
        Column("doc_id", pa.string(), False, "the transcript"),
        Column("turn_index", pa.int32(), False, "order, from 0"),
        Column("speaker", pa.string(), False, "canonical speaker name; 'Journalist N' for unnamed questioners"),
        Column("speaker_id", pa.string(), False, "id in the speakers table", False),
        Column("speaker_label", pa.string(), False, "the label exactly as printed"),
        Column("speaker_role", pa.string(), False, "head_of_state, head_of_government, official, moderator, journalist, interpreter, answerer or unknown"),
        Column("turn_type", pa.string(), False, "statement, question, answer, moderation or other"),
        Column("question_id", pa.string(), True, "for an answer: id of the question it answers"),
        Column("reply_to", pa.string(), True, "ConvoKit reply edge: one root per document"),
        Column("translated", pa.bool_(), False, "the label marks the turn as a translation"),
        Column("text", pa.string(), False, "the turn's text without its label"),
        Column("char_start", pa.int64(), False, "start of text in documents.text"),
        Column("char_end", pa.int64(), False, "end of text in documents.text"),
        Column("speaker_title", pa.string(), True, "title the document gives the speaker, e.g. 'President of France'", False),
        Column("speaker_resolution", pa.string(), False, "how the speaker was resolved: exact, alias, title, unnamed, unresolved", False),
        Column("translation_marker", pa.string(), True, "the translation marker as printed", False),
        Column("section", pa.string(), False, "statements (before the first question) or questions (the Q&A)", False),
        Column("stage_notes", pa.list_(pa.string()), False, "stage notes in the turn, as printed: (Laughter.), (Inaudible.)", False),
        Column("line_start", pa.int32(), False, "raw line of the label", False),
        Column("line_end", pa.int32(), False, "last raw line of the turn", False),
    ),
    ("doc_id", "turn_index"),
)

REJECTS = Table(
    "rejects",
    "One row per input file that could not be used, with the reason.",
    (
        Column("doc_id", pa.string(), False, "the id the file would have had"),
        Column("source_path", pa.string(), False, "path relative to the raw root"),
        Column("source_sha256", pa.string(), True, "sha256 of the bytes, when they could be read"),
        Column("reason", pa.string(), False, "why the file was not used"),
    ),
    ("source_path",),
    )

SPEAKERS = Table(
    "speakers",
    "One row per speaker across the release's transcripts.",
    (
        Column("speaker_id", pa.string(), False, "folded name ('vladimir-putin'); '<doc_id>:<label>' for unnamed questioners"),
        Column("name", pa.string(), False, "display name (accents restored from the text)"),
        Column("role", pa.string(), False, "most frequent speaker_role of the speaker's turns"),
        Column("title", pa.string(), True, "title the documents give, e.g. 'President of France'"),
        Column("aliases", pa.list_(pa.string()), False, "every label printed for the speaker"),
        Column("documents", pa.list_(pa.string()), False, "transcripts the speaker speaks in"),
        Column("turns", pa.int32(), False, "number of turns"),
    ),
    ("speaker_id",),
)

QUOTES = Table(
    "quotes",
    "One row per quotation in an article or commentary, linked to the transcript turn it comes from when one matches.",
    (
        Column("id", pa.string(), False, "<doc_id>:q<quote_index>"),
        Column("doc_id", pa.string(), False, "the quoting document"),
        Column("quote_index", pa.int32(), False, "order in the document, from 0"),
        Column("kind", pa.string(), False, "inline or block"),
        Column("rule", pa.string(), False, "how it was found: quote_marks, after_colon, ellipsis_start, speaker_label"),
        Column("char_start", pa.int32(), False, "start of text in documents.text"),
        Column("char_end", pa.int32(), False, "end of text in documents.text"),
        Column("text", pa.string(), False, "the quotation without quote marks, label or leading ellipsis"),
        Column("word_count", pa.int32(), False, "words in text"),
        Column("matched_turn_id", pa.string(), True, "turns.id the quotation comes from"),
        Column("matched_doc_id", pa.string(), True, "that turn's document (never the quoting one)"),
        Column("matched_speaker", pa.string(), True, "that turn's speaker"),
        Column("match_score", pa.float64(), True, "0..1"),
        Column("match_method", pa.string(), True, "shingle, fuzzy or paraphrase"),
        Column("matched_start", pa.int32(), True, "start of the matched sentences in the turn's text"),
        Column("matched_end", pa.int32(), True, "end of the matched sentences in the turn's text"),
    ),
    ("doc_id", "quote_index"),
)

TABLES: tuple[Table, ...] = (DOCUMENTS, SEGMENTS, TURNS, SPEAKERS, QUOTES, REJECTS)
TABLES_BY_NAME = {t.name: t for t in TABLES}
