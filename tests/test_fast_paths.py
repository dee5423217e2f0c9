"""Fast paths against the straightforward computations they replace.

Each fast path must give exactly what the plain code gives (the release
tables must not change by a byte); here both run on every line and every
file of the test corpora, and on inputs made to hit the edge cases.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from pressroom import boilerplate, dedup, highlights, normalize, quotes, turns

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


M64 = (1 << 64) - 1


def plain_mix(x: int) -> int:
    """splitmix64's finaliser on a Python int."""
    x ^= x >> 30
    x = x * 0xBF58476D1CE4E5B9 & M64
    x ^= x >> 27
    x = x * 0x94D049BB133111EB & M64
    return x ^ (x >> 31)


def plain_word_hash(word: str) -> int:
    total = sum(plain_mix(ord(c) | place << 32) for place, c in enumerate(word)) & M64
    return plain_mix(total ^ (len(word) * 0x94D049BB133111EB & M64))


def plain_signature(text: str, num_perm: int = dedup.NUM_PERM, seed: int = dedup.SEED,
                    size: int = dedup.SHINGLE_WORDS) -> list[int]:
    """The signature's definition, one shingle and one bin at a time."""
    hashes = [plain_word_hash(w) for w in dedup.words(text)]
    size = min(size, len(hashes))
    shingles = []
    for first in range(len(hashes) - size + 1 if hashes else 0):
        combined = 0
        for h in hashes[first:first + size]:
            combined = (combined * 0x100000001B3 + h) & M64
        shingles.append(plain_mix(combined))
    bins: dict[int, int] = {}
    for shingle in shingles:
        x = plain_mix(shingle ^ (seed & M64))
        b = ((x >> 32) * num_perm) >> 32
        bins[b] = min(bins.get(b, 0xFFFFFFFF), x & 0xFFFFFFFF)
    if not bins:
        return [0xFFFFFFFF] * num_perm
    probes = dedup._probes(num_perm, seed).tolist()
    return [bins[b] if b in bins else bins[next(p for p in probes[b] if p in bins)] for b in range(num_perm)]


def test_signature_equals_its_plain_definition():
    texts = [*corpus_texts()[:60], *ODD_TEXTS, "one", "two words", "a b c d e f g h a b c d e f g h",
             "é—x_y ‘q’ ﬁne İ ß Ａ ２ z", "naïve naïve café"]
    for text in texts:
        assert dedup.signature(text).tolist() == plain_signature(text), text[:80]
    for num_perm, seed in ((4, 0), (7, -1), (300, 5)):  # bins of other counts; more bins than shingles
        for text in texts[:5] + texts[-5:]:
            assert dedup.signature(text, num_perm, seed).tolist() == plain_signature(text, num_perm, seed)


def test_word_hashes_are_the_words_joined_and_hashed_one_by_one():
    texts = [*corpus_lines(), *corpus_texts(), "", " ", "_", "'", "a'b", "é—x_y", "lone \ud800 surrogate",
             "ﬁ ligature", "Ａ fullwidth", "ß straße", "İstanbul"]
    for text in texts:
        joined, hashes = dedup.word_hashes(text)
        tokens = dedup.words(text)
        assert joined == " ".join(tokens).encode("utf-8", "surrogatepass"), text[:80]
        assert hashes.tolist() == [plain_word_hash(w) for w in tokens], text[:80]


@pytest.mark.parametrize("piece", [1, 2, 7, 64])
def test_a_long_text_is_hashed_piece_by_piece_as_whole(monkeypatch, piece):
    texts = [*corpus_texts()[:20], "a" * 200 + " b", "x " + "é" * 150 + "—" + "y" * 9, "  lead, trail  ", "ab", "a"]
    whole = [dedup.word_hashes(text) for text in texts]
    monkeypatch.setattr(dedup, "WORD_PIECE", piece)
    for text, (joined, hashes) in zip(texts, whole):
        again = dedup.word_hashes(text)
        assert again[0] == joined and again[1].tolist() == hashes.tolist(), text[:80]


