"""Repeated highlights: passages a site copied a second time into a document.

Reposting sites set a shortened copy of a striking passage into the flow of
the text (a "highlight").  The copy is a subset of the original's words,
sometimes of two passages merged.  The in-context copy is the longer one; the
out-of-context copy is marked `duplicate` and points to it.

The test works sentence by sentence, so shortened and merged copies are found
alike: a paragraph is a copy when every sentence of it is contained, word for
word and mostly in order, in some longer paragraph of the same document.
A copy that merges passages of two or more paragraphs is found first (it may
be longer than each source); then copies of one longer paragraph.
Paragraphs are judged from the shortest up, and a paragraph already judged a
copy cannot serve as an original.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from typing import NamedTuple

MIN_WORDS = 8
"""Shorter paragraphs ("Thank you.") repeat legitimately."""
MIN_SENTENCE_WORDS = 4
WORD_CONTAINMENT = 0.8
"""Share of a sentence's words (with multiplicity) found in the original."""
BIGRAM_CONTAINMENT = 0.6
"""Share of its word pairs found in the original: the order must match too."""

_WORD = re.compile(r"[\w'’-]+")


@dataclass(frozen=True)
class Duplicate:
    index: int  # the copy
    original: int  # the in-context paragraph it repeats (the main source)
    similarity: float  # share of the copy's words found in its originals


def _words(text: str) -> tuple[str, ...]:
    """A paragraph's tokens: the runs of `_WORD` (’ read as '), each lowered."""
    return _split(text)[0]


@lru_cache(maxsize=2048)
def _profile(text: str) -> _Profile:
    """A paragraph's profile, cached: both finders compare the same
    paragraphs (a profile is never changed once made)."""
    return _Profile(_words(text))


class _Profile:
    """Word and word-pair counts of one candidate original."""

    def __init__(self, words: Sequence[str]):
        self._tokens = words
        self.n = len(words)
        # the word pairs in order (a sentence's are a slice of them), each as
        # "a b": no token holds a space, and a string, unlike a tuple, keeps
        # its hash, compares in one go and is not tracked by the garbage collector
        self.pairs = list(map(" ".join, zip(words, words[1:])))
        self.bigrams = set(self.pairs)

    @cached_property
    def words(self) -> Counter[str]:
        """Counted when first compared (most paragraphs never are)."""
        return Counter(self._tokens)

    def contains(self, sentence: Sequence[str], pairs: Sequence[str],
                 words: float = WORD_CONTAINMENT, min_pairs: float = BIGRAM_CONTAINMENT) -> float:
        """Containment of `sentence` (its word `pairs` given) in this
        paragraph, 0..1: the share of its words found here, or 0 when under
        `words`, or when under `min_pairs` of its word pairs are."""
        counts = Counter(sentence)
        word_share = sum(min(n, self.words[w]) for w, n in counts.items()) / len(sentence)
        pair_share = sum(map(self.bigrams.__contains__, pairs)) / len(pairs)
        if word_share < words or pair_share < min_pairs:
            return 0.0
        return word_share


def find_repeated_highlights(paragraphs: Mapping[int, str]) -> list[Duplicate]:
    """Find out-of-context copies among `paragraphs` (index -> text).

    Pass only the paragraphs still in the document (boilerplate removed).
    Two passes: first copies that merge passages from two or more
    paragraphs (such a copy may be longer than each of its sources), then
    copies of a single longer paragraph.
    """
    words = {i: _words(t) for i, t in paragraphs.items()}
    profiles = {i: _profile(paragraphs[i]) for i, w in words.items() if len(w) >= MIN_WORDS}
    parts = {i: [s for s in sentence_spans(paragraphs[i]) if len(s.words) >= MIN_SENTENCE_WORDS] for i in profiles}
    index = _PairIndex(profiles)
    copies: dict[int, Duplicate] = {}

    def source_ok_merge(i: int, j: int, sentence: Sequence[str]) -> bool:
        return profiles[j].n > len(sentence)

    def source_ok_single(i: int, j: int, sentence: Sequence[str]) -> bool:
        return profiles[j].n > len(words[i]) or (profiles[j].n == len(words[i]) and j < i)

    for source_ok, min_sources in ((source_ok_merge, 2), (source_ok_single, 1)):
        # shortest first; on equal length the later paragraph is the copy
        for i in sorted(profiles, key=lambda i: (len(words[i]), -i)):
            if i in copies or not parts[i]:
                continue
            found = _cover(i, parts[i], profiles, index, copies, source_ok)
            if found and len(found[0]) >= min_sources:
                support, similarity = found
                original = max(support, key=lambda j: (support[j], -j))
                copies[i] = Duplicate(i, original, similarity)
    return sorted(copies.values(), key=lambda d: d.index)


