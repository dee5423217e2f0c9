"""Text normalisation: mojibake repair, Unicode, whitespace and markup residue.

Normalisation works line by line so that every normalised line still maps to
the raw line it came from (the segments table cites raw line numbers).  Joining
hard-broken lines into paragraphs is a separate step (`pressroom.paragraphs`).

ftfy options (recorded in every manifest through `FTFY_OPTIONS`):

* ``unescape_html=False``: entities are decoded by our own markup step, after
  tags are removed, so that ``&lt;b&gt;`` in prose is decoded exactly once and
  never turned into a tag that is then stripped.
* ``fix_line_breaks=False``: line structure belongs to the raw file; CR and
  CRLF are handled when the file is split into lines.
* ``uncurl_quotes=False``: typographic quotes are content; researchers match
  quotations on them.
* ``normalization="NFC"``: NFC composes accents without folding compatibility
  characters (NFKC would turn "½" into "1⁄2" and superscripts into digits).
* everything else at ftfy's defaults: fix encodings (the mojibake repair),
  Latin ligatures, full-width characters, C1 controls, surrogates, terminal
  escapes, control characters.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import ftfy

FTFY_OPTIONS: dict[str, object] = {
    "unescape_html": False,
    "fix_line_breaks": False,
    "uncurl_quotes": False,
    "normalization": "NFC",
    "remove_terminal_escapes": True,
    "fix_encoding": True,
    "restore_byte_a0": True,
    "replace_lossy_sequences": True,
    "decode_inconsistent_utf8": True,
    "fix_c1_controls": True,
    "fix_latin_ligatures": True,
    "fix_character_width": True,
    "fix_surrogates": True,
    "remove_control_chars": True,
    "explain": False,
}
_FTFY_CONFIG = ftfy.TextFixerConfig(**FTFY_OPTIONS)

# Markdown link or image residue: [text](target) or ![alt](target).  The link
# text is content, the target is not.
_MD_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
# A bare "(#)" or "[](#)" left behind when the link text was empty.
_EMPTY_LINK = re.compile(r"\[\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|<!--.*?-->")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_OTHER_SPACES = "\t\u00a0\u2000-\u200a\u202f\u205f\u3000"  # a character class's inside
_SPACES = re.compile(f"[ {_OTHER_SPACES}]+")
# What `_SPACES` changes: a space other than " ", or a run of two (a line
# without either has single " " between words, which stay as they are).
_ODD_SPACES = re.compile(f"[{_OTHER_SPACES}]|  ")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# Printable ASCII and the commonest typographic punctuation (curly quotes,
# dashes, ellipsis): ftfy and NFC leave a line of these characters as it
# is.  No control character, ligature, wide form, combining mark or Latin-1
# letter is among them, and mojibake cannot be read into them: the single-
# byte encodings ftfy tries (`ftfy.chardata.CHARMAP_ENCODINGS`) either lack
# them or give them bytes that are all UTF-8 continuation bytes (0x80-0xBF,
# the Windows code pages) or all UTF-8 lead bytes (0xC9-0xD5, Mac Roman),
# never a lead followed by a continuation: the bytes decode to no UTF-8.
# tests/test_fast_paths.py checks this against ftfy itself.
_NOT_FTFY_STABLE = re.compile("[^\x20-\x7e’‘“”–—…]")


def fix_encoding(line: str) -> str:
    """Repair mojibake and Unicode oddities with ftfy, then compose to NFC.

    Pure-ASCII lines cannot hold mojibake, so they skip ftfy (its slowest
    path); only control characters need removing there.  Nor do lines of
    ASCII and curly quotes or dashes (`_NOT_FTFY_STABLE`), which ftfy returns
    unchanged.
    """
    if line.isascii():
        return _CONTROL.sub("", line)
    if not _NOT_FTFY_STABLE.search(line):
        return line
    return unicodedata.normalize("NFC", ftfy.fix_text(line, _FTFY_CONFIG))


def strip_markup(line: str) -> str:
    """Turn markup residue into plain text: links keep their text, tags go,
    entities are decoded once."""
    if "[" in line and "](" in line:
        line = _EMPTY_LINK.sub("", line)
        line = _MD_LINK.sub(lambda m: m.group(1), line)
    if "<" in line:
        line = _HTML_TAG.sub("", line)
    if "&" in line and _ENTITY.search(line):
        line = html.unescape(line)
    return line


def normalize_whitespace(line: str) -> str:
    """One ASCII space between words, none at the ends, no zero-width marks."""
    line = _ZERO_WIDTH.sub("", line)
    if _ODD_SPACES.search(line):
        line = _SPACES.sub(" ", line)
    return line.strip()


MAX_NORMALIZE_PASSES = 4
_MAY_CHANGE_AGAIN = re.compile(r"[\[<&*_]|[^\x00-\x7f]")


def _normalize_once(line: str) -> str:
    return normalize_whitespace(strip_markup(fix_encoding(line)))


def normalize_line(line: str) -> str:
    """The full per-line normalisation: encoding, markup, whitespace.

    Idempotent: one step can expose work for another (a repaired character
    that is a '<', a removed tag that joined two halves of mojibake), so the
    steps repeat until nothing changes.  Plain ASCII without markup
    characters is final after one pass."""
    for _ in range(MAX_NORMALIZE_PASSES):
        fixed = _normalize_once(line)
        if fixed == line or not _MAY_CHANGE_AGAIN.search(fixed):
            return fixed
        line = fixed
    return line


# --- structure -----------------------------------------------------------------
#
# Markdown and HTML structure is read off each raw line before its markup is
# stripped: the paragraph builder and the boilerplate rules need to know that
# a line was a heading, a list item, a block quote or an image, even though
# the plain text keeps none of the markers.

_QUOTE_PREFIX = re.compile(r"^(?:>\s?)+")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)(?:\s+#+)?$")
_LIST_ITEM = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+\S")
_BULLET = re.compile(r"^[-*+•]\s+")
_IMAGE_LINE = re.compile(r"^!\[([^\]]*)\]\([^)]*\)\s*$")
_EMBED = re.compile(r"^\s*(?:<(?:iframe|figure|img|video|audio|script|embed|object|div|source|picture|noscript|style)\b|\{\{[<%])", re.I)
_EMPHASIS = re.compile(r"(?<![(\w*])(\*{1,2}|_{1,2})(?=\S)(.+?)(?<=\S)\1(?![)\w*])")


@dataclass(frozen=True)
class Line:
    """One raw line after normalisation, with the structure its markup showed."""

    text: str  # plain text; "" for a blank line
    kind: str  # text, heading, quote, list, table, image, embed, markup, rule, front_matter, blank
    indent: int = 0  # leading spaces of the raw line (list continuations)


# "Q    Thank you." : a questioner label with no colon, set off by spaces
_SPACED_Q_LABEL = re.compile(r"^(\s*(?:>\s?)*)(Q|QUESTION|A)(?:\s{2,}|\t+)(?=\S)")


_MARKUP_CHAR = re.compile(r"[\[<&*_>|#{]")
"""The characters markup starts with."""
_ALNUM = re.compile(r"[^\W_]")
_BLANK = Line("", "blank")


def _plain(raw: str) -> bool:
    """Plain printable ASCII prose: no other character (tabs, non-ASCII; an
    ASCII character is printable from " " to "~"), no run of spaces, no
    character markup starts with."""
    return raw.isascii() and raw.isprintable() and "  " not in raw and not _MARKUP_CHAR.search(raw)


def classify_line(raw: str) -> Line:
    """Normalise one raw line and say what kind of line it was."""
    if _plain(raw):
        # most lines: no encoding, markup or spacing work, only the kind
        body = raw.strip(" ")
        if not body:
            return _BLANK  # frozen: one for every blank line
        indent = len(raw) - len(raw.lstrip(" "))
        if not _ALNUM.search(body):
            return Line(body, "rule", indent)
        if _LIST_ITEM.match(body):
            return Line(_BULLET.sub("", body), "list", indent)
        return Line(body, "text", indent)
    fixed = _SPACED_Q_LABEL.sub(r"\1\2: ", fix_encoding(raw))
    indent = len(fixed) - len(fixed.lstrip(" \t"))
    body = fixed.strip()
    if not body:
        return _BLANK
    kind = "text"
    if body[:1] == ">" and not body.lstrip("> "):
        return Line("", "quote", indent)  # an empty quoted line: part of the quote around it
    if body.startswith("|") and body.endswith("|") and body.count("|") >= 3:
        return Line(normalize_whitespace(strip_markup(body)), "table", indent)  # a Markdown table row
    if not _ALNUM.search(body):
        return Line(body, "rule", indent)  # a separator line: no letter, no digit
    if _EMBED.match(body):
        # a tag alone is an embed; a tag glued to text is residue on a content line
        rest = normalize_whitespace(strip_markup(body))
        kind = "image" if body[:11].lower() == "<figcaption" else ("embed" if not rest or body.startswith("{{") else "text")
    elif (quote := _QUOTE_PREFIX.match(body)) and body[:1] == ">":
        body, kind = body[quote.end():].strip(), "quote"
    elif heading := _HEADING.match(body):
        body, kind = heading.group(1), "heading"
    elif image := _IMAGE_LINE.match(body):
        body, kind = image.group(1), "image"
    elif _LIST_ITEM.match(body):
        body, kind = _BULLET.sub("", body), "list"
    text = normalize_whitespace(strip_markup(body))
    if "*" in text or "_" in text:
        text = _EMPHASIS.sub(lambda m: m.group(2), text)
    if text != fixed:
        # what was cut (the ends' spaces, markup, a prefix) may have hidden
        # mojibake or an entity from the repair: '\xa0Ã©' is 'Ã©' once stripped
        text = normalize_line(text)
    if not text:  # markup only (an empty tag, an embed): keep it visible
        return Line(normalize_whitespace(body) or "?", "markup" if kind == "text" else kind, indent)
    return Line(text, kind, indent)


def split_lines(text: str) -> list[str]:
    """Split raw text into lines the way the gold files count them.

    Lines are split on LF; a CR before the LF (CRLF) is dropped, and a lone CR
    (old Mac line endings) also ends a line.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalize_lines(text: str) -> list[str]:
    """Normalise every line of a raw text; the list index is the raw line - 1."""
    return [line.text for line in classify_lines(text)]


def classify_lines(text: str) -> list[Line]:
    """Every raw line, normalised and classified; front matter marked."""
    from pressroom.frontmatter import front_matter_span

    raw_lines = split_lines(text)
    lines = [classify_line(line) for line in raw_lines]
    span = front_matter_span(raw_lines)
    if span:
        first, last = span
        for i in range(first, last + 1):
            if raw_lines[i].strip():
                lines[i] = Line(normalize_whitespace(fix_encoding(raw_lines[i])), "front_matter")
    return lines
