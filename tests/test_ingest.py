from pressroom.ingest import doc_id_for, ingest


def test_ingest_records_bad_files_and_goes_on(tmp_path):
    (tmp_path / "good.txt").write_text("Hello world.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Le président François Hollande a parlé.".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"  \n\n")
    (tmp_path / "binary.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (tmp_path / ".hidden").write_text("skip me")
    documents, rejects = ingest(tmp_path)
    assert [d.doc_id for d in documents] == ["good", "latin1"]
    latin1 = documents[1]
    assert latin1.text == "Le président François Hollande a parlé."
    assert latin1.repairs[0].startswith("decoded as cp1252: not valid UTF-8 (byte 0xe9")
    reasons = {r.source_path: r.reason for r in rejects}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.txt"] == "whitespace only"
    assert reasons["binary.bin"].startswith("binary data")
    assert all(len(r.source_sha256) == 64 for r in rejects)


def test_doc_ids_are_stable_paths():
    assert doc_id_for("000_cb617dc5205fe770.txt") == "000_cb617dc5205fe770"
    assert doc_id_for("site/a.md") == "site/a.md"
    assert doc_id_for("odd:name.txt") == "odd%3Aname"


def test_utf8_bom_is_dropped(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffHello".encode("utf-8"))
    documents, _ = ingest(tmp_path)
    assert documents[0].text == "Hello" and documents[0].repairs == ()
