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
from collections.abc import Mapping
from dataclasses import dataclass

MIN_WORDS = 8
"""Shorter paragraphs ("Thank you.") repeat legitimately."""
MIN_SENTENCE_WORDS = 4
WORD_CONTAINMENT = 0.8
"""Share of a sentence's words (with multiplicity) found in the original."""
BIGRAM_CONTAINMENT = 0.6
"""Share of its word pairs found in the original: the order must match too."""

_WORD = re.compile(r"[\w'’-]+")
_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’]?\s+(?=[\"“‘(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Duplicate:
    index: int  # the copy
    original: int  # the in-context paragraph it repeats (the main source)
    similarity: float  # share of the copy's words found in its originals


def tokens(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def sentences(text: str) -> list[list[str]]:
    return [t for s in _SENTENCE.split(text) if len(t := tokens(s)) >= MIN_SENTENCE_WORDS]


class _Profile:
    """Word and word-pair counts of one candidate original."""

    def __init__(self, words: list[str]):
        self.n = len(words)
        self.words = Counter(words)
        self.bigrams = set(zip(words, words[1:]))

    def contains(self, sentence: list[str]) -> float:
        """Containment of `sentence` in this paragraph, 0..1."""
        counts = Counter(sentence)
        word_share = sum(min(n, self.words[w]) for w, n in counts.items()) / len(sentence)
        pairs = list(zip(sentence, sentence[1:]))
        pair_share = sum(p in self.bigrams for p in pairs) / len(pairs)
        if word_share < WORD_CONTAINMENT or pair_share < BIGRAM_CONTAINMENT:
            return 0.0
        return word_share


def find_repeated_highlights(paragraphs: Mapping[int, str]) -> list[Duplicate]:
    """Find out-of-context copies among `paragraphs` (index -> text).

    Pass only the paragraphs still in the document (boilerplate removed).
    Two passes: first copies that merge passages from two or more
    paragraphs (such a copy may be longer than each of its sources), then
    copies of a single longer paragraph.
    """
    words = {i: tokens(t) for i, t in paragraphs.items()}
    profiles = {i: _Profile(w) for i, w in words.items() if len(w) >= MIN_WORDS}
    parts = {i: sentences(paragraphs[i]) for i in profiles}
    postings: dict[tuple[str, str], list[int]] = defaultdict(list)  # word pair -> paragraphs holding it
    for j, profile in profiles.items():
        for pair in profile.bigrams:
            postings[pair].append(j)
    copies: dict[int, Duplicate] = {}

    def source_ok_merge(i: int, j: int, sentence: list[str]) -> bool:
        return profiles[j].n > len(sentence)

    def source_ok_single(i: int, j: int, sentence: list[str]) -> bool:
        return profiles[j].n > len(words[i]) or (profiles[j].n == len(words[i]) and j < i)

    for source_ok, min_sources in ((source_ok_merge, 2), (source_ok_single, 1)):
        # shortest first; on equal length the later paragraph is the copy
        for i in sorted(profiles, key=lambda i: (len(words[i]), -i)):
            if i in copies or not parts[i]:
                continue
            found = _cover(i, parts[i], profiles, postings, copies, source_ok)
            if found and len(found[0]) >= min_sources:
                support, similarity = found
                original = max(support, key=lambda j: (support[j], -j))
                copies[i] = Duplicate(i, original, similarity)
    return sorted(copies.values(), key=lambda d: d.index)


def _candidates(sentence: list[str], postings) -> list[int]:
    """Paragraphs holding enough of the sentence's word pairs to pass the
    pair test (the index spares comparing every paragraph with every one)."""
    pairs = list(zip(sentence, sentence[1:]))
    hits: Counter[int] = Counter()
    for pair in pairs:
        hits.update(postings.get(pair, ()))
    needed = BIGRAM_CONTAINMENT * len(pairs) - 1e-9
    return sorted(j for j, n in hits.items() if n >= needed)


def _cover(i, parts, profiles, postings, copies, source_ok) -> tuple[Counter[int], float] | None:
    """Which paragraphs cover each sentence of paragraph i (words per source),
    and the overall similarity; None when some sentence is not covered."""
    support: Counter[int] = Counter()
    matched = 0.0
    for sentence in parts:
        best, score = None, 0.0
        for j in _candidates(sentence, postings):
            profile = profiles[j]
            if j == i or j in copies or not source_ok(i, j, sentence):
                continue
            s = profile.contains(sentence)
            if s > score:
                best, score = j, s
        if best is None:
            return None
        support[best] += len(sentence)
        matched += score * len(sentence)
    total = sum(len(s) for s in parts)
    return support, round(matched / total, 4)