def test_every_word_character_is_found():
    """`_is_word_character` (ASCII by comparisons) equals the pattern on every code point."""
    codes = np.arange(0x110000, dtype=np.uint32)
    expected = np.zeros(codes.size, dtype=bool)
    for c in range(0x110000):
        expected[c] = dedup._WORD.fullmatch(chr(c)) is not None
    assert np.array_equal(dedup._is_word_character(codes), expected)


# --- highlights -------------------------------------------------------------------


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



# --- normalize: lines ftfy leaves alone ---------------------------------------------

def skipped_characters() -> list[str]:
    """The characters fix_encoding lets a line skip ftfy with, read off its pattern."""
    return [chr(c) for c in range(0x2FFFF) if not normalize._NOT_FTFY_STABLE.search(chr(c))]


def ftfy_and_nfc(line: str) -> str:
    import ftfy
    return unicodedata.normalize("NFC", ftfy.fix_text(line, normalize._FTFY_CONFIG))


def mojibake(text: str) -> list[str]:
    """`text` as UTF-8 read in the single-byte encodings ftfy undoes."""
    out = []
    for encoding in ("windows-1252", "latin-1", "mac-roman", "windows-1251", "cp437"):
        out.append(text.encode("utf-8").decode(encoding, errors="replace"))
    return out


def test_fix_encoding_equals_ftfy():
    rng = random.Random(11)
    skipped = skipped_characters()
    assert set(skipped) >= {chr(c) for c in range(0x20, 0x7F)} | set("’‘“”–—…")
    risky = list("©·âÃ€™œ»¿ï\x9d\x81é\u0301ﬁＡ\t\x1b\x00\u200b\ufeff\u00a0") + mojibake("’“”–—…é·©ü")
    alphabet = [*"a .'", *[c for c in skipped if not c.isascii()], *"©âÃ€™\x9d\t"]
    short = [""]
    for _ in range(3):  # every string of up to 3 characters: every byte window UTF-8 decoding looks at
        short = [s + c for s in short for c in alphabet] + short
    pool = [*skipped, *[c for c in skipped if not c.isascii()] * 20, *risky]
    fuzz = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 60))) for _ in range(30_000)]
    lines = [line for line in corpus_lines() if not line.isascii()]
    for line in (*lines, *set(short), *fuzz):
        if not line.isascii():
            assert normalize.fix_encoding(line) == ftfy_and_nfc(line), line


def test_skipped_characters_cannot_be_read_as_utf8_mojibake():
    """The argument of normalize._NOT_FTFY_STABLE, checked against ftfy's own
    list of encodings: in each, the non-ASCII characters a line may skip
    ftfy with are missing, or all UTF-8 continuation bytes, or all lead bytes
    (which need a continuation); and none is a control character."""
    from ftfy.chardata import CHARMAP_ENCODINGS

    skipped = skipped_characters()
    assert all(c.isprintable() for c in skipped)
    for encoding in CHARMAP_ENCODINGS:
        codes = set()
        for c in skipped:
            if not c.isascii():
                try:
                    codes.update(c.encode(encoding))
                except UnicodeEncodeError:
                    continue
        assert not codes or all(0x80 <= b <= 0xBF for b in codes) or all(b >= 0xC2 for b in codes), encoding


# --- boilerplate: form rules ----------------------------------------------------------


def reference_form_rule(text: str, keywords_gate: bool = True) -> str | None:
    """form_rule as first written: every rule in order, keywords rule by rule
    (without `keywords_gate`: every pattern searched)."""
    b = boilerplate
    if b.is_byline(text):
        return "byline"
    if b.is_site_date_line(text):
        return "site_date_line"
    if b.is_media_banner(text):
        return "video_notice"
    if b.is_menu(text):
        return "navigation"
    if b.has_no_words(text) and not b._DIGIT.search(text):
        return "separator"
    n_words = len(text.split())
    folded = b._keyword_text(text)
    for name, pattern, max_words, keywords in b.FORM_RULES:
        gated = keywords_gate and keywords and folded is not None
        if n_words <= max_words and (not gated or any(k in folded for k in keywords)) and pattern.search(text):
            return name
    return None