class _PairIndex:
    """Which paragraphs hold each word pair (the index spares comparing every
    paragraph with every one), and the pairs that two paragraphs or more
    hold: only those can make a sentence of one paragraph found in another."""

    def __init__(self, profiles: Mapping[int, _Profile]):
        seen: set[str] = set()
        self.shared: set[str] = set()
        for profile in profiles.values():  # set operations: faster than counting every pair
            self.shared |= profile.bigrams & seen
            seen |= profile.bigrams
        self.postings: dict[str, list[int]] = defaultdict(list)  # of the shared pairs
        self.held: dict[int, int] = {}  # how many shared pairs each paragraph holds
        for j, profile in profiles.items():
            held = profile.bigrams & self.shared
            self.held[j] = len(held)
            for pair in held:
                self.postings[pair].append(j)

    def candidates(self, pairs: Sequence[str], containment: float) -> list[int]:
        """Paragraphs holding at least `containment` of a sentence's word
        `pairs` (the sentence's own paragraph among them)."""
        needed = containment * len(pairs) - 1e-9
        common = list(filter(self.shared.__contains__, pairs))  # with repeats: each counts
        if len(common) < needed:
            return []  # most sentences: few pairs in common with any other paragraph
        hits = Counter(chain.from_iterable(map(self.postings.__getitem__, common)))
        return sorted(j for j, n in hits.items() if n >= needed)


def _cover(i, parts, profiles, index, copies, source_ok) -> tuple[Counter[int], float] | None:
    """Which paragraphs cover each sentence of paragraph i (words per source),
    and the overall similarity; None when some sentence is not covered."""
    support: Counter[int] = Counter()
    matched = 0.0
    for part in parts:
        sentence, pairs = part.words, part.pairs(profiles[i])
        best, score = None, 0.0
        for j in index.candidates(pairs, BIGRAM_CONTAINMENT):
            profile = profiles[j]
            if j == i or j in copies or not source_ok(i, j, sentence):
                continue
            s = profile.contains(sentence, pairs)
            if s > score:
                best, score = j, s
        if best is None:
            return None
        support[best] += len(sentence)
        matched += score * len(sentence)
    total = sum(len(s.words) for s in parts)
    return support, round(matched / total, 4)


# -- copies inside a paragraph ---------------------------------------------------
#
# A site may also set the highlight into a paragraph of other text: the
# paragraph keeps its own sentences, and a run of sentences in it repeats,
# word for word or shortened, a passage that stands in context elsewhere.
# Only that run is cut (the segment is `trimmed`).  Legitimate repetition
# looks the same on the surface, so the test is stricter than for whole
# paragraphs and a run is kept when
#   * the words are announced as a repetition or a report ("I repeat",
#     "as I said", "you said: ..."),
#   * they are quoted (an opening quotation mark the original lacks),
#   * the paragraph or the speaker turn it belongs to asks about them (a
#     question mark outside the run),
#   * they are a refrain: the sentence stands verbatim in two or more other
#     paragraphs, or verbatim at the same end (first or last sentence) of
#     both paragraphs,
#   * the run is short (fewer than INLINE_MIN_WORDS words).
# A verbatim sentence in the middle of two paragraphs is a copy in the later
# one; a shortened or merged one is a copy wherever it stands.

