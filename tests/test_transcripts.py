"""Transcripts in every label style: the hand-written transcript corpus's
bars, each label style, canonical speakers and Q&A structure."""

from pathlib import Path

import pytest
from conftest import first_release

from pressroom.clean import clean, prepare
from pressroom.ingest import RawDocument
from pressroom.scoring import score_release
from pressroom.turns import assign_turns, is_moderation, parse_label

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "corpus" / "transcripts"


def _turns(text: str, name: str = "t.txt") -> list[dict]:
    return clean(prepare(RawDocument(name.removesuffix(".txt"), name, "0" * 64, text))).turns


@pytest.fixture(scope="module")
def transcripts_release(tmp_path_factory):
    return first_release(TRANSCRIPTS / "raw", tmp_path_factory, "transcripts")


def test_transcript_corpus_bars(transcripts_release):
    scores = score_release(transcripts_release, TRANSCRIPTS / "gold", TRANSCRIPTS / "raw")
    print(scores)
    f = scores.figures
    assert f["turns_found"].total >= 250 and f["turns_found"].rate >= 0.98, f["turns_found"].misses
    assert f["speaker_correct"].rate >= 0.98, f["speaker_correct"].misses
    assert f["answers_linked"].total >= 90 and f["answers_linked"].rate >= 0.95, f["answers_linked"].misses
    assert f["turn_type_correct"].rate >= 0.9, f["turn_type_correct"].misses
    assert scores.extra_turns == []  # no turn from a false label
    assert f["content_kept"].rate >= 0.99 and f["doc_type"].rate == 1.0


BRIEFING = """Press Briefing by Press Secretary Jane Okafor

THE WHITE HOUSE

1:42 P.M. EDT

MS. OKAFOR: Good afternoon. I have one announcement. (Laughter.)

Q    Thank you, Jane. Will the President travel next week?

MS. OKAFOR: He will. The schedule comes tomorrow.

Q    And the summit?

MS. OKAFOR: Next question, please.

END 2:31 P.M. EDT"""


def test_white_house_briefing_style():
    turns = _turns(BRIEFING)
    assert [(t["speaker_label"], t["speaker"], t["turn_type"]) for t in turns] == [
        ("MS. OKAFOR", "Jane Okafor", "statement"),
        ("Q", "Journalist 1", "question"),
        ("MS. OKAFOR", "Jane Okafor", "answer"),
        ("Q", "Journalist 2", "question"),
        ("MS. OKAFOR", "Jane Okafor", "moderation"),
    ]
    assert turns[0]["stage_notes"] == ["(Laughter.)"]
    assert turns[2]["question_id"] == turns[1]["id"]
    assert "END 2:31" not in turns[-1]["text"]


LABEL_ALONE = """Nordic ministers meet the press

Kari Lindqvist:
We agreed on a common position on the Arctic council today.

Question (translated from Swedish):
Will Norway join the statement?

Rasmussen (after Lindqvist):
Yes, our government has agreed, as Minister Anders Rasmussen told you yesterday."""


def test_labels_alone_on_their_line_and_parentheticals():
    turns = _turns(LABEL_ALONE)
    assert [t["speaker_label"] for t in turns] == ["Kari Lindqvist", "Question (translated from Swedish)",
                                                   "Rasmussen (after Lindqvist)"]
    assert turns[0]["text"] == "We agreed on a common position on the Arctic council today."
    assert turns[1]["translated"] and turns[1]["translation_marker"] == "(translated from Swedish)"
    assert turns[2]["speaker"] == "Anders Rasmussen" and turns[2]["turn_type"] == "answer"


BLOCKQUOTE = """What the commissioner said

I keep reading that the commissioner ruled out a cap. He did not.

> Question (translated from French): Will you propose a cap?
>
> Commissioner Dahl: We are ready to look at every option. But let me be clear.

> Henrik Dahl: Before the March European Council.

Notice the last sentence."""


def test_labels_inside_blockquotes():
    turns = _turns(BLOCKQUOTE)
    assert [(t["speaker"], t["turn_type"]) for t in turns] == [
        ("Journalist 1", "question"), ("Henrik Dahl", "answer"), ("Henrik Dahl", "answer")]


def test_interview_q_and_a_resolves_the_interviewee_and_interviewer():
    text = ("Finance Minister Rahel Haile on the budget\n\nInterview by Tomas Keane\n\n"
            "Q: Minister, is the budget balanced?\n\nA: Almost. We close the gap next year.\n\n"
            "Q: And the debt?\n\nA: Falling, slowly.")
    turns = _turns(text)
    assert [t["speaker"] for t in turns] == ["Tomas Keane", "Rahel Haile", "Tomas Keane", "Rahel Haile"]
    assert [t["turn_type"] for t in turns] == ["question", "answer", "question", "answer"]


@pytest.mark.parametrize(
    "text",
    [
        "He said: we will never accept it.",
        "At 4:10 the meeting resumed.",
        "Note: the transcript was edited.",
        "1. Security: the ministers agreed.",
        "Part 2: Questions",
        "June:",
    ],
)
def test_not_labels(text):
    assert parse_label(text) is None


def test_quoted_speech_inside_an_answer_is_no_turn():
    text = ("Joint press conference\n\nChancellor Anna Weber: Thank you. Poland is a partner.\n\n"
            "Question: Did you discuss reparations?\n\nChancellor Anna Weber: As the minister told me: "
            "\"we will talk again\". That is all.")
    assert len(_turns(text)) == 3


def test_resumed_answer_points_to_its_question():
    shapes = assign_turns(
        ["journalist", "head_of_government", "journalist", "head_of_government", "head_of_state"],
        ["Question one?", "My view is that --", "Does that mean yes?", "Please let me finish. -- the rest.", "I answer the interjection."],
        ["J1", "PM", "J2", "PM", "P"],
    )
    assert [s.question_index for s in shapes] == [None, 0, None, 0, 2]


def test_moderation_turns():
    assert is_moderation("Thank you. Next question, please.")
    assert is_moderation("We have time for four questions. Please keep them short.")
    assert not is_moderation("The next question for Europe is energy, and we will answer it with investment in grids.")


def test_speakers_table_in_a_release(seed_release):
    import pyarrow.parquet as pq

    speakers = {r["speaker_id"]: r for r in pq.read_table(seed_release / "speakers.parquet").to_pylist()}
    hollande = speakers["francois-hollande"]
    assert hollande["name"] == "François Hollande" and hollande["role"] == "head_of_state"
    assert hollande["aliases"] == ["Francois Hollande (*retranslated*)", "President of France (*retranslated*)"]
    turns = pq.read_table(seed_release / "turns.parquet").to_pylist()
    assert {t["speaker_id"] for t in turns} == set(speakers)
