from pressroom.highlights import find_repeated_highlights

ORIGINAL = ("I repeat, we did not do any of this because we believed the neighbour to be a friendly state "
            "and simply did not expect an attack from that country. That is why we call it a betrayal.")
OTHER = ("Moreover, we all agree that it is impossible to win without ground operations, and no other "
         "forces exist today that can conduct them except the government army.")
THIRD = ("In this respect, I feel that the government army and its leader are our natural allies. "
         "There may be other forces that talk about fighting terror, but they do nothing.")


def pairs(paragraphs):
    return [(d.index, d.original) for d in find_repeated_highlights(dict(enumerate(paragraphs)))]


def test_shortened_copy_points_to_the_longer_in_context_original():
    copy = ("We believed the neighbour to be a friendly state and did not expect an attack from that country. "
            "That is why we call it a betrayal.")
    assert pairs([ORIGINAL, OTHER, copy]) == [(2, 0)]


def test_copy_placed_before_its_original_still_points_to_the_original():
    copy = "We did not expect an attack from that country. That is why we call it a betrayal."
    assert pairs([copy, OTHER, ORIGINAL]) == [(0, 2)]


def test_copy_merging_two_passages_points_to_the_main_source():
    copy = ("We all agree that it is impossible to win without ground operations, and no other forces exist today "
            "that can conduct them except the government army. There may be other forces that talk about fighting terror.")
    result = find_repeated_highlights(dict(enumerate([OTHER, THIRD, copy])))
    assert [(d.index, d.original) for d in result] == [(2, 0)]
    assert 0.9 <= result[0].similarity <= 1.0


def test_short_legitimate_repetition_is_kept():
    assert pairs(["Thank you very much.", OTHER, "Thank you very much."]) == []


def test_speaker_reusing_a_phrase_in_a_new_sentence_is_kept():
    new = ("Friendly states do not behave like this, and we did not expect an attack, but our answer "
           "will be measured and calm, as it has always been in such situations.")
    assert pairs([ORIGINAL, new]) == []


def test_unrelated_paragraphs_are_kept():
    assert pairs([ORIGINAL, OTHER, THIRD]) == []


def test_two_highlights_of_one_original_do_not_make_it_a_merge():
    first = "I repeat, we did not do any of this because we believed the neighbour to be a friendly state."
    second = "We simply did not expect an attack from that country, and that is why we call it a betrayal."
    original = f"{first} {second} Everyone in the region knows it."
    assert pairs([original, OTHER, first, THIRD, second]) == [(2, 0), (4, 0)]


def test_a_refrain_is_kept():
    refrain = "We shall not give up, we shall not give in, and we shall not forget."
    verse_one = f"The winter was long and the harvest was poor in the north. {refrain}"
    verse_two = f"The factories closed and the young people moved to the cities. {refrain}"
    # each verse holds the refrain; neither verse is a copy of the other
    assert pairs([verse_one, OTHER, verse_two]) == []


def test_a_question_quoting_an_earlier_answer_is_kept_in_a_transcript():
    from pressroom.clean import clean, prepare
    from pressroom.ingest import RawDocument

    text = ("Press conference after the talks in Moscow\n\n"
            "Vladimir Putin: We will not limit ourselves to that. If necessary, we will complement the activity "
            "of our aircraft by fighters and other means, including electronic warfare.\n\n"
            "Question: Mr President, you said: we will not limit ourselves to that. If necessary, we will "
            "complement the activity of our aircraft by fighters. What other means?\n\n"
            "Vladimir Putin: Electronic warfare, for one.")
    result = clean(prepare(RawDocument("t", "t.txt", "0" * 64, text)))
    assert [s["status"] for s in result.segments] == ["kept"] * 4
    assert [t["turn_type"] for t in result.turns] == ["statement", "question", "answer"]


# -- copies set inside a paragraph ------------------------------------------------

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from conftest import first_release  # noqa: E402

from pressroom.highlights import find_inline_copies  # noqa: E402
from pressroom.scoring import score_release  # noqa: E402

HIGHLIGHTS = Path(__file__).resolve().parent / "corpus" / "highlights"
LEAD = "The committee met for three hours on Tuesday evening in the old town hall."
TAIL = "Its report is due in the autumn, after the harvest."
COPY = "We believed the neighbour to be a friendly state and did not expect an attack from that country."


def cut(paragraphs, **kwargs):
    texts = dict(enumerate(paragraphs))
    return [(c.index, c.original, texts[c.index][c.start:c.end]) for c in find_inline_copies(texts, **kwargs)]


def test_shortened_copy_inside_a_paragraph_is_cut_and_points_to_its_original():
    copy = COPY
    result = cut([ORIGINAL, OTHER, f"{LEAD} {copy} {TAIL}"])
    assert result == [(2, 0, copy)]


def test_verbatim_sentence_in_the_middle_is_cut_from_the_later_paragraph_only():
    sentence = "Neither side intends to abandon the treaty now that the climate is changing the river."
    first = f"{LEAD} {sentence} {TAIL}"
    second = f"The mayor spoke next, briefly and without notes. {sentence} Then the meeting closed."
    assert cut([first, OTHER, second]) == [(2, 0, sentence)]


