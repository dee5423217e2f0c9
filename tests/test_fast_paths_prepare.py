"""Fast paths of the prepare pass against the plain computations they replace
(form rules, line classification, paragraph texts, speaker labels)."""

from __future__ import annotations

import re
from itertools import product

from test_fast_paths import ODD_TEXTS, corpus_lines, corpus_texts, form_rule_samples, reference_form_rule

from pressroom import boilerplate, clean, normalize, paragraphs, turns

# --- boilerplate: form rules ------------------------------------------------------------


def plain_form_rule(text: str) -> str | None:
    """form_rule with no gate: every rule in order, every pattern searched."""
    return reference_form_rule(text, keywords_gate=False)


# the rules that have keywords now, though anchored: lines of each, in several forms
NEWLY_GATED = [
    "Editor's note: this story was updated.", "EDITORS NOTE - corrected", "Our editor’s note", "[Note from the editor]",
    "Note from the editors: read on", "a b c editor's note", "a b c d editor's note",
    "The Ledger is an independent newsroom covering the region.", "Kessaly Post is a non-profit publication",
    "The Wire is a reader-supported news site", "Meridian is a nonpartisan think tank", "Ab is one-person blog",
    "Read this in English", "Read in French", "Read this article in Spanish", "read story in Italian",
    "This article is also available in German", "This post is available in Portuguese", "Lire en français",
    "Leer en español", "Lesen auf Deutsch", "Leggi in italiano", "Haga clic aquí en español", "Also in English",
    "Clique aqui em português", "x" * 39 + " in italiano", "x" * 41 + " in italiano", "Die Rede auf deutsch",
]


def newly_gated_samples() -> list[str]:
    samples = []
    for line in NEWLY_GATED:
        for text in (line, line.upper(), line.lower(), f"{line} and more words here", f"Words before {line}"):
            # letters that re.IGNORECASE matches to ASCII but str.lower() does not lower to it
            samples += [text, text.replace("s", "ſ"), text.replace("i", "ı"), text.upper().replace("I", "İ")]
    return samples


def test_form_rule_equals_trying_every_pattern():
    samples = [*form_rule_samples(), *newly_gated_samples()]
    hits = set()
    for text in samples:
        expected = plain_form_rule(text)
        assert boilerplate.form_rule.__wrapped__(text) == expected, text
        hits.add(expected)
    assert {"editors_note", "site_description", "translation_link"} <= hits


def test_media_and_separator_patterns_equal_the_substring_tests():
    samples = [*corpus_lines(), *ODD_TEXTS, "VIDEO", "LIVESTREAM", "PODCASTS", "a › b", "a–b", "x>y", "a/b"]
    for text in samples:
        assert bool(boilerplate._MEDIA_WORDS.search(text)) == any(
            w in text for w in ("VIDEO", "AUDIO", "WATCH", "STREAM", "PODCAST")), text
        assert bool(boilerplate.SEPARATOR_CHAR.search(text)) == any(c in text for c in "|·•›»/>-–—"), text


# --- normalize ----------------------------------------------------------------------------

_NOT_PLAIN = re.compile(r"[^ -~]|  |[\[<&*_>|#{]")  # what the plain path's test was


def test_plain_equals_the_pattern():
    characters = [chr(c) for c in range(0x3100)]
    pairs = ["".join(p) for p in product([" ", "a", "\t", "\u00a0", "#", "’", "\x7f"], repeat=2)]
    for text in (*characters, *pairs, *corpus_lines(), *ODD_TEXTS, ""):
        assert normalize._plain(text) == (not _NOT_PLAIN.search(text)), repr(text)


def test_normalize_whitespace_equals_always_substituting():
    spaces = [" ", "\t", "\u00a0", "\u2000", "\u2005", "\u200a", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff", "\n"]
    made = ["".join(p) for p in product([*spaces, "a"], repeat=3)]
    characters = [f"a{chr(c)}b" for c in range(0x3100)]
    for line in (*made, *characters, *corpus_lines(), *ODD_TEXTS):
        expected = normalize._SPACES.sub(" ", normalize._ZERO_WIDTH.sub("", line)).strip()
        assert normalize.normalize_whitespace(line) == expected, repr(line)


# --- paragraphs ---------------------------------------------------------------------------


def test_paragraph_texts_equal_joining_line_by_line():
    """Each paragraph's text, as the builder first made it: the texts of its
    lines joined one at a time, empty texts left out."""
    documents = [*corpus_texts(), "---\ntitle: T\ndate: 2020\n---\nBody text", "> \n>\n> quoted\n>", ">\n>", "a\n\nb"]
    checked = 0
    for text in documents:
        lines = normalize.classify_lines(text)
        for soft in (False, True):
            for p in paragraphs.build_paragraphs(lines, starts_paragraph=clean._starts_paragraph, soft_wrapped=soft):
                joined = ""
                for number in p.lines:
                    line = lines[number - 1]
                    separator = " | " if line.kind == "front_matter" else " "
                    joined = separator.join(t for t in (joined, line.text) if t)
                assert p.text == (joined or ">"), p
                checked += len(p.lines) > 1
    assert checked > 100


# --- turns --------------------------------------------------------------------------------


def test_label_matches_have_a_colon_early():
    """parse_label asks LABEL only when text[:_LABEL_COLON_END] holds a colon."""
    made = []
    for n in range(90, 110):
        for gap in ("", " ", "\t", "  "):
            for after in (" Hello", "", ": x", " "):
                made += [f"{'A' * n}{gap}:{after}", f"{'Ab ' * (n // 3)}{gap}:{after}", f"\n{'A' * n}:{after}"]
    for text in (*made, *corpus_lines(), *ODD_TEXTS):
        if ":" not in text[:turns._LABEL_COLON_END]:
            assert turns.LABEL.match(text) is None, text
    assert any(turns.LABEL.match(t) and t.index(":") == turns._LABEL_COLON_END - 1 for t in made)
