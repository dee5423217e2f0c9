"""Fast paths of the per-document summary (`shards.summarize_document`:
dedup signature, turn sketches, quotation extraction) against the plain
computations they replace, on the test corpora and on edge cases."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from pressroom import dedup, quotes
from pressroom.cache import hash64
from test_fast_paths import ODD_TEXTS, corpus_lines, corpus_texts

MERSENNE = (1 << 61) - 1
SPACES = ["\u00a0", "\u2028", "\u3000", "\x1c", "\x85", "\t", "\n", "\r\n", "\u200b", "\ufeff"]
EDGE_TEXTS = [  # sentence ends, joiners and spaces of every kind
    "", " ", "  \n ", ".", " . ", "...", "a. b", "a.b. c", "U.S. and U.K. talks.", "Why?! No… Yes.\n",
    "He said “stop.” Then left.", "(Really.) Fine.", "x.\u3000y.\u00a0z", "end.\n", "end.\n\n", "a .b", "…",
    "no end", "  lead and trail  ", "5,000 people. Not 5.000!", "It’s ‘quoted’ — U.S. 5,000 don’t. Next… and İ ſ.",
    *(f"{s}First.{s}Second!{s}" for s in SPACES), *(f"a.{s}b" for s in SPACES),
]


# --- dedup: MinHash -----------------------------------------------------------------


def plain_minhash(shingles: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    hashed = (a[:, None] * shingles[None, :] + b[:, None]) % np.uint64(MERSENNE) & np.uint64(0xFFFFFFFF)
    return hashed.min(axis=1).astype(np.uint32)


def test_minhash_equals_the_plain_modulo():
    a, b = dedup._permutations(dedup.NUM_PERM, dedup.SEED)
    long = " ".join(f"w{i % 9000}" for i in range(20_000))  # more shingles than one chunk
    for text in (*corpus_texts(), *ODD_TEXTS, "one", "a b c d e f g h a b c d e f g h", long):
        tokens = dedup.words(text)
        shingles = dedup.shingle_hashes(tokens)
        expected = plain_minhash(shingles, a, b) if shingles.size else np.full(dedup.NUM_PERM, 0xFFFFFFFF, np.uint32)
        assert np.array_equal(dedup._minhash(tokens, dedup.NUM_PERM, dedup.SEED, dedup.SHINGLE_WORDS), expected)
    extremes = np.array([0, 1, 2, (1 << 31) - 1, 1 << 31, (1 << 32) - 2, (1 << 32) - 1], dtype=np.uint64)
    rng = np.random.default_rng(5)
    for shingles in (extremes, rng.integers(0, 1 << 32, size=30_000, dtype=np.uint64)):
        assert np.array_equal(dedup._shingles_minhash(shingles, dedup.NUM_PERM, dedup.SEED),
                              plain_minhash(shingles, a, b))


def carrying_function(k: int, j: int, rng: random.Random) -> tuple[int, int, int]:
    """(a, b, x) with a, b < 2^31, x < 2^32 and a*x + b = k*2^61 + 2^61 - 1 - j:
    a shingle whose remainder needs the subtraction the short form skips."""
    target = (k << 61) + MERSENNE - j
    while True:
        x = rng.randrange(max(1 << 30, target >> 31) + 1, 1 << 32)
        a, b = divmod(target, x)
        if a < 1 << 31 and b < 1 << 31:
            return a, b, x


@pytest.mark.parametrize("k_j", [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)])
def test_minhash_of_carrying_shingles_equals_the_plain_modulo(monkeypatch, k_j):
    k, j = k_j
    rng = random.Random(k * 10 + j)
    a_, b_, x = carrying_function(k, j, rng)
    a = np.array([a_, 12345, (1 << 31) - 1, a_], dtype=np.uint64)
    b = np.array([b_, 7, (1 << 31) - 1, 0], dtype=np.uint64)
    monkeypatch.setattr(dedup, "_permutations", lambda num_perm, seed: (a, b))
    dedup._carry_shingles.cache_clear()
    try:
        carry = dedup._carry_shingles(4, -1)
        assert x in carry.tolist()
        v = a[0] * np.uint64(x) + b[0]
        assert (v + (v >> np.uint64(61))) & np.uint64(0xFFFFFFFF) != v % np.uint64(MERSENNE) & np.uint64(0xFFFFFFFF)
        for others in (np.zeros(0, np.uint64), np.array([x + 1, x - 1], np.uint64),
                       np.array(rng.sample(range(1 << 32), 50), np.uint64)):
            shingles = np.concatenate([others, [np.uint64(x)], others])
            assert np.array_equal(dedup._shingles_minhash(shingles, 4, -1), plain_minhash(shingles, a, b))
    finally:
        dedup._carry_shingles.cache_clear()


def test_no_carrying_shingles_for_the_defaults():
    """The fast form is then the whole computation (a guard that costs nothing)."""
    assert dedup._carry_shingles(dedup.NUM_PERM, dedup.SEED).size == 0


def test_token_hashes_equal_hash64_whatever_the_cache_holds(monkeypatch):
    monkeypatch.setattr(dedup, "_WORD_HASHES", {})
    texts = [*corpus_texts()[:30], *ODD_TEXTS]
    for text in texts * 2:  # first with new words, then all known
        tokens = dedup.words(text) + quotes.words(text)
        expected = np.array([hash64(w) for w in tokens], dtype=np.uint64)
        assert np.array_equal(dedup.token_hashes(tokens), expected)
    monkeypatch.setattr(dedup, "_WORD_HASHES_MAX", 50)  # a full cache starts again
    for text in texts:
        tokens = dedup.words(text)
        assert np.array_equal(dedup.token_hashes(tokens), np.array([hash64(w) for w in tokens], dtype=np.uint64))


# --- quotes: words ------------------------------------------------------------------------


GREEDY_WORD = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*")


def test_possessive_words_equal_the_greedy_pattern():
    for text in (*corpus_lines(), *corpus_texts(), *EDGE_TEXTS, "a.-b 1,,2 x'' y-", "-a- .b. 'c' ,d,"):
        for prepared in (text, quotes._words_text(text)):
            assert quotes._WORD.findall(prepared) == GREEDY_WORD.findall(prepared), prepared[:80]


def test_fewer_words_equals_counting_them():
    texts = [*corpus_lines(), *EDGE_TEXTS, "½ ﬁne", "İİ", "a b c", "a b c d", "a_b c-d e.f g"]
    for text in texts:
        count = len(quotes.words(text))
        for n in range(1, 7):
            assert quotes._fewer_words(text, n) == (count < n), (text, n)


# --- the summary's parts with the plain helpers -------------------------------------------


def test_turn_sketches_equal_those_of_the_plain_helpers(monkeypatch):
    turns_ = [{"id": f"d:{n}", "doc_id": "d", "speaker": None, "text": text}
              for n, text in enumerate([*corpus_texts()[:40], *ODD_TEXTS, *EDGE_TEXTS])]
    fast = quotes.TurnSketches.of_turns(turns_)
    monkeypatch.setattr(quotes, "_WORD", GREEDY_WORD)
    slow = quotes.TurnSketches.of_turns(turns_)
    for name in ("sentence_count", "start", "end", "words", "stem_count", "gram_count", "seam_count",
                 "stems", "grams", "seams", "turn_hashes"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name


def test_extracted_quotes_equal_those_of_counting_every_word(monkeypatch):
    texts = [*corpus_texts(), *ODD_TEXTS,
             "Headline\n\nShe said:\n\nWe will not stop. Not now.\n\nOk.\n\n“Two words” and “these are four words here.”",
             "Title\n\nJohn Smith: I am here today.\n\nJane: Too short.\n\n... and then we went home, he said."]
    fast = [quotes.extract_quotes("d", text) for text in texts]
    monkeypatch.setattr(quotes, "_fewer_words", lambda text, count: len(quotes.words(text)) < count)
    monkeypatch.setattr(quotes, "_WORD", GREEDY_WORD)
    assert [quotes.extract_quotes("d", text) for text in texts] == fast
    assert sum(map(len, fast)) > 20
