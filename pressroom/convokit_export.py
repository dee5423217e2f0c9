"""Export a release's turns as a ConvoKit corpus directory.

ConvoKit's rules, kept here: every id is a string; each conversation (one per
transcript) has exactly one root, whose id is the conversation id; `reply-to`
is JSON null (never NaN) for the root; unnamed questioners ("Journalist 1")
are made unique across conversations by prefixing the document id.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

UTTERANCE_META = ("doc_id", "turn_index", "turn_type", "question_id", "speaker_label",
                  "speaker_role", "translated", "char_start", "char_end")


def _type_name(value) -> list[str]:
    return [str(type(value))]


def speaker_id(turn: dict) -> str:
    return turn["speaker_id"]


def export_convokit(release_dir: Path, out_dir: Path) -> dict:
    """Write utterances.jsonl, speakers.json, conversations.json, corpus.json
    and index.json; returns counts."""
    release_dir, out_dir = Path(release_dir), Path(out_dir)
    turns = pq.read_table(release_dir / "turns.parquet").to_pylist()
    documents = {d["doc_id"]: d for d in pq.read_table(
        release_dir / "documents.parquet", columns=["doc_id", "title", "site", "published", "doc_type"]).to_pylist()}
    manifest = json.loads((release_dir / "manifest.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)

    roots = {t["doc_id"]: t["id"] for t in turns if t["reply_to"] is None}
    utterances, speakers, conversations = [], {}, {}
    for turn in turns:
        meta = {k: turn[k] for k in UTTERANCE_META}
        utterances.append({
            "id": turn["id"], "conversation_id": roots[turn["doc_id"]], "text": turn["text"],
            "speaker": speaker_id(turn), "meta": meta, "reply-to": turn["reply_to"], "timestamp": None,
        })
        speakers.setdefault(speaker_id(turn), {"meta": {"name": turn["speaker"], "role": turn["speaker_role"],
                                                        "title": turn["speaker_title"]}, "vectors": []})
    for doc_id, root in roots.items():
        doc = documents[doc_id]
        conversations[root] = {"meta": {"doc_id": doc_id, "title": doc["title"], "site": doc["site"],
                                        "published": str(doc["published"]) if doc["published"] else None},
                               "vectors": []}

    with open(out_dir / "utterances.jsonl", "w") as handle:
        for utterance in utterances:
            handle.write(json.dumps(utterance, ensure_ascii=False) + "\n")
    (out_dir / "speakers.json").write_text(json.dumps(speakers, ensure_ascii=False))
    (out_dir / "conversations.json").write_text(json.dumps(conversations, ensure_ascii=False))
    corpus_meta = {"name": "pressroom", "release": manifest["version"]}
    (out_dir / "corpus.json").write_text(json.dumps(corpus_meta))
    index = {
        "utterances-index": {k: _type_name(utterances[0]["meta"][k]) for k in UTTERANCE_META} if utterances else {},
        "speakers-index": {"name": _type_name(""), "role": _type_name(""), "title": _type_name("")},
        "conversations-index": {"doc_id": _type_name(""), "title": _type_name(""), "site": _type_name(""), "published": _type_name("")},
        "overall-index": {k: _type_name(v) for k, v in corpus_meta.items()},
        "version": 1,
        "vectors": [],
    }
    (out_dir / "index.json").write_text(json.dumps(index))
    return {"utterances": len(utterances), "speakers": len(speakers), "conversations": len(conversations)}
