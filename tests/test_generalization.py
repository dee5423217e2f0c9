"""Cleaning that generalizes: front matter, markup residue, hard wrapping,
chrome blocks, glued captions, and the hand-written site corpus's bars."""

import datetime as dt
from pathlib import Path

import pytest
from conftest import first_release

from pressroom.boilerplate import classify, form_rule, trim_inline_notes
from pressroom.frontmatter import read_front_matter
from pressroom.normalize import classify_line, classify_lines
from pressroom.paragraphs import build_paragraphs, wrap_width
from pressroom.scoring import score_release

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "tests" / "corpus" / "sites"


def test_yaml_and_toml_front_matter_become_metadata():
    yaml_doc = ['---', 'title: "Talks resume"', "date: 2024-03-22T09:00:00+01:00", "author:", "  - Ann Lee",
                "  - Bo Chen", "url: https://example.org/a/talks/", "---", "", "Body text."]
    meta = read_front_matter(yaml_doc)
    assert (meta.title, meta.published, meta.authors, meta.site) == (
        "Talks resume", dt.date(2024, 3, 22), ("Ann Lee", "Bo Chen"), "example.org")
    toml_doc = ["+++", 'title = "Summit diary"', 'date = "2024-11-21"', 'authors = ["Eli Brandt"]', "+++", "Text."]
    assert read_front_matter(toml_doc).authors == ("Eli Brandt",)
    assert read_front_matter(["---", "", "A horizontal rule, then prose: not front matter"]) is None
    kinds = [line.kind for line in classify_lines("\n".join(yaml_doc))]
    assert kinds[:8] == ["front_matter"] * 8 and kinds[9] == "text"


@pytest.mark.parametrize(
    "raw, text, kind",
    [
        ("## What comes next", "What comes next", "heading"),
        ("> Everyone wants the clause", "Everyone wants the clause", "quote"),
        ("- Who are the Tarsh?", "Who are the Tarsh?", "list"),
        ("1. Turnout above 70%", "1. Turnout above 70%", "list"),
        ("![Ministers in Hvalby](/img/a.jpg)", "Ministers in Hvalby", "image"),
        ('<iframe src="https://video.example/embed/1"></iframe>', '<iframe src="https://video.example/embed/1"></iframe>', "embed"),
        ("The <strong>signed</strong> text &#8211; not the other", "The signed text – not the other", "text"),
        ("**Support us:** [Donate](https://x.example/d)", "Support us: Donate", "text"),
        ("President of France (*retranslated*): Yes.", "President of France (*retranslated*): Yes.", "text"),
        ("| District | Seats |", "| District | Seats |", "table"),
        ("----------", "----------", "rule"),
    ],
)
def test_markup_residue_becomes_plain_text_the_same_way_everywhere(raw, text, kind):
    line = classify_line(raw)
    assert (line.text, line.kind) == (text, kind)


WRAPPED = """The draft ceasefire text circulating in Port Alder contains a clause
that has attracted more attention than any other: if the movement
breaks the ceasefire, sanctions suspended under the deal would be
reimposed automatically, without a new vote. We think it is weaker
than it looks.

1. Whether the Harbour Alliance stays above 80 seats. Below that,
   Rellow needs two partners rather than one.
2. Turnout.

A senior official described the problem candidly at a briefing in
June:

The Union has written snapback language into two earlier agreements,
with Osterling in 2014 and with the Calder Republic in 2019. In neither
case was it triggered."""


def test_hard_wrapped_lines_join_into_paragraphs_but_not_list_items():
    lines = classify_lines(WRAPPED)
    assert wrap_width(lines) is not None
    paragraphs = build_paragraphs(lines)
    assert [p.lines for p in paragraphs] == [(1, 2, 3, 4, 5), (7, 8), (9,), (11, 12), (14, 15, 16)]
    assert paragraphs[0].text.endswith("weaker than it looks.")


def test_short_adjacent_lines_of_plain_text_are_not_a_wrap():
    lines = classify_lines("Skip to main content\nMeridian Wire\nWorld | Politics\nSign in\n\nHeadline here")
    assert wrap_width(lines) is None
    assert len(build_paragraphs(lines)) == 5


