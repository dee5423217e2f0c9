"""Fast paths of the clean pass (boilerplate trims, site line keys, doc
type) against the plain computations they replace, on the test corpora and
on inputs made to hit their edge cases."""

from __future__ import annotations

import re
from itertools import product

from test_fast_paths import ODD_TEXTS, corpus_lines, corpus_texts

from pressroom import boilerplate, metadata

GLUE_TEXTS = [
    "Minister Ana Ruiz meets port officials in KessalyThe memorandum, signed on Monday, opens the port to trade ships",
    "Minister Ana Ruiz meets port officials in Kessaly. The memorandum, signed on Monday, opens the port to ships",
    "Minister Ana Ruiz meets port officials in Kessaly! PortThe memorandum, signed on Monday, opens the port today",
    "Minister Ana Ruiz meets port officials in KessályThe memorandum, signed on Monday, opens the port to trade ships",
    "Minister Ana Ruiz meets port officials in KessalyÉtienne said the memorandum, signed on Monday, opens the port",
    "Ｍinister Ana Ruiz meets port officials in KessalyThe memorandum, signed on Monday, opens the port to ships",
    "minister Ana Ruiz meets port officials in KessalyThe memorandum, signed on Monday, opens the port to ships",
    "The new iPhone and the McDonald franchise of the YouTube channel of PayPal and the rest of it all here now",
    "Photo of the day: the officials of the town of KessalyThe memorandum\ud800 signed on Monday, opens the port",
]


def plain_trim_glued_caption(text: str) -> tuple[str, str | None]:
    """`trim_glued_caption` with the pattern tried on every paragraph."""
    original = boilerplate._may_glue
    boilerplate._may_glue = lambda text: True
    try:
        return boilerplate.trim_glued_caption(text)
    finally:
        boilerplate._may_glue = original


def test_glue_precheck_rules_out_only_what_the_pattern_does_not_match():
    texts = [*corpus_lines(), *(p for t in corpus_texts() for p in t.split("\n\n")), *ODD_TEXTS, *GLUE_TEXTS]
    matched = 0
    for text in texts:
        matches = boilerplate.GLUED_CAPTION.match(text) is not None
        matched += matches
        assert not matches or boilerplate._may_glue(text), text
        assert boilerplate.trim_glued_caption(text) == plain_trim_glued_caption(text), text
    assert matched >= 3


def test_glue_precheck_by_letter_pairs():
    """Every pair of a character class around the glue, and characters the
    pattern's [a-z] / [A-Z] must not take (non-ASCII letters, İ, K)."""
    edge = ["a", "z", "A", "Z", "é", "É", "İ", "ı", "K", "ſ", "0", "_", " ", ".", "!", "?", "’", "-"]
    head = "Minister Ana Ruiz meets port officials in Kessal"
    tail = "he memorandum, signed on Monday, opens the port to trade ships"
    for left, right, stop in product(edge, edge, ["", ".", " ok? "]):
        text = f"{head}{stop}{left}{right}{tail}"
        assert not boilerplate.GLUED_CAPTION.match(text) or boilerplate._may_glue(text), text


def plain_line_key(text: str) -> str:
    return boilerplate._DIGITS.sub("0", text.casefold())


def test_line_key_equals_the_regex_on_every_line():
    digits = ["2025", "٣", "０１", "Ⅻ", "²", "¹⁰", "𝟘"]  # Unicode decimals, and digits \d does not take
    texts = [*corpus_lines(), *ODD_TEXTS, *(f"Page {d} of {d}" for d in digits), "K2 ß 10 İ"]
    for text in texts:
        assert boilerplate.line_key.__wrapped__(text) == plain_line_key(text), text


def test_every_ascii_digit_is_a_digit_of_the_regex():
    """The fast path's premise: in ASCII, \\d is 0-9."""
    assert [chr(c) for c in range(128) if re.fullmatch(r"\d", chr(c))] == list("0123456789")


PLAIN_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself)\b")


def test_first_person_pattern_finds_the_same_matches():
    words = ["I", "I'm", "I've", "I'd", "I'll", "me", "my", "mine", "myself", "Im", "mI", "meme", "I'my", "I'me",
             "İ", "ı", "MY", "Me", "_me", "me_", "1me", "é me", "mé", "I’m"]
    texts = [*corpus_texts(), *ODD_TEXTS, *(" ".join(p) for p in product(words, repeat=2)),
             *("".join(p) for p in product(words, ["", " ", "'", "-", "."], words))]
    for text in texts:
        assert ([m.span() for m in metadata.FIRST_PERSON.finditer(text)]
                == [m.span() for m in PLAIN_FIRST_PERSON.finditer(text)]), text


def plain_doc_type(is_transcript: bool, kept_text: str) -> str:
    if is_transcript:
        return "transcript"
    if len(kept_text.split()) < 20:
        return "other"
    prose = metadata._QUOTED.sub(" ", kept_text)
    words = max(1, len(prose.split()))
    opinion = 1000 * (len(PLAIN_FIRST_PERSON.findall(prose)) + prose.count("!")) / words
    attribution = 1000 * len(metadata.ATTRIBUTION.findall(prose)) / words
    return "commentary" if opinion >= metadata.OPINION_RATE or attribution < metadata.NEWS_ATTRIBUTION_RATE else "article"


def test_doc_type_equals_the_plain_computation():
    short = [" ".join(["said"] * n) + " " * k for n in (18, 19, 20, 21) for k in (0, 1)]
    texts = [*corpus_texts(), *ODD_TEXTS, *short, "word\u2003" * 19 + "word", "I said " * 10]
    kinds = set()
    for text in texts:
        kinds.add(metadata.doc_type(False, text))
        assert metadata.doc_type(False, text) == plain_doc_type(False, text), text[:80]
    assert kinds >= {"other", "commentary"}

