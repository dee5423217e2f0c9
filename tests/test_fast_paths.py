"""Fast paths against the straightforward computations they replace.

Each fast path must give exactly what the plain code gives (the release
tables must not change by a byte); here both run on every line and every
file of the test corpora, and on inputs made to hit the edge cases.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from pressroom import dedup, highlights

ROOT = Path(__file__).resolve().parent.parent
CORPORA = [ROOT / "raw", ROOT / "tests" / "corpus"]
ODD_TEXTS = [
    "", " ", "’", "‘quoted’ “double” ʼokina", "İstanbul ıi ſ K Kelvin", "ǅemal ǈ ǋ", "ß straße STRASSE",
    "ﬁne ﬂow", "Ａｂｃ full width", "e\u0301 combining", "don’t-stop it's rock-’n’-roll", "日本語の文章です。",
    "Ⅻ Ⅳ ⅻ roman", "ǰ̌ ŉ", "ΣΑΣ σας", "tab\there", "x" * 300,
]


@lru_cache(maxsize=1)
def corpus_texts() -> tuple[str, ...]:
    """Every text file of the test corpora (raw and normalised forms)."""
    texts = []
    for root in CORPORA:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ""):
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    continue
    assert len(texts) > 20
    return tuple(texts)


@lru_cache(maxsize=1)
def corpus_lines() -> tuple[str, ...]:
    lines = {line for text in corpus_texts() for line in text.splitlines()}
    return tuple(sorted(lines | set(ODD_TEXTS)))


# --- dedup ----------------------------------------------------------------------


def reference_dedup_words(text: str) -> list[str]:
    table = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "ʼ": "'"})
    text = unicodedata.normalize("NFKC", text).translate(table).casefold()
    return dedup._WORD.findall(text.replace("'", ""))


def test_dedup_words_equal_the_translate_version():
    for text in (*corpus_lines(), *corpus_texts()):
        assert dedup.words(text) == reference_dedup_words(text), text


def test_mod_mersenne_61_equals_the_modulo():
    m = (1 << 61) - 1
    rng = np.random.default_rng(7)
    edges = [0, 1, m - 1, m, m + 1, m + 2, m + 3, 2 * m - 1, 2 * m, 2 * m + 1, 3 * m, 3 * m + 2, 3 * m + 3,
             (1 << 61), (1 << 62), (1 << 62) + 5, (1 << 63) - 1]
    values = np.concatenate([np.array(edges, dtype=np.uint64),
                             rng.integers(0, 1 << 63, size=200_000, dtype=np.uint64),
                             # the products MinHash makes: a < 2^31, x < 2^32, b < 2^31
                             rng.integers(0, 1 << 31, size=50_000, dtype=np.uint64)
                             * rng.integers(0, 1 << 32, size=50_000, dtype=np.uint64)])
    expected = values % np.uint64(m)
    assert np.array_equal(dedup._mod_mersenne_61(values.copy()), expected)


def reference_minhash(tokens, num_perm=dedup.NUM_PERM, seed=dedup.SEED, shingle_words=dedup.SHINGLE_WORDS):
    shingles = dedup.shingle_hashes(tokens, shingle_words)
    if shingles.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    a, b = dedup._permutations(num_perm, seed)
    hashed = (a[:, None] * shingles[None, :] + b[:, None]) % dedup._MERSENNE_61 & dedup._MAX_HASH_32
    return hashed.min(axis=1).astype(np.uint32)


def test_minhash_equals_the_plain_computation():
    texts = [*corpus_texts(), *ODD_TEXTS, "one", "two words", "a b c d e f g h a b c d e f g h"]
    long = " ".join(f"w{i % 9000}" for i in range(20_000))  # more shingles than one chunk
    for text in (*texts, long):
        tokens = dedup.words(text)
        assert np.array_equal(dedup._minhash(tokens, dedup.NUM_PERM, dedup.SEED, dedup.SHINGLE_WORDS),
                              reference_minhash(tokens)), text[:80]
    assert np.array_equal(np.unique(dedup._shingles(dedup.words(long), 5)), dedup.shingle_hashes(dedup.words(long)))


# --- highlights -------------------------------------------------------------------


def test_highlight_tokens_equal_lowering_each_word():
    for text in corpus_lines():
        expected = [w.lower() for w in highlights._WORD.findall(text.replace("’", "'"))]
        assert highlights.tokens(text) == expected, text


def test_pair_index_shared_pairs_are_the_pairs_of_two_paragraphs_or_more():
    rng = random.Random(3)
    vocabulary = "a b c d e f g h".split()
    for _ in range(300):
        profiles = {i: highlights._Profile([rng.choice(vocabulary) for _ in range(rng.randint(0, 12))])
                    for i in range(rng.randint(0, 8))}
        counts: Counter = Counter()
        for profile in profiles.values():
            counts.update(profile.bigrams)
        index = highlights._PairIndex(profiles)
        assert index.shared == {pair for pair, n in counts.items() if n >= 2}
        for pair, holders in index.postings.items():
            assert holders == [j for j, p in profiles.items() if pair in p.bigrams]


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
