"""Fast paths of the highlight finders against the plain computations they
replace (see test_fast_paths.py): one tokeniser pass per paragraph for its
words and its sentences, word pairs as "a b" strings sliced from the
paragraph's, and the pair index's candidate count."""

from __future__ import annotations

import random
import re
import sys
from collections import Counter

import pytest
from test_fast_paths import ODD_TEXTS, corpus_lines, corpus_texts

from pressroom import highlights

LOOKBEHIND_BOUNDARY = re.compile(r"(?<=[.!?…])([\"”’]?)\s+(?=[\"“‘(\[]?[A-Z0-9])")
EDGE_TEXTS = [
    "He said ‘stop.’ Then he left.", "It ended.’ Next one.", "It ended.’  \t Next one. ’ Again.",
    "Who? “Me.” (Yes) [1] 2. ‘Quoted’ Ok… Fine! “A", "a.’ B.’ C.’ D", ".’ A", "’ ’ A. B", "x.\x1cY. z",
    "ΟΔΟΣ. ΑΣ.Β ΣΑΣ. Σ", "İstanbul. İ. I", "Straße. STRASSE. ß", "don’t. Won’t.’ Can't.", "a\u00a0b. C\u2009d.  E",
    "ﬁne. Ｆull width. Ａ", "e\u0301. E\u0301 o", "1. 2. 3... 4?! 5", "", ".", "’", "A. ", " . A",
]
ALPHABET = list("aZ9_-'’‘“”\"… .!?([\t\n\x1c,;:") + ["İ", "Σ", "ß", "\u0301", "\u00a0", "ﬁ", "Ａ", "Ⅻ", "日"]


def reference_tokens(text: str) -> list[str]:
    return [w.lower() for w in highlights._WORD.findall(text.replace("’", "'"))]


def reference_spans(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Cut at each boundary, then tokenise each sentence on its own."""
    out, start = [], 0
    for match in LOOKBEHIND_BOUNDARY.finditer(text):
        end = match.start() + len(match.group(1))
        out.append((start, end, tuple(reference_tokens(text[start:match.start()]))))
        start = match.end()
    out.append((start, len(text), tuple(reference_tokens(text[start:]))))
    return [s for s in out if s[2]]


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def paragraphs() -> list[str]:
    texts = {p for t in corpus_texts() for p in re.split(r"\n\s*\n", t)}
    return sorted(texts | set(corpus_lines()) | set(ODD_TEXTS) | set(EDGE_TEXTS) | set(random_texts(20_000, 5)))


def test_one_pass_gives_the_paragraph_tokens_and_each_sentence_tokenised_alone():
    for text in paragraphs():
        words, spans = highlights._split.__wrapped__(text)
        assert words == tuple(reference_tokens(text)), text
        assert [(s.start, s.end, s.words) for s in spans] == reference_spans(text), text
        assert all(words[s.first:s.first + len(s.words)] == s.words for s in spans), text


def test_matching_the_mark_finds_the_boundaries_looking_behind_finds():
    for text in paragraphs():
        assert ([(m.start() + 1, m.end(), m.group(1)) for m in highlights._BOUNDARY.finditer(text)]
                == [(m.start(), m.end(), m.group(1)) for m in LOOKBEHIND_BOUNDARY.finditer(text)]), text


def test_ascii_tokens_are_the_runs_the_table_leaves():
    rng = random.Random(11)
    ascii_chars = [chr(c) for c in range(128)]
    for _ in range(5000):
        text = "".join(rng.choice(ascii_chars) for _ in range(rng.randint(0, 60)))
        assert text.translate(highlights._ASCII_NON_WORD).split() == highlights._WORD.findall(text), repr(text)


def test_no_token_holds_a_space_so_a_pair_string_is_one_pair():
    """What makes "a b" stand for the pair (a, b) unambiguously."""
    for c in map(chr, range(sys.maxunicode + 1)):
        if highlights._WORD.match(c):
            assert not any(x.isspace() for x in c.lower()), hex(ord(c))


def test_sentence_pairs_are_the_pairs_of_its_words():
    for text in paragraphs()[::7]:
        profile = highlights._Profile(highlights._split.__wrapped__(text)[0])
        assert profile.bigrams == {" ".join(p) for p in zip(profile._tokens, profile._tokens[1:])}
        for s in highlights._split.__wrapped__(text)[1]:
            assert s.pairs(profile) == [" ".join(p) for p in zip(s.words, s.words[1:])], text


def reference_candidates(index, sentence, containment):
    pairs = [" ".join(p) for p in zip(sentence, sentence[1:])]
    needed = containment * len(pairs) - 1e-9
    distinct = set(pairs)
    common = distinct & index.shared
    if len(common) < needed and (len(distinct) == len(pairs) or sum(pair in common for pair in pairs) < needed):
        return []
    hits: Counter[int] = Counter()
    for pair in pairs:
        if pair in common:
            hits.update(index.postings[pair])
    return sorted(j for j, n in hits.items() if n >= needed)


def reference_contains(words, sentence, min_words, min_pairs):
    counts, have = Counter(sentence), Counter(words)
    word_share = sum(min(n, have[w]) for w, n in counts.items()) / len(sentence)
    bigrams = set(zip(words, words[1:]))
    sentence_pairs = list(zip(sentence, sentence[1:]))
    pair_share = sum(p in bigrams for p in sentence_pairs) / len(sentence_pairs)
    return 0.0 if word_share < min_words or pair_share < min_pairs else word_share


@pytest.mark.parametrize("containment", [highlights.BIGRAM_CONTAINMENT, highlights.INLINE_BIGRAM_CONTAINMENT])
def test_candidates_and_containment_equal_the_plain_counts(containment):
    rng = random.Random(3)
    vocabulary = "a b c d e".split()  # small: pairs repeat within a sentence
    for _ in range(400):
        texts = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 14))] for _ in range(rng.randint(1, 7))]
        profiles = {i: highlights._Profile(words) for i, words in enumerate(texts)}
        index = highlights._PairIndex(profiles)
        for i, words in enumerate(texts):
            for start in range(len(words) - 1):
                end = rng.randint(start + 2, len(words))
                sentence = tuple(words[start:end])
                pairs = profiles[i].pairs[start:end - 1]
                assert index.candidates(pairs, containment) == reference_candidates(index, sentence, containment)
                for j, profile in profiles.items():
                    if profile.n:
                        args = (highlights.INLINE_WORD_CONTAINMENT, containment)
                        assert profile.contains(sentence, pairs, *args) == reference_contains(texts[j], sentence, *args)
            assert index.held[i] == len(profiles[i].bigrams & index.shared)
