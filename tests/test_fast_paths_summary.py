"""Fast paths of the per-document summary (`shards.summarize_document`:
dedup signature, turn sketches, quotation extraction) against the plain
computations they replace, on the test corpora and on edge cases."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pressroom import dedup, quotes
from pressroom.cache import hash64
from test_fast_paths import ODD_TEXTS, corpus_lines, corpus_texts

SPACES = ["\u00a0", "\u2028", "\u3000", "\x1c", "\x85", "\t", "\n", "\r\n", "\u200b", "\ufeff"]
EDGE_TEXTS = [  # sentence ends, joiners and spaces of every kind
    "", " ", "  \n ", ".", " . ", "...", "a. b", "a.b. c", "U.S. and U.K. talks.", "Why?! No… Yes.\n",
    "He said “stop.” Then left.", "(Really.) Fine.", "x.\u3000y.\u00a0z", "end.\n", "end.\n\n", "a .b", "…",
    "no end", "  lead and trail  ", "5,000 people. Not 5.000!", "It’s ‘quoted’ — U.S. 5,000 don’t. Next… and İ ſ.",
    *(f"{s}First.{s}Second!{s}" for s in SPACES), *(f"a.{s}b" for s in SPACES),
]


# --- dedup: token hashes (the quote index's) ------------------------------------


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
