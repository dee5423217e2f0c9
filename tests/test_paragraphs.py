from pressroom.paragraphs import build_paragraphs, continues


def test_lowercase_continuation_across_blank_line_is_joined():
    paragraphs = build_paragraphs(["History shows that such actions backfire on those who", "", "abet criminals."])
    assert len(paragraphs) == 1
    assert paragraphs[0].lines == (1, 3)
    assert paragraphs[0].text == "History shows that such actions backfire on those who abet criminals."


def test_separate_sentences_stay_apart():
    paragraphs = build_paragraphs(["The talks ended.", "", "Both sides agreed."])
    assert [p.lines for p in paragraphs] == [(1,), (3,)]


def test_colon_introducing_a_block_quote_is_not_a_break():
    assert not continues("Putin pointed out the obvious:", "regarding the aircraft, this is not possible")


def test_determiner_at_line_end_always_continues():
    assert continues("incidents such as the death of our", "Servicemen were killed")


def test_preposition_before_a_short_fragment_continues():
    assert continues("did you discuss Turkey during your talks with", "Francois Hollande? And what about the rest?")


def test_preposition_before_a_full_sentence_is_a_lost_link_not_a_break():
    assert not continues(
        "said John Pike, a security expert and director of",
        "Russia and the U.S. have had vastly different targeting philosophies, he said.",
    )


def test_addresses_do_not_join():
    assert not continues("contact: press@example.org", "www.example.org contains copyrighted material")


def test_label_lines_always_start_a_paragraph():
    lines = ["The minister said that the", "Q: when will it end?"]
    assert len(build_paragraphs(lines, starts_paragraph=lambda t: t.startswith("Q:"))) == 2
    assert len(build_paragraphs(lines)) == 1


def test_blank_runs_are_recorded():
    paragraphs = build_paragraphs(["", "A.", "", "", "B.", ""])
    assert (paragraphs[0].blank_before, paragraphs[0].blank_after) == (1, 2)
    assert (paragraphs[1].blank_before, paragraphs[1].blank_after) == (2, 1)
