"""Derived per-segment files (search/backend/whoosh/vocabulary.py): written with each commit, read instead of
the term tables at a start, equal to what the segments say, rebuilt when damaged, removed with their segment."""
from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO

from search.backend.whoosh import vocabulary
from search.config import load_config
from search.engine import Engine
from search.index.fields import SURFACE_FIELD
from search.index.indexer import Indexer

QUERIES = ["Garantie", "Bahnstreik Berlin", "Hochwasser Köln", "Sicherheitsgarantien", "Bahnstreiks", "Strom*"]


def _answers(engine: Engine) -> list:
    out = []
    for q in [*QUERIES, "Bahnstreck", "Hochwaser"]:  # the last two: did-you-mean walks the vocabularies
        r = engine.search(q, size=20, highlight=False)
        out.append((q, r["total"], [h["id"] for h in r["hits"]], r.get("suggestion")))
    out.append(engine.suggest("Bah"))
    return out


def _segments(index_dir: Path) -> list:
    engine = Engine(index_dir)
    try:
        return [(segid, leaf) for segid, leaf, _ in engine.backend.snapshot().segments]
    finally:
        engine.close()


def _is_union(path: Path) -> bool:
    return path.name.startswith(f"{vocabulary.UNION}.")


def _assert_union(index_dir: Path) -> None:
    """One word union beside the index, for its segments, holding exactly their words."""
    unions = [p for p in (index_dir / vocabulary.DERIVED).iterdir() if _is_union(p)]
    assert len(unions) == 1
    segments = _segments(index_dir)
    words = vocabulary.saved_union(index_dir, [segid for segid, _ in segments])
    assert words is not None
    assert words == sorted(set().union(*(vocabulary.read_vocabulary(leaf, SURFACE_FIELD).words()
                                         for _, leaf in segments)))


@pytest.fixture()
def index_dir(tmp_path) -> Path:
    config = load_config(index_dir=tmp_path / "ix")
    config.data["indexing"].update(batch_size=20)  # several commits, several segments
    Indexer(config).index_paths([DEMO])
    return tmp_path / "ix"


def test_each_segment_has_its_vocabulary_file_and_it_is_the_segments(index_dir):
    engine = Engine(index_dir)
    try:
        snap = engine.backend.snapshot()
        files = sorted(p.name for p in (index_dir / vocabulary.DERIVED).iterdir() if not _is_union(p))
        assert files == sorted(f"{segid}.{SURFACE_FIELD}.vocab.npz" for segid, _, _ in snap.segments)
        for segid, leaf, _ in snap.segments:
            saved = vocabulary.load_vocabulary(index_dir, segid, leaf, SURFACE_FIELD)
            fresh = vocabulary.read_vocabulary(leaf, SURFACE_FIELD)
            assert saved.words() == fresh.words() == sorted(t.decode() for t in leaf.lexicon(SURFACE_FIELD))
            assert np.array_equal(saved.df, fresh.df)
            assert [saved.term(i) for i in range(len(saved))] == list(leaf.lexicon(SURFACE_FIELD))
    finally:
        engine.close()


def test_answers_are_the_same_without_the_files_or_with_damaged_ones(index_dir, tmp_path):
    engine = Engine(index_dir)
    with_files = _answers(engine)
    engine.close()
    bare = tmp_path / "bare"
    shutil.copytree(index_dir, bare)
    shutil.rmtree(bare / vocabulary.DERIVED)
    engine = Engine(bare)
    assert _answers(engine) == with_files
    engine.close()
    assert sorted(p.name for p in (bare / vocabulary.DERIVED).iterdir() if not _is_union(p)) == \
        sorted(p.name for p in (index_dir / vocabulary.DERIVED).iterdir() if not _is_union(p)), \
        "a reader writes what is missing"
    for path in (bare / vocabulary.DERIVED).iterdir():
        path.write_bytes(b"not a numpy file")
    engine = Engine(bare)
    assert _answers(engine) == with_files
    engine.close()


def test_a_read_only_index_directory_still_answers(index_dir, tmp_path):
    engine = Engine(index_dir)
    expected = _answers(engine)
    engine.close()
    shutil.rmtree(index_dir / vocabulary.DERIVED)
    if os.geteuid() == 0:
        (index_dir / vocabulary.DERIVED).write_text("a file where the directory would go")
    else:
        os.chmod(index_dir, 0o555)
    try:
        engine = Engine(index_dir)
        assert _answers(engine) == expected
        engine.close()
    finally:
        os.chmod(index_dir, 0o755)


def test_files_of_merged_segments_are_removed(index_dir):
    before = {segid for segid, _ in _segments(index_dir)}
    assert len(before) > 1
    Indexer(load_config(index_dir=index_dir)).compact()
    after = {segid for segid, _ in _segments(index_dir)}
    assert len(after) < len(before) and before - after
    assert sorted(p.name for p in (index_dir / vocabulary.DERIVED).iterdir() if not _is_union(p)) == \
        sorted(f"{segid}.{SURFACE_FIELD}.vocab.npz" for segid in after)
    _assert_union(index_dir)  # built again from the segments there are now


def test_check_full_finds_a_derived_file_that_lies(index_dir):
    from search.backend.whoosh.check import inspect_index
    assert inspect_index(index_dir, sample_terms=None).ok
    segid, leaf = _segments(index_dir)[0]
    path = index_dir / vocabulary.DERIVED / f"{segid}.{SURFACE_FIELD}.vocab.npz"
    with np.load(path) as saved:
        blob, df = saved["blob"], saved["df"].copy()
    df[0] += 1
    with open(path, "wb") as f:
        np.savez(f, format=np.int32(vocabulary.FORMAT), blob=blob, df=df)
    report = inspect_index(index_dir, sample_terms=None)
    assert not report.ok and any(segid in p and "derived vocabulary" in p for p in report.problems)


def test_the_word_union_is_the_segments_words_after_each_kind_of_commit(index_dir, tmp_path):
    _assert_union(index_dir)  # batches added
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "neu-1", "title": "Wasserstoffzug", "body": "Ein Wasserstoffzug fährt nach '
                     'Quakenbrück.", "language": "de"}\n', encoding="utf-8")
    Indexer(load_config(index_dir=index_dir)).index_paths([DEMO, extra])
    _assert_union(index_dir)  # a segment added to the commit before
    assert "quakenbrück" in vocabulary.saved_union(index_dir, [segid for segid, _ in _segments(index_dir)])
    extra.unlink()
    Indexer(load_config(index_dir=index_dir)).index_paths([DEMO])
    _assert_union(index_dir)  # documents deleted


def test_a_server_learns_the_same_words_from_the_union_as_from_the_segments(index_dir, monkeypatch):
    from search import analysis
    from search.analysis.vocabulary import Vocabulary
    segments = _segments(index_dir)
    pairs = [(segid, partial(vocabulary.read_vocabulary, leaf, SURFACE_FIELD)) for segid, leaf in segments]
    learned: dict[str, set[str]] = {}
    for name, folder in (("union", index_dir), ("segments", None)):
        own = Vocabulary.word_list()
        monkeypatch.setattr(analysis, "learn_words", partial(own.learn))
        ids: set[str] = set()
        vocabulary.learn(pairs, ids, folder)
        assert ids == {segid for segid, _ in segments}
        learned[name] = set(own.splitter.corpus)
    assert learned["union"] == learned["segments"] and "bahnstreik" in learned["union"]
