import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressroom import boilerplate
from pressroom.boilerplate import FORM_RULES, SiteBoilerplate, classify, form_rule, trim_inline_notes
from pressroom.paragraphs import build_paragraphs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "line, rule",
    [
        ("By Jane Doe and John Smith", "byline"),
        ("Daily Planet, March 3, 2021", "site_date_line"),
        ("example.org 3 March 2021", "site_date_line"),
        ("Region: Europe, Asia", "field_line"),
        ("Tags: diplomacy, summit", "field_line"),
        ("Editor's note: bold text marks our emphasis", "editors_note"),
        ("(TRANSCRIPT CONTINUED)", "editorial_marker"),
        ("WATCH THE FULL VIDEO BELOW", "video_notice"),
        ("You can watch the full interview here.", "video_notice"),
        ("© Reuters", "photo_credit"),
        ("Photo: Jane Doe / Agency", "photo_credit"),
        ("Copyright © Example Media 2019", "copyright"),
        ("All rights reserved.", "copyright"),
        ("Disclaimer: The views of the authors are their own.", "disclaimer"),
        ("Leave a Reply", "comment_form"),
        ("Your email address will not be published. Required fields are marked *", "comment_form"),
        ("Become a Member of The Daily Planet", "site_widget"),
        ("Share this article on Twitter", "site_widget"),
        ("The original source of this article is Example News", "source_line"),
        ("Articles by: Jane Doe", "author_list"),
        ("For media inquiries: press@example.org", "contact_line"),
        ("Read more: Summit ends without deal", "related_links"),
    ],
)
def test_form_rules(line, rule):
    assert form_rule(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "By coordinating intelligence and airstrikes, Moscow and Paris can work together.",
        "The summit took place on March 3, 2021 in a tense atmosphere after weeks of talks.",
        "Thank you.",
        "Point 3: The Attack Was a Clear Provocation",
        "He said the video was fake and nobody should watch it.",
        "The theme of the meeting was security.",
    ],
)
def test_content_is_not_boilerplate(line):
    assert form_rule(line) is None


# --- the keyword gates in front of the form rules ---------------------------

GATED_RULES = [(name, pattern, keywords) for name, pattern, _, keywords in FORM_RULES if keywords]


@pytest.mark.parametrize("name, pattern, keywords", GATED_RULES, ids=[rule[0] for rule in GATED_RULES])
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_every_match_of_a_gated_rule_contains_one_of_its_keywords(name, pattern, keywords, data):
    text = data.draw(st.from_regex(pattern))
    folded = boilerplate._keyword_text(text)
    assert folded is None or any(k in folded for k in keywords)


def test_keywords_are_lower_case():
    assert all(k == k.lower() for *_, keywords in FORM_RULES for k in keywords)


def test_characters_that_ignorecase_folds_to_ascii_letters_skip_the_gates():
    beyond_ascii = "".join(map(chr, range(0x80, 0x110000)))
    assert set(boilerplate._FOLDS_TO_ASCII.findall(beyond_ascii)) == set(re.findall("(?i)[a-z]", beyond_ascii))
    assert form_rule("We uſe cookies to improve your experience.") == "cookie_notice"
    assert form_rule("Notes written ın a personal capacity.") == "disclaimer"
    assert form_rule("For media İnquiries, call the press office") == "contact_line"


def test_keyword_gates_change_no_decision_on_the_corpora(monkeypatch):
    files = [*(ROOT / "raw").glob("*.txt"), *(ROOT / "tests" / "corpus").glob("*/raw/*")]
    lines = {line.strip() for f in files for line in f.read_text(errors="replace").splitlines()} - {""}
    gated = {line: form_rule.__wrapped__(line) for line in lines}
    monkeypatch.setattr(boilerplate, "FORM_RULES", tuple((n, p, m, ()) for n, p, m, _ in FORM_RULES))
    assert {line: form_rule.__wrapped__(line) for line in lines} == gated


BODY = [
    "The ministers discussed the new agreement for more than three hours on Tuesday.",
    "Officials said the text would be published once both parliaments had seen it.",
    "Critics called the deal rushed and warned that several clauses remained vague.",
    "Markets reacted calmly, with the currency closing almost unchanged on the day.",
]


