from pathlib import Path

import pytest

from pressroom.normalize import normalize_line, normalize_lines, split_lines

RAW = Path(__file__).resolve().parent.parent / "raw"


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("FranÃ§ois Hollande met Putin", "François Hollande met Putin"),  # UTF-8 read as cp1252
        ("[Kremlin.ru](#) 26 November 2015", "Kremlin.ru 26 November 2015"),
        ("Copyright © [Jane Doe](http://example.org/jane), 2015", "Copyright © Jane Doe, 2015"),
        ("![A photo of the summit](/img/a.jpg) The summit", "A photo of the summit The summit"),
        ("It&#39;s <strong>important</strong> &amp; urgent", "It's important & urgent"),
        ("two\u00a0\u00a0spaces  and\ttabs  ", "two spaces and tabs"),
        ("zero\u200bwidth", "zerowidth"),
        ("e\u0301te\u0301", "été"),  # decomposed accents composed (NFC)
        ("“Curly quotes” stay", "“Curly quotes” stay"),
    ],
)
def test_normalize_line(raw, clean):
    assert normalize_line(raw) == clean


def test_prose_with_angle_brackets_is_not_a_tag():
    assert normalize_line("if x < 3 and y > 4") == "if x < 3 and y > 4"


def test_line_numbers_survive_normalisation():
    text = "a\r\nb\rc\n\nd"
    assert split_lines(text) == ["a", "b", "c", "", "d"]
    assert len(normalize_lines(text)) == 5


@pytest.mark.parametrize("path", sorted(RAW.glob("*.txt")), ids=lambda p: p.name)
def test_normalisation_is_idempotent_on_seeds(path):
    once = normalize_lines(path.read_text())
    assert [normalize_line(line) for line in once] == once
    assert len(once) == len(split_lines(path.read_text()))
