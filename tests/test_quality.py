"""The seed bars of the foundation issue, measured by the project's scorer."""

from conftest import RAW, SEED_GOLD
from pressroom.scoring import score_release


def test_seed_bars(seed_release):
    scores = score_release(seed_release, SEED_GOLD, RAW)
    f = scores.figures
    print(scores)
    assert f["content_kept"].total == 204 and f["content_kept"].passed >= 203
    assert f["boilerplate_removed"].total == 39 and f["boilerplate_removed"].passed >= 37
    assert (f["highlights_removed"].passed, f["highlights_removed"].total) == (8, 8)
    assert (f["broken_joined"].passed, f["broken_joined"].total) == (5, 5)
    assert (f["doc_type"].passed, f["doc_type"].total) == (5, 5)
    assert (f["turns_found"].passed, f["turns_found"].total) == (13, 13)
    assert (f["speaker_correct"].passed, f["speaker_correct"].total) == (13, 13)
    assert (f["answers_linked"].passed, f["answers_linked"].total) == (7, 7)
    assert scores.extra_turns == []


def test_scorer_notices_a_wrong_release(seed_release, tmp_path):
    """The scorer must fail a release that keeps boilerplate and drops a turn."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    broken = tmp_path / "broken"
    shutil.copytree(seed_release, broken)
    segments = pq.read_table(broken / "segments.parquet")
    pq.write_table(segments.set_column(segments.schema.get_field_index("status"), "status",
                                       pa.array(["kept"] * segments.num_rows)), broken / "segments.parquet")
    turns = pq.read_table(broken / "turns.parquet")
    pq.write_table(turns.slice(1), broken / "turns.parquet")
    f = score_release(broken, SEED_GOLD, RAW).figures
    assert f["boilerplate_removed"].passed == 0
    assert f["highlights_removed"].passed == 0
    assert f["turns_found"].passed == 12
