"""Repeated highlights: passages a site copied a second time into a document.

Reposting sites set a shortened copy of a striking passage into the flow of
the text (a "highlight").  The copy is a subset of the original's words,
sometimes of two passages merged.  The in-context copy is the longer one; the
out-of-context copy is marked `duplicate` and points to it.

The test works sentence by sentence, so shortened and merged copies are found
alike: a paragraph is a copy when every sentence of it is contained, word for
word and mostly in order, in some longer paragraph of the same document.
Paragraphs are judged from the shortest up, and a paragraph already judged a
copy cannot serve as an original.
"""

from __future__ import annotations

import re
from collections import Counter
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
    """
    words = {i: tokens(t) for i, t in paragraphs.items()}
    profiles = {i: _Profile(w) for i, w in words.items() if len(w) >= MIN_WORDS}
    copies: list[Duplicate] = []
    copied: set[int] = set()
    # shortest first; on equal length the later paragraph is the copy
    for i in sorted(profiles, key=lambda i: (len(words[i]), -i)):
        parts = sentences(paragraphs[i])
        if not parts:
            continue
        support: Counter[int] = Counter()
        matched_words = 0.0
        for sentence in parts:
            best, score = None, 0.0
            for j, profile in profiles.items():
                if j == i or j in copied or not _longer(profile, j, len(words[i]), i):
                    continue
                s = profile.contains(sentence)
                if s > score:
                    best, score = j, s
            if best is None:
                break
            support[best] += len(sentence)
            matched_words += score * len(sentence)
        else:
            original = max(support, key=lambda j: (support[j], -j))
            total = sum(len(s) for s in parts)
            copies.append(Duplicate(i, original, round(matched_words / total, 4)))
            copied.add(i)
    return sorted(copies, key=lambda d: d.index)


def _longer(profile: _Profile, j: int, n: int, i: int) -> bool:
    """Is paragraph j (with `profile`) the longer copy of a paragraph i of n words?"""
    return profile.n > n or (profile.n == n and j < i)