def test_copy_merging_two_paragraphs_is_cut_as_one_run():
    copy = ("We all agree that it is impossible to win without ground operations. "
            "There may be other forces that talk about fighting terror.")
    result = cut([OTHER, THIRD, f"{LEAD} {copy} {TAIL}"])
    assert [(i, text) for i, _, text in result] == [(2, copy)]


def test_a_refrain_ending_paragraphs_is_kept():
    refrain = "We owe this river everything we have, and we will not forget it."
    assert cut([f"{LEAD} {refrain}", OTHER, f"{TAIL} {refrain}"]) == []


def test_a_sentence_said_in_three_paragraphs_is_a_refrain():
    refrain = "We owe this river everything we have, and we will not forget it."
    paragraphs = [f"{LEAD} {refrain} {TAIL}", f"The second verse is about the floods and the lower town. {refrain} Families moved up the hill.", f"{OTHER} {refrain} {THIRD}"]
    assert cut(paragraphs) == []


def test_an_announced_repetition_is_kept():
    copy = COPY
    assert cut([ORIGINAL, f"{LEAD} I will say it again. {copy} {TAIL}"]) == []
    assert cut([ORIGINAL, f"{LEAD} As I said, we believed the neighbour to be a friendly state and did not expect an attack from that country. {TAIL}"]) == []


def test_a_quotation_is_kept():
    assert cut([ORIGINAL, f"{LEAD} “We believed the neighbour to be a friendly state and did not expect an attack from that country,” he said. {TAIL}"]) == []


def test_words_asked_about_are_kept_in_the_paragraph_and_in_its_turn():
    copy = "We did not expect an attack from that country and we call it a betrayal."
    asked = f"Mr President, a follow-up. {copy} What did you expect?"
    assert cut([ORIGINAL, asked]) == []
    statement = f"Mr President, a follow-up on your words. {copy}"
    assert cut([ORIGINAL, statement]) == [(1, 0, copy)]
    assert cut([ORIGINAL, statement], context={1: "What did you expect, then?"}) == []


def test_a_speaker_label_is_never_cut():
    copy = COPY
    labelled = f"Vladimir Putin: {copy} {LEAD} {TAIL}"
    assert cut([ORIGINAL, labelled], fixed={1: len("Vladimir Putin: ")}) == []
    later = f"Vladimir Putin: {LEAD} {copy} {TAIL}"
    assert cut([ORIGINAL, later], fixed={1: len("Vladimir Putin: ")}) == [(1, 0, copy)]


def test_short_runs_and_whole_paragraph_copies_are_left_alone():
    assert cut([ORIGINAL, f"{LEAD} We call it a betrayal. {TAIL}"]) == []  # fewer than ten words
    whole = "We did not expect an attack from that country. That is why we call it a betrayal."
    assert cut([ORIGINAL, whole]) == []  # the whole-paragraph finder's case


def test_cleaning_trims_the_copy_and_records_it():
    from pressroom.clean import clean, prepare
    from pressroom.ingest import RawDocument

    copy = COPY
    text = f"A headline about the talks\n\n{ORIGINAL}\n\n{OTHER}\n\n{LEAD} {copy} {TAIL}"
    result = clean(prepare(RawDocument("t", "t.txt", "0" * 64, text)))
    row = result.segments[-1]
    assert (row["status"], row["reason"], row["removed_text"]) == ("trimmed", "repeated_highlight", copy)
    assert row["duplicate_of"] == 1 and row["similarity"] == 1.0
    assert f"{LEAD} {TAIL}" in result.document["text"]
    assert result.document["text"].count("to be a friendly state") == 1


@pytest.fixture(scope="module")
def highlights_release(tmp_path_factory):
    return first_release(HIGHLIGHTS / "raw", tmp_path_factory, "highlights")


def test_highlight_corpus_bars(highlights_release):
    scores = score_release(highlights_release, HIGHLIGHTS / "gold", HIGHLIGHTS / "raw")
    print(scores)
    f = scores.figures
    assert f["inline_highlights_removed"].total == 4 and f["inline_highlights_removed"].rate == 1.0, \
        f["inline_highlights_removed"].misses
    assert f["repeats_kept"].total == 10 and f["repeats_kept"].rate == 1.0, f["repeats_kept"].misses
    assert f["content_kept"].rate == 1.0 and f["boilerplate_removed"].rate == 1.0


def test_a_trimmed_paragraph_that_is_a_whole_copy_keeps_no_removed_text():
    """Found on the 200 MB benchmark corpus: the glued-caption rule trimmed
    a paragraph that the highlight finder then removed as a whole copy."""
    from pressroom.clean import clean, prepare
    from pressroom.ingest import RawDocument

    copy = ("Both sides said it again in parliament, and he said it again in parliament, and he himself are our "
            "natural allies in the NewsNest app for a country whose government is hosting the Kessaly-Tarsh "
            "ceasefire talks, which were held in.")
    original = f"{copy} Will the President will sign the Rural Broadband Expansion Act in the spring."
    text = f"A headline about the talks\n\n{copy}\n\n{OTHER}\n\n{original}"
    segments = clean(prepare(RawDocument("t", "t.txt", "0" * 64, text))).segments
    assert [s["status"] for s in segments][1] == "duplicate"
    assert all((s["status"] == "trimmed") == (s["removed_text"] is not None) for s in segments)