INLINE_MIN_WORDS = 10
INLINE_WORD_CONTAINMENT = 0.9
INLINE_BIGRAM_CONTAINMENT = 0.75
REPETITION_CUE = re.compile(
    r"\b(?:repeat(?:ed|ing)?|again|once more|as (?:I|we|you|he|she|they) (?:have |had |just )?(?:said|put it|noted|mentioned)"
    r"|(?:I|we|you|he|she|they) (?:have |had |just )?(?:said|say|says|stated|noted|told|wrote)"
    r"|in (?:his|her|your|their|my) (?:own )?words|quot(?:e|ed|ing))\b",
    re.IGNORECASE,
)
_OPENING_QUOTE = re.compile(r"[“«„\"]|(?:^|\s)['‘]")
_BOUNDARY = re.compile(r"[.!?…]([\"”’]?)\s+(?=[\"“‘(\[]?[A-Z0-9])")
"""Between two sentences: the first ends after the mark, with the closing
quote if any.  (Matching the mark rather than looking behind for it finds
the same boundaries, the mark being no part of one, and lets the regex
engine skip to the marks.)"""


@dataclass(frozen=True)
class InlineCopy:
    index: int  # the paragraph holding the copy
    start: int  # character span of the copy in that paragraph's text
    end: int
    original: int  # the paragraph holding the in-context passage
    similarity: float


class _Sentence(NamedTuple):  # a tuple: made for every sentence, quicker than a dataclass
    start: int
    end: int
    words: tuple[str, ...]
    first: int  # where its words start in the paragraph's words

    def pairs(self, profile: _Profile) -> list[str]:
        """Its word pairs, from its paragraph's profile."""
        return profile.pairs[self.first:self.first + len(self.words) - 1]


def sentence_spans(text: str) -> tuple[_Sentence, ...]:
    """Sentences of `text` with their character spans and their tokens
    (as `_words` tokenises; sentences with no words left out)."""
    return _split(text)[1]


@lru_cache(maxsize=4096)
def _split(text: str) -> tuple[tuple[str, ...], tuple[_Sentence, ...]]:
    """A paragraph's `_words` and its `sentence_spans`, in one pass (both
    finders ask for both, of every paragraph; cached).

    No token straddles a sentence boundary (one starts after a full stop
    and ends in a space), so the paragraph's tokens are its sentences', in
    order, with a "'" where a boundary holds a closing ’.  ’ -> ' keeps the
    offsets, and so do lowering ASCII (letter for letter) and making the
    characters that are no part of a token spaces: the tokens of a sentence
    are those between its offsets in the text made so once."""
    plain = text.replace("’", "'")
    ascii_ = plain.isascii()
    if ascii_:  # the words are the runs of what the table leaves
        plain = plain.lower().translate(_ASCII_NON_WORD)
    words: list[str] = []
    spans: list[_Sentence] = []
    start = 0
    for match in (*_BOUNDARY.finditer(text), None):
        cut, quote = (match.start() + 1, match.group(1)) if match else (len(text), "")
        found = plain[start:cut].split() if ascii_ else [w.lower() for w in _WORD.findall(plain, start, cut)]
        if found:
            spans.append(_Sentence(start, cut + len(quote), tuple(found), len(words)))
            words += found
        if match:
            if quote == "’":
                words.append("'")
            start = match.end()
    return tuple(words), tuple(spans)


_ASCII_NON_WORD = {c: " " for c in range(128) if not _WORD.match(chr(c))}
"""ASCII characters that are no part of a token, made spaces."""