def _classify(lines):
    paragraphs = build_paragraphs(lines)
    return {paragraphs[i].line_start: r for i, r in classify(paragraphs).items()}


def test_alt_text_above_photo_credit_is_a_caption():
    decided = _classify(["Leaders Summit", "© Example Agency", "The leaders met on Monday to discuss trade and security issues at length."])
    assert decided == {1: "image_caption", 2: "photo_credit"}


def test_short_line_glued_to_a_paragraph_is_a_caption():
    lines = [BODY[0], "", "Soldiers near the border.", BODY[1], "", BODY[2], "", BODY[3]]
    assert _classify(lines) == {3: "image_caption"}


def test_heading_between_gaps_is_kept_but_caption_is_not():
    lines = [BODY[0], "", "", "Part 2: What The Agreement Means For Europe", "", BODY[1], "", "",
             "The prime minister greets the crowd in this file photo", "", "", BODY[2]]
    assert _classify(lines) == {9: "image_caption"}


def test_verbatim_repeat_of_a_sentence_is_not_a_header():
    lines = [BODY[0], "", BODY[1], "", BODY[0], "", BODY[2]]
    assert _classify(lines) == {}


def test_repeated_page_header_only_its_repeats_go():
    header = "Press statements following talks with the Prime Minister of Italy"
    body = "The talks covered trade and energy and lasted for most of the afternoon."
    lines = ["Title Of The Page", "", header, "", body, "", body.replace("trade", "wine"), "", "", "", header, "", body.replace("energy", "oil")]
    assert _classify(lines) == {11: "repeated_page_header"}


def test_author_box_at_the_bottom():
    lines = [BODY[0], "", BODY[1], "", BODY[2], "", "Jane Doe, PhD", "", "Jane Doe is a senior fellow at the Example Institute."]
    assert _classify(lines) == {7: "author_box", 9: "author_bio"}


def test_speech_is_protected_from_layout_guesses():
    lines = [BODY[0], "", "", "Q: And then what did the minister tell the press on that day", "", "", BODY[1]]
    paragraphs = build_paragraphs(lines)
    assert classify(paragraphs) == {1: "image_caption"}
    assert classify(paragraphs, protected=frozenset({1})) == {}


def test_inline_emphasis_note_is_trimmed():
    kept, cut, rule = trim_inline_notes("They declared the plane was downed. [emphasis added by JWS]")
    assert (kept, cut, rule) == ("They declared the plane was downed.", "[emphasis added by JWS]", "inline_editorial_note")
    assert trim_inline_notes("[here we disagree with the author - ed.] A real comment.")[1] is None
    assert trim_inline_notes("Quoted as said. (emphasis mine) \n")[1:] == ("(emphasis mine)", "inline_editorial_note")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.from_regex(boilerplate.INLINE_NOTE))
def test_an_inline_note_ends_its_text_in_a_closing_bracket(text):
    assert text.rstrip().endswith((")", "]"))  # trim_inline_notes looks for notes only there


def test_site_boilerplate_needs_support_and_ignores_order():
    docs = [("example.org", [f"Story {i} text.", "Support independent journalism today"]) for i in range(3)]
    docs.append(("other.net", ["Support independent journalism today"]))
    model = SiteBoilerplate.learn(docs, min_support=3)
    assert model.is_boilerplate("example.org", "Support independent journalism today")
    assert not model.is_boilerplate("other.net", "Support independent journalism today")
    shuffled = docs[:]
    random.Random(7).shuffle(shuffled)
    assert SiteBoilerplate.learn(shuffled, min_support=3) == model
    assert not SiteBoilerplate.learn(docs[:2], min_support=3).is_boilerplate("example.org", "Support independent journalism today")


def test_site_boilerplate_masks_numbers():
    docs = [("example.org", [f"{n} comments"]) for n in (3, 14, 159)]
    model = SiteBoilerplate.learn(docs, min_support=3)
    assert model.is_boilerplate("example.org", "27 comments")
