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