def find_inline_copies(paragraphs: Mapping[int, str], fixed: Mapping[int, int] | None = None,
                       context: Mapping[int, str] | None = None) -> list[InlineCopy]:
    """Runs of sentences inside a paragraph that repeat a passage of another.

    `paragraphs` are the paragraphs still in the document (index -> text);
    `fixed` gives, per paragraph, a prefix no copy may touch (a speaker
    label); `context`, per paragraph, the text said with it (the rest of its
    speaker turn), so that a question asked there about the words keeps
    them.  At most one run per paragraph is reported: the longest."""
    fixed, context = fixed or {}, context or {}
    profiles = {i: _profile(t) for i, t in paragraphs.items()}
    index = _PairIndex(profiles)

    found: list[InlineCopy] = []
    for i in sorted(paragraphs):
        if index.held[i] < _INLINE_MIN_SHARED:
            continue  # too few word pairs in common with any other paragraph (most paragraphs)
        sentences_i = sentence_spans(paragraphs[i])
        if len(sentences_i) < 2:
            continue  # a whole-paragraph copy is the other finder's business
        matches = [_inline_source(i, n, sentences_i, paragraphs, profiles, index)
                   for n in range(len(sentences_i))]
        best = None
        for first, last in _runs(matches):
            run = sentences_i[first:last + 1]
            words = sum(len(s.words) for s in run)
            rest = [s for n, s in enumerate(sentences_i) if not first <= n <= last]
            if words < INLINE_MIN_WORDS or sum(len(s.words) for s in rest) < MIN_SENTENCE_WORDS:
                continue
            if sentences_i[first].start < fixed.get(i, 0):
                continue
            if _legitimate(paragraphs[i], sentences_i, first, last, rest) or "?" in context.get(i, ""):
                continue
            if best is None or words > best[2]:
                best = (first, last, words)
        if best is None:
            continue
        first, last, words = best
        support: Counter[int] = Counter()
        matched = 0.0
        for n in range(first, last + 1):
            j, score = matches[n]
            support[j] += len(sentences_i[n].words)
            matched += score * len(sentences_i[n].words)
        original = max(support, key=lambda j: (support[j], -j))
        found.append(InlineCopy(i, sentences_i[first].start, sentences_i[last].end, original, round(matched / words, 4)))
    return found


_INLINE_MIN_SHARED = 5
"""A run of >= INLINE_MIN_WORDS words in sentences of >= MIN_SENTENCE_WORDS
has at least 0.75 x (10 - 2) = 6 word pairs that another paragraph holds:
a paragraph with fewer such pairs cannot hold a copy."""


def _inline_source(i, n, sentences_i, paragraphs, profiles, index: _PairIndex) -> tuple[int, float] | None:
    """The paragraph whose passage sentence n of paragraph i copies, with the
    word containment; None when it copies none (or is a refrain)."""
    sentence = sentences_i[n]
    if len(sentence.words) < MIN_SENTENCE_WORDS:
        return None
    pairs = sentence.pairs(profiles[i])
    candidates = [j for j in index.candidates(pairs, INLINE_BIGRAM_CONTAINMENT) if j != i]
    if not candidates:
        return None  # most sentences
    split = {j: sentence_spans(paragraphs[j]) for j in candidates}
    # a paragraph holding the sentence word for word holds all its pairs, so
    # it is a candidate: three paragraphs or more make a refrain
    if sum(any(s.words == sentence.words for s in split[j]) for j in candidates) >= 2:
        return None
    best = None
    for j in candidates:
        profile = profiles[j]
        share = profile.contains(sentence.words, pairs, INLINE_WORD_CONTAINMENT, INLINE_BIGRAM_CONTAINMENT)
        if not share:
            continue
        twin = next((m for m, s in enumerate(split[j]) if s.words == sentence.words), None)
        if twin is not None:
            # the same sentence word for word: the later one is the copy, and
            # the same place in both paragraphs (first or last) is a refrain
            if j > i:
                continue
            at_end = n == len(sentences_i) - 1 and twin == len(split[j]) - 1
            at_start = n == 0 and twin == 0
            if at_end or at_start:
                continue
        elif not any(len(s.words) >= len(sentence.words) for s in split[j]) and profile.n <= len(sentence.words):
            continue  # the other paragraph is no longer than the sentence: not its context
        if best is None or share > best[1]:
            best = (j, share)
    return best


def _runs(matches) -> list[tuple[int, int]]:
    runs, first = [], None
    for n, match in enumerate([*matches, None]):
        if match is not None and first is None:
            first = n
        elif match is None and first is not None:
            runs.append((first, n - 1))
            first = None
    return runs


def _legitimate(text: str, sentences_i, first: int, last: int, rest) -> bool:
    run_text = text[sentences_i[first].start:sentences_i[last].end]
    before = text[sentences_i[first - 1].start:sentences_i[first].start] if first else ""
    lead = " ".join(run_text.split()[:6])
    if REPETITION_CUE.search(before) or REPETITION_CUE.search(lead):
        return True  # announced: "I repeat", "as I said", "you said: ..."
    if _OPENING_QUOTE.search(run_text) or before.rstrip().endswith((":", "“", "\"", "«")):
        return True  # quoted or introduced as a quotation
    return any("?" in text[s.start:s.end] for s in rest)  # the paragraph asks about it
