"""Downstream tools load a release: Hugging Face datasets through the card's
configs, Croissant validated by mlcroissant, and the ConvoKit export."""

import json
import os

import pytest

TRANSCRIPT = "001_3bccebe78fcd7704"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


def test_hugging_face_datasets_loads_each_table(seed_release):
    from datasets import load_dataset

    turns = load_dataset(str(seed_release), "turns", split="train")
    assert turns.num_rows == 13
    first = next(t for t in turns if t["id"] == f"{TRANSCRIPT}:0")
    assert first["speaker"] == "Vladimir Putin" and first["turn_type"] == "statement"
    documents = load_dataset(str(seed_release), "documents", split="train")
    assert documents.num_rows == 5
    segments = load_dataset(str(seed_release), "segments", split="train")
    assert segments.num_rows == json.loads((seed_release / "manifest.json").read_text())["tables"]["segments"]["rows"]


def test_croissant_metadata_validates_and_reads(seed_release):
    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=str(seed_release / "croissant.json"))
    assert {rs.name for rs in dataset.metadata.record_sets} == {"documents", "segments", "turns", "speakers", "quotes", "rejects"}
    records = list(dataset.records("turns"))
    assert len(records) == 13
    speakers = {r["turns/speaker"].decode() if isinstance(r["turns/speaker"], bytes) else r["turns/speaker"] for r in records}
    assert "Vladimir Putin" in speakers


def test_convokit_export_follows_convokit_rules(seed_release, tmp_path):
    from pressroom.convokit_export import export_convokit

    out = tmp_path / "corpus"
    counts = export_convokit(seed_release, out)
    assert counts == {"utterances": 13, "speakers": 6, "conversations": 1}
    utterances = [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]
    ids = {u["id"] for u in utterances}
    roots = [u for u in utterances if u["reply-to"] is None]
    assert len(roots) == 1 and roots[0]["conversation_id"] == roots[0]["id"]
    assert all(isinstance(u["id"], str) and isinstance(u["speaker"], str) for u in utterances)
    assert all(u["reply-to"] in ids for u in utterances if u["reply-to"] is not None)
    assert "NaN" not in (out / "utterances.jsonl").read_text()
    speakers = json.loads((out / "speakers.json").read_text())
    assert {u["speaker"] for u in utterances} == set(speakers)
    assert f"{TRANSCRIPT}:journalist-1" in speakers
    conversations = json.loads((out / "conversations.json").read_text())
    assert list(conversations) == [roots[0]["id"]]
    index = json.loads((out / "index.json").read_text())
    assert set(index) >= {"utterances-index", "speakers-index", "conversations-index", "overall-index", "version"}
