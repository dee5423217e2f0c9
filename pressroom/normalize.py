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
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def fix_encoding(line: str) -> str:
    """Repair mojibake and Unicode oddities with ftfy, then compose to NFC.

    Pure-ASCII lines cannot hold mojibake, so they skip ftfy (its slowest
    path); only control characters need removing there.
    """
    if line.isascii():
        return _CONTROL.sub("", line)
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
    return _SPACES.sub(" ", line).strip()


def normalize_line(line: str) -> str:
    """The full per-line normalisation: encoding, markup, whitespace."""
    return normalize_whitespace(strip_markup(fix_encoding(line)))


def split_lines(text: str) -> list[str]:
    """Split raw text into lines the way the gold files count them.

    Lines are split on LF; a CR before the LF (CRLF) is dropped, and a lone CR
    (old Mac line endings) also ends a line.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalize_lines(text: str) -> list[str]:
    """Normalise every line of a raw text; the list index is the raw line - 1."""
    return [normalize_line(line) for line in split_lines(text)]
