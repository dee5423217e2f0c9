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

from pressroom.normalize import Line

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
    kind: str = "text"  # the kind of its first line (see normalize.Line)

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
    last = _last_word(previous)
    if first.isdigit() and last in NEVER_FINAL_WORDS:
        return True  # "since the" / "1970s."
    if not first.isalpha():
        return False
    if last in NEVER_FINAL_WORDS:
        return True
    if last in LINKING_WORDS:
        match = _FIRST_SENTENCE.match(following)
        return bool(match) and len(match.group(1).split()) <= FRAGMENT_MAX_WORDS
    return False


# --- hard wrapping -------------------------------------------------------------

WRAP_MIN_PAIRS = 4
WRAP_MEDIAN_MIN = 40
WRAP_WIDTH_MAX = 100
_STANDALONE = frozenset({"heading", "image", "embed", "markup", "list", "rule", "table"})


WRAP_SLACK = 2
WRAP_NEAR_WIDTH = 0.7


def wrap_width(lines: Sequence[Line]) -> int | None:
    """The column a hard-wrapped text is wrapped at, or None when it is not.

    In a wrapped text many lines run close to one width and almost no line
    is longer: the text lines followed directly by another text line give
    the width (their 90th percentile), and at least half of them, and six
    or more, must come near it."""
    followed = [len(a.text) for a, b in zip(lines, lines[1:]) if a.kind == "text" and b.kind == "text"]
    if len(followed) < WRAP_MIN_PAIRS:
        return None
    followed.sort()
    width = followed[min(len(followed) - 1, int(len(followed) * 0.9))]
    if not WRAP_MEDIAN_MIN <= width <= WRAP_WIDTH_MAX:
        return None
    near = sum(n >= WRAP_NEAR_WIDTH * width for n in followed)
    all_text = [len(line.text) for line in lines if line.kind == "text"]
    overlong = sum(n > width + 10 for n in all_text)
    if near < 6 or near < len(followed) / 2 or overlong > 0.1 * len(all_text):
        return None
    return width


def _adjacent_joins(previous: Line, line: Line, width: float | None) -> bool:
    """May two lines with no blank line between them be one paragraph?

    List items take their indented continuation lines, quoted lines join
    quoted lines; in soft-wrapped text (Markdown) adjacent text lines are
    one paragraph; in hard-wrapped text a line joins the next when the next
    word would not have fitted on it."""
    if previous.kind == "list":
        return line.kind == "text" and line.indent > 0
    if previous.kind in ("quote", "table") or line.kind in ("quote", "table"):
        return previous.kind == line.kind
    if width is None or previous.kind != "text" or line.kind != "text":
        return False
    if width == float("inf"):
        return True
    next_word = len(line.text.split(None, 1)[0])
    return len(previous.text) + 1 + next_word > width - WRAP_SLACK


def build_paragraphs(
    lines: Sequence[Line | str],
    starts_paragraph: Callable[[str], bool] = lambda text: False,
    soft_wrapped: bool = False,
) -> list[Paragraph]:
    """Group normalised lines (index = raw line - 1) into paragraphs.

    `starts_paragraph` marks lines that must open a paragraph of their own
    whatever precedes them (speaker labels, for example).  `soft_wrapped`
    says that adjacent lines belong to one paragraph (Markdown); otherwise
    hard wrapping is detected from the line lengths (`wrap_width`).
    """
    lines = [line if isinstance(line, Line) else Line(line, "text" if line else "blank") for line in lines]
    width = float("inf") if soft_wrapped else wrap_width(lines)
    groups: list[list[int]] = []
    texts: list[list[str]] = []  # each group's line texts, joined once at the end
    kinds: list[str] = []
    blank_runs: list[int] = []  # blank lines before each group
    blanks = 0
    previous: Line | None = None
    for number, line in enumerate(lines, start=1):
        if line.kind == "blank":
            blanks += 1
            continue
        if groups and _joins(previous, line, blanks, width, starts_paragraph):
            groups[-1].append(number)
            texts[-1].append(line.text)
        else:
            groups.append([number])
            texts.append([line.text])
            kinds.append(line.kind)
            blank_runs.append(blanks)
        blanks = 0
        previous = line
    blank_runs.append(blanks)
    return [
        Paragraph(
            index=i,
            lines=tuple(group),
            # front matter lines join front matter lines only (`_joins`); empty texts are left out
            text=(" | " if kinds[i] == "front_matter" else " ").join(filter(None, texts[i]))
            or ">",  # a paragraph of empty quoted lines only
            blank_before=blank_runs[i],
            blank_after=blank_runs[i + 1],
            kind=kinds[i],
        )
        for i, group in enumerate(groups)
    ]


def _joins(previous: Line, line: Line, blanks: int, width, starts_paragraph) -> bool:
    if previous.kind == "front_matter" or line.kind == "front_matter":
        return previous.kind == line.kind
    if previous.kind == line.kind == "table":
        return blanks == 0
    if line.kind in _STANDALONE or previous.kind in _STANDALONE - {"list"}:
        return False
    joins = ((blanks == 0 and _adjacent_joins(previous, line, width))
             or (blanks <= MAX_BLANK_GAP and previous.kind == line.kind and continues(previous.text, line.text)))
    return joins and not starts_paragraph(line.text)  # asked last: the boilerplate rules cost most