@pytest.mark.parametrize(
    "line, rule",
    [
        ("Posted on August 27, 2024 by Ann Lee · 9 Comments", "byline"),
        ("4 min read", "byline_meta"),
        ("World | Politics | Business | Climate", "navigation"),
        ("Home › News › Politics", "navigation"),
        ("« Previous | Next »", "navigation"),
        ("We use cookies to give you the best experience on our site.", "cookie_notice"),
        ("You are receiving this email because you signed up at example.org.", "newsletter"),
        ("Read this in French", "translation_link"),
        ("Reporting by Ann Lee; Editing by Bo Chen", "credits"),
        ("Republish this article for free under a Creative Commons licence.", "license"),
        ("Messages sorted by: [ date ] [ thread ] [ subject ] [ author ]", "mailing_list"),
        ("The Example Review is an independent, non-profit newsroom.", "site_description"),
        ("Voters queue in Seren, September 29. (Ann Lee/Example Gazette)", "image_caption"),
    ],
)
def test_more_named_rules(line, rule):
    assert form_rule(line) == rule


def test_keep_lines_that_only_look_like_chrome():
    for line in ("By 2030, the two governments aim to have a shared network.", "What comes next",
                 "In the video of his speech, the minister describes the country as a table.",
                 "Watch:", "This does not necessarily reflect a change in policy, officials said.",
                 "Allies will chip in for the reconstruction of the bridge.",
                 "Sen. John Smith (R) said the vote would be close.",
                 "Posted in Kabul for three years, the general knows the region well and says so often.",
                 "Return to normal life is not expected before the spring, the mayor said.",
                 "See also the statement by the ministry on Tuesday, which went further.",
                 "Mirenia is an independent country with a small army."):
        assert form_rule(line) is None, line


def test_chrome_block_under_its_header_goes_with_it():
    lines = ["A body paragraph that is long enough to be content, with many words in it today.", "",
             "Related", "Summit ends without deal", "Explainer: Why the river matters", "",
             "Another body paragraph that is long enough to be content, with many words in it."]
    paragraphs = build_paragraphs(lines)
    decided = classify(paragraphs)
    assert [paragraphs[i].line_start for i in sorted(decided)] == [3, 4, 5]
    assert set(decided.values()) == {"related_links"}


def test_glued_caption_is_trimmed_but_brands_are_not():
    text = ("Governor Ruth Calloway signs a memorandum with port officialsThe memorandum, signed in Amrit "
            "on Thursday, commits the two port authorities to study a direct route.")
    kept, cut, rule = trim_inline_notes(text)
    assert cut == "Governor Ruth Calloway signs a memorandum with port officials" and rule == "glued_caption"
    assert kept.startswith("The memorandum, signed")
    brand = "The minister posted a long message on the WordPress blog of the ministry on Thursday evening again."
    assert trim_inline_notes(brand)[1] is None


@pytest.fixture(scope="module")
def sites_release(tmp_path_factory):
    return first_release(SITES / "raw", tmp_path_factory, "sites")


def test_site_corpus_bars(sites_release):
    scores = score_release(sites_release, SITES / "gold", SITES / "raw")
    print(scores)
    f = scores.figures
    assert f["content_kept"].total >= 390 and f["content_kept"].rate >= 0.99, f["content_kept"].misses
    assert f["boilerplate_removed"].total >= 500 and f["boilerplate_removed"].rate >= 0.95, f["boilerplate_removed"].misses
    assert f["broken_joined"].total >= 100 and f["broken_joined"].rate >= 0.95, f["broken_joined"].misses
    assert f["title"].rate >= 0.9 and f["doc_type"].rate >= 0.9
    assert f["published"].rate >= 0.9 and f["authors"].rate >= 0.85 and f["url"].rate >= 0.9


def test_inspect_shows_each_segment_with_its_reason(sites_release, capsys):
    from pressroom.cli import main

    assert main(["inspect", "117_ambit-small-states", "--releases", str(sites_release.parent)]) == 0
    out = capsys.readouterr().out
    assert "boilerplate (comment_form)" in out and "Leave a Reply" in out
    assert main(["inspect", str(SITES / "raw" / "101_wire-seren-summit.txt")]) == 0
    assert "boilerplate (byline)" in capsys.readouterr().out
    assert main(["inspect", "nope", "--releases", str(sites_release.parent)]) == 2