def form_rule_samples() -> list[str]:
    """Corpus lines, their paragraphs, and lines made to hit each rule at
    several lengths (a rule's pattern glued to words before and after)."""
    samples = set(corpus_lines())
    for text in corpus_texts():
        samples.update(p.strip() for p in text.split("\n\n") if p.strip())
    seeds = [line for line in corpus_lines() if boilerplate.form_rule.__wrapped__(line)]
    rng = random.Random(5)
    filler = "the minister said that talks would continue".split()
    for line in seeds:
        for n in (0, 3, 10, 30, 70, 140):
            words = " ".join(rng.choice(filler) for _ in range(n))
            samples.update({f"{line} {words}".strip(), f"{words} {line}".strip(), line.upper(), line.lower()})
        # letters that re.IGNORECASE matches to ASCII but str.lower() does not lower to it (_keyword_text)
        samples.update({line.replace("s", "ſ"), line.replace("k", "\u212a"), line.replace("i", "ı"),
                        line.upper().replace("I", "İ")})
    return sorted(samples)


def test_form_rule_equals_the_rule_by_rule_loop():
    samples = form_rule_samples()
    assert len(samples) > 5000
    hits = Counter()
    for text in samples:
        expected = reference_form_rule(text)
        assert boilerplate.form_rule.__wrapped__(text) == expected, text
        hits[expected] += 1
    assert len(hits) > 20  # most rules fire on some sample


def test_anchored_rules_match_only_at_the_start():
    anchored = [pattern for _, pattern, _, _ in boilerplate.FORM_RULES if boilerplate._anchored(pattern.pattern)]
    assert len(anchored) >= 15
    for pattern in anchored:
        for text in corpus_lines():
            assert bool(pattern.search(text)) == bool(pattern.match(text)), (pattern.pattern, text)
    assert boilerplate._anchored(r"^a|^b(?:c|d)|^[|(]x")
    assert not boilerplate._anchored(r"^a|b")
    assert not boilerplate._anchored(r"^(?:a)|[^|]|^c")
    assert not boilerplate._anchored(r"^\(|x")



# --- turns: spellings of a name -------------------------------------------------------


def reference_spellings(document_text: str, key: str) -> Counter:
    words = key.split()
    pattern = r"\b" + r"\s+".join(r"[\w'’-]{%d,%d}" % (max(1, len(w) - 1), len(w) + 1) for w in words) + r"\b"
    found: Counter = Counter()
    for match in re.finditer(f"(?=({pattern}))", document_text):
        if turns.fold(match.group(1)) == key:
            found[match.group(1)] += 1
    return found


def test_spellings_equal_trying_every_position():
    rng = random.Random(9)
    texts = [t for t in corpus_texts() if len(t) < 200_000]
    # plain texts (the fast path) and the same with accents and odd spaces (the slow one)
    texts += [t.replace("e", "é", 3) for t in texts[:40]] + [t.replace(" ", "\u00a0", 5) for t in texts[:40]]
    texts += ["Tom Tom Tom Tom", "Jean-Pierre  O’Neill met JEAN-PIERRE O’NEILL and jean-pierre\to’neill, Jean-Pierres O’Neill.",
              "Ms. Smith-Jones, Ms SMITH JONES and Smith Jones", "I’m Tom  Baxter; TOM\nBAXTER; Tom Baxters"]
    fast = 0
    for text in texts:
        names = re.findall(r"[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,2}", text)
        keys = {turns.fold(n) for n in rng.sample(names, min(len(names), 25))}
        keys |= {k[:-1] for k in list(keys)[:5] if len(k.split()[-1]) > 2}  # shorter than a spelling
        for key in keys:
            if not key.strip():
                continue
            turns._spellings.cache_clear()
            assert turns._spellings(text, key) == reference_spellings(text, key), (key, text[:60])
            assert list(turns._spellings(text, key)) == list(reference_spellings(text, key))  # same order
        fast += turns._folded_in_place(text) is not None
    assert fast > 20



# --- quotes: turn sketches ------------------------------------------------------------


