"""Every kind of bad input gets a clear outcome and the build completes for
the rest: a `rejects` row (file, reason, sha256) or a repaired document whose
`repairs` say what was done.  The list here is the one in the README."""

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pressroom.ingest import ingest, read_document

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = (ROOT / "raw" / "004_bba586f07c384d09.txt").read_text()

HTML_PAGE = """<!DOCTYPE html><html><head><title>Summit ends with a deal</title>
<script>var tracking = 1;</script><style>p {color: red}</style></head>
<body><nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<h1>Summit ends with a deal</h1><p>The ministers agreed on Friday to share water data, officials said.</p>
<p>&ldquo;It is a start,&rdquo; said the host.</p><form>Subscribe</form></body></html>"""


def bad_inputs(raw: Path, outside: Path) -> dict[str, str]:
    """Write every bad input; returns file name -> expected outcome."""
    (raw / "good.txt").write_text(ARTICLE)
    (raw / "empty.txt").write_bytes(b"")
    (raw / "whitespace.txt").write_bytes(b" \n\t\n  \r\n")
    (raw / "binary.png").write_bytes(bytes(range(256)) * 40)
    (raw / "nul-bytes.txt").write_bytes(ARTICLE.encode()[:400] + b"\x00" + ARTICLE.encode()[400:])
    (raw / "latin1.txt").write_bytes("Le président Hollande a rencontré M. Poutine à Moscou.".encode("latin-1"))
    (raw / "cp1252.txt").write_bytes("“Smart quotes” – and a dash, said the minister.".encode("cp1252"))
    (raw / "utf16.txt").write_bytes("Die Kanzlerin sprach über Syrien.".encode("utf-16"))
    (raw / "mixed-endings.txt").write_bytes(b"Title line\r\n\r\nFirst paragraph ends here.\rSecond one\nends here.")
    (raw / "one-long-line.txt").write_bytes(b"word " * 10_500_000)  # 52.5 MB on one line
    (raw / "page.html").write_text(HTML_PAGE)
    (raw / "copy of good.txt").write_text(ARTICLE)
    (raw / "naïve name with spaces.txt").write_text("Ein Artikel über den Gipfel, mit Umlauten.")
    (outside / "secret.txt").write_text("outside the raw root")
    (raw / "escape.txt").symlink_to(outside / "secret.txt")
    (raw / "inside-link.txt").symlink_to(raw / "good.txt")
    return {
        "empty.txt": "reject:empty file",
        "whitespace.txt": "reject:whitespace only",
        "binary.png": "reject:binary data",
        "one-long-line.txt": "reject:a line of 52,500,000 bytes",
        "escape.txt": "reject:symlink to",
        "nul-bytes.txt": "repair:dropped 1 NUL byte",
        "latin1.txt": "repair:decoded as cp1252",
        "cp1252.txt": "repair:decoded as cp1252",
        "utf16.txt": "repair:decoded as UTF-16",
        "mixed-endings.txt": "repair:line endings normalised",
        "page.html": "repair:extracted the text from HTML",
        "good.txt": "ok", "copy of good.txt": "ok", "naïve name with spaces.txt": "ok", "inside-link.txt": "ok",
    }


@pytest.fixture(scope="module")
def bad_release(tmp_path_factory):
    from flows.build import build_release

    base = tmp_path_factory.mktemp("bad")
    raw, outside = base / "raw", base / "outside"
    raw.mkdir(), outside.mkdir()
    expected = bad_inputs(raw, outside)
    summary = build_release(str(raw), str(base / "releases"))
    return base / "releases" / summary["version"], raw, expected


def test_every_bad_input_has_a_clear_outcome(bad_release):
    release, raw, expected = bad_release
    documents = {d["source_path"]: d for d in pq.read_table(release / "documents.parquet").to_pylist()}
    rejects = {r["source_path"]: r for r in pq.read_table(release / "rejects.parquet").to_pylist()}
    assert set(documents) | set(rejects) == set(expected)
    for name, outcome in expected.items():
        kind, _, detail = outcome.partition(":")
        if kind == "reject":
            assert name in rejects and rejects[name]["reason"].startswith(detail), (name, rejects.get(name))
        else:
            assert name in documents, (name, rejects.get(name))
            if kind == "repair":
                assert any(r.startswith(detail) for r in documents[name]["repairs"]), (name, documents[name]["repairs"])
    assert rejects["empty.txt"]["source_sha256"] == hashlib.sha256(b"").hexdigest()
    assert rejects["escape.txt"]["source_sha256"] is None  # never read


def test_repaired_text_is_right(bad_release):
    release, _, _ = bad_release
    texts = {d["source_path"]: d for d in pq.read_table(release / "documents.parquet").to_pylist()}
    assert "président Hollande a rencontré" in texts["latin1.txt"]["text"]
    assert texts["cp1252.txt"]["text"].startswith("“Smart quotes” – and a dash")
    assert texts["utf16.txt"]["text"] == "Die Kanzlerin sprach über Syrien."
    page = texts["page.html"]
    assert page["title"] == "Summit ends with a deal"
    assert "share water data" in page["text"] and "tracking" not in page["text"] and "Subscribe" not in page["text"]
    assert "\x00" not in texts["nul-bytes.txt"]["text"]
    assert texts["naïve name with spaces.txt"]["doc_id"] == "naïve name with spaces"


def test_the_same_file_twice_is_flagged_as_exact_duplicate(bad_release):
    release, _, _ = bad_release
    docs = {d["source_path"]: d for d in pq.read_table(release / "documents.parquet").to_pylist()}
    a, b = docs["good.txt"], docs["copy of good.txt"]
    assert a["source_sha256"] == b["source_sha256"] and a["cluster_id"] == b["cluster_id"]
    assert {a["duplicate_kind"], b["duplicate_kind"]} == {"canonical", "exact"}


def test_a_file_that_disappears_or_cannot_be_read(tmp_path, monkeypatch):
    (tmp_path / "gone.txt").write_text("text")
    path = tmp_path / "gone.txt"
    path.unlink()
    assert read_document(tmp_path, path).reason == "unreadable: No such file or directory"
    (tmp_path / "locked.txt").write_text("text")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)  # root ignores chmod 000: simulate the OS refusing
    assert read_document(tmp_path, tmp_path / "locked.txt").reason == "unreadable: Permission denied"


def test_a_file_changing_during_the_build_is_used_as_read(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("First version of the article, as it was read.")
    real = Path.read_bytes

    def read_then_change(self):
        data = real(self)
        self.write_text("A second version written while the build runs.")
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_change)
    documents, _ = ingest(tmp_path)
    assert documents[0].text.startswith("First version")
    assert documents[0].source_sha256 == hashlib.sha256(b"First version of the article, as it was read.").hexdigest()


def test_the_report_lists_rejects(bad_release):
    release, _, _ = bad_release
    page = (release / "report.html").read_text()
    assert "escape.txt" in page and "symlink to" in page
