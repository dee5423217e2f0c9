"""Group normalised lines into paragraphs, joining sentences broken over lines.

A paragraph is the unit every later stage judges and the row of the
`segments` table.  Each non-blank raw line starts a paragraph unless it
continues the sentence of the previous non-blank line: scrapers break lines
inside sentences (often with a blank line in between), and a joined pair is
one paragraph spanning both raw lines.

The join decision looks only at the two lines (see `continues`):

* the first line must not end a sentence or introduce a block (``.!?:;`` and
  closing quotes or brackets end it);
* the second starts in lower case, or
* the first ends on a word that cannot end an English sentence (an article or
  possessive determiner), or on a preposition/conjunction while the second
  opens with a fragment too short to be a sentence ("talks with" /
  "Francois Hollande? And ...").  A preposition before a full new sentence is
  more often a link whose text the scraper lost, so that is not joined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_BLANK_GAP = 3
"""Blank lines allowed between the two halves of a broken sentence."""

SENTENCE_END = tuple('.!?:;…"”’»)]')
NEVER_FINAL_WORDS = frozenset(
    "the a an our their his her its my your this these those whose every each".split()
)
LINKING_WORDS = frozenset(
    "of with to in for and or but from by at on as than that into about between "
    "against during without under over through nor via".split()
)
FRAGMENT_MAX_WORDS = 3

# An address ends a line without ending a sentence; a new line that starts
# with one ("www.example.org contains ...") starts a new statement.
_ADDRESS_END = re.compile(r"(?:\S+@\S+\.\w+|https?://\S+|www\.\S+)$")
_ADDRESS_START = re.compile(r"(?:https?://|www\.)")
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?:\s|$)")


@dataclass(frozen=True)
class Paragraph:
    """A run of raw lines that form one paragraph after joining."""

    index: int
    lines: tuple[int, ...]  # 1-based raw line numbers of its non-blank lines
    text: str
    blank_before: int  # blank lines before it (leading blanks for the first)
    blank_after: int  # blank lines after it (trailing blanks for the last)

    @property
    def line_start(self) -> int:
        return self.lines[0]

    @property
    def line_end(self) -> int:
        return self.lines[-1]

    @property
    def joined(self) -> bool:
        return len(self.lines) > 1


def _last_word(text: str) -> str:
    words = text.rsplit(None, 1)
    return words[-1].lower() if words else ""


def continues(previous: str, following: str) -> bool:
    """Does `following` continue the sentence that `previous` leaves open?"""
    if not previous or not following or previous.endswith(SENTENCE_END):
        return False
    if _ADDRESS_END.search(previous) or _ADDRESS_START.match(following):
        return False
    first = following[0]
    if first.islower():
        return True
    if not first.isalpha():
        return False
    last = _last_word(previous)
    if last in NEVER_FINAL_WORDS:
        return True
    if last in LINKING_WORDS:
        match = _FIRST_SENTENCE.match(following)
        return bool(match) and len(match.group(1).split()) <= FRAGMENT_MAX_WORDS
    return False


def build_paragraphs(
    lines: Sequence[str],
    starts_paragraph: Callable[[str], bool] = lambda text: False,
) -> list[Paragraph]:
    """Group normalised lines (index = raw line - 1) into paragraphs.

    `starts_paragraph` marks lines that must open a paragraph of their own
    whatever precedes them (speaker labels, for example).
    """
    groups: list[list[int]] = []
    texts: list[str] = []
    blank_runs: list[int] = []  # blank lines before each group
    blanks = 0
    for number, text in enumerate(lines, start=1):
        if not text:
            blanks += 1
            continue
        if (
            groups
            and blanks <= MAX_BLANK_GAP
            and not starts_paragraph(text)
            and continues(texts[-1], text)
        ):
            groups[-1].append(number)
            texts[-1] = f"{texts[-1]} {text}"
        else:
            groups.append([number])
            texts.append(text)
            blank_runs.append(blanks)
        blanks = 0
    blank_runs.append(blanks)
    return [
        Paragraph(
            index=i,
            lines=tuple(group),
            text=texts[i],
            blank_before=blank_runs[i],
            blank_after=blank_runs[i + 1],
        )
        for i, group in enumerate(groups)
    ]