def test_sketch_words_and_stem_hashes_equal_the_plain_computation():
    texts = [*corpus_texts(), *ODD_TEXTS, "It’s ‘quoted’ — U.S. 5,000 don’t. Next… and İ ſ.", "I don‘t like rock‘n‘roll."]
    plain = 0
    for text in texts:
        prepared = quotes._plain_words_text(text)
        plain += prepared is not None
        for start, end in quotes.sentence_spans(text):
            expected = quotes.words(text[start:end])
            if prepared is not None:
                assert quotes._WORD.findall(prepared, start, end) == expected, text[start:end]
            hashes = [h for w in expected if (h := quotes._content_stem_hash(w)) is not None]
            assert hashes == [quotes.stem_hash(s) for s in quotes._content_stems(expected)]
    assert plain > 20


def test_turn_sketches_equal_those_of_the_plain_words(monkeypatch):
    turns_ = [{"id": f"d:{n}", "doc_id": "d", "speaker": None, "text": text}
              for n, text in enumerate([*corpus_texts()[:40], *ODD_TEXTS])]
    fast = quotes.TurnSketches.of_turns(turns_)
    monkeypatch.setattr(quotes, "_plain_words_text", lambda text: None)
    slow = quotes.TurnSketches.of_turns(turns_)
    for name in ("sentence_count", "start", "end", "words", "stem_count", "gram_count", "seam_count",
                 "stems", "grams", "seams"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name



# --- clean: the form rules of the first pass ------------------------------------------


def test_classify_with_the_prepared_form_reasons_equals_asking_form_rule():
    from pressroom.clean import learn_site_boilerplate, prepare
    from pressroom.ingest import RawDocument
    from pressroom.turns import looks_like_transcript

    documents = [prepare(RawDocument(f"d{n}", f"d{n}.txt", "0" * 64, text)) for n, text in enumerate(corpus_texts())]
    model = learn_site_boilerplate(documents, min_support=2)
    removed = 0
    for doc in documents:
        protected = frozenset(doc.labels) if looks_like_transcript(list(doc.labels.values())) else frozenset()
        args = (doc.paragraphs, doc.site_key, model)
        kwargs = {"protected": protected, "title_index": doc.title_index}
        expected = boilerplate.classify(*args, **kwargs)
        assert boilerplate.classify(*args, **kwargs, form_reasons=doc.form_reasons) == expected
        removed += len(expected)
    assert removed > 100



# --- keyword gates in front of case-insensitive searches --------------------------------


def test_the_characters_ignorecase_matches_to_ascii_letters_are_all_known():
    """boilerplate._keyword_text and turns._may_hold lower the text and look
    for keywords, except in a text holding one of these characters."""
    letter = re.compile("(?i)[a-z]")
    folding = {chr(c) for c in range(0x80, 0x110000)
               if not 0xD800 <= c <= 0xDFFF and letter.fullmatch(chr(c))}
    assert folding == {"\u0130", "\u0131", "\u017f", "\u212a"}
    for c in folding:
        assert boilerplate._FOLDS_TO_ASCII.search(c) and turns._FOLDS_TO_ASCII.search(c)


def test_turn_keyword_gates_equal_the_plain_searches():
    samples = [*corpus_lines(), *corpus_texts()]
    made = ["The briefing was moderated by Deputy Spokesperson Steffen Hoffmann.",
            "HOSTED BY Anna Berg and Tom Baxter", "chaired by Jean-Pierre O’Neill today",
            "Our speaker today is Deputy National Security Advisor Mark Ellery", "JOINING US IS Dr. Ann Lee",
            "We’re joined by Kim Park", "we're joined by Kim Park", "We are joined by Mr Kim Park and Lee"]
    samples += made
    samples += [t.replace("s", "ſ").replace("i", "ı").replace("k", "\u212a") for t in made]
    samples += [t.upper().replace("I", "İ") for t in made]
    hits = Counter()
    for text in samples:
        expected = {turns.fold(" ".join(m.group(1).split()[-2:])) for m in turns.MODERATED_BY.finditer(text)}
        assert turns.moderators_named(text) == expected, text
        match = turns.INTRODUCED_SPEAKER.search(text)
        assert turns.introduced_speaker(text) == (" ".join(match.group(1).split()[-2:]) if match else None), text
        hits["moderated"] += bool(expected)
        hits["introduced"] += bool(match)
    assert hits["moderated"] >= 6 and hits["introduced"] >= 6


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
