"""Both cores writing segments (search/segments.py): the same index, searches and stories as one writer."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import DEMO

from search.errors import NotFound

QUERIES = ["Garantie", "Bahnstreik Berlin", '"Deutsche Bahn"', "Hochwasser Köln", "Ukraine", "Stromausfall"]


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def _corpus(path: Path, n: int, prefix: str = "a") -> Path:
    """``n`` German articles recombined from the demo archive's paragraphs (seeded), dated over a month."""
    from search.ingest import discover, parse, read_bytes
    from search.ingest.langid import detect
    paragraphs, titles = [], []
    for source in discover([DEMO]):
        for article in parse(source, read_bytes(source)):
            if detect(f"{article.title}\n{article.body}")[0] == "de":
                titles.append(article.title)
                paragraphs += [p for p in article.body.split("\n") if len(p) > 80]
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"{prefix}{i}", "title": rng.choice(titles), "language": "de",
                                 "body": "\n".join(rng.sample(paragraphs, 4)), "sources": [f"s{i % 5}.de"],
                                 "date": f"2025-03-{1 + i % 28:02d}"}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("corpus") / "a.jsonl", 450)


def _index(corpus: Path, index_dir: Path, workers: int):
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    config = load_config(index_dir=index_dir)
    config.data["indexing"].update(workers=workers, batch_size=450)
    summary = Indexer(config).index_paths([corpus])
    assert summary.added == 450 and summary.failed == 0
    return Engine(index_dir)


def test_parallel_writers_give_the_single_writers_results(corpus, tmp_path):
    one, two = _index(corpus, tmp_path / "w1", 1), _index(corpus, tmp_path / "w2", 2)
    try:
        assert len(two.backend.snapshot().segments) == 2, "two worker processes, two segments"
        assert len(one.backend.snapshot().segments) == 1
        for q in QUERIES:
            a, b = one.search(q, size=50), two.search(q, size=50)
            assert a["total"] == b["total"] and a["total"]["value"] > 0, q
            assert [(h["id"], round(h["score"], 6)) for h in a["hits"]] == \
                   [(h["id"], round(h["score"], 6)) for h in b["hits"]], q
            assert a["facets"] == b["facets"], q
        stories = lambda eng: {d: eng.get(d)["story_id"] for d in (f"a{i}" for i in range(0, 450, 7))}  # noqa: E731
        assert stories(one) == stories(two)
    finally:
        one.close()
        two.close()


def test_compaction_merges_small_segments_and_keeps_deletions(corpus, tmp_path):
    from search.backend.whoosh import segments
    from search.backend.whoosh.store import open_index
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    index_dir = tmp_path / "i"
    config = load_config(index_dir=index_dir)
    config.data["indexing"].update(workers=2, batch_size=450)
    for path in (corpus, _corpus(tmp_path / "b.jsonl", 450, "b"), _corpus(tmp_path / "c.jsonl", 450, "c")):
        Indexer(config).index_paths([path])  # a run: two workers, two segments
    ix = open_index(index_dir, None)
    before = len(ix._segments())
    assert before == 6 and ix.doc_count() == 1350
    assert Indexer(config).delete(["a3", "a100", "a449"]) == 3
    merged = segments.compact(open_index(index_dir, None), procs=2, max_segments=4)
    assert merged == before - 4 + 2
    ix = open_index(index_dir, None)
    assert len(ix._segments()) == 4 and ix.doc_count() == 1347
    engine = Engine(index_dir)
    try:
        every = engine.search("Garantie OR Bahn OR Ukraine OR Köln OR Berlin OR Genf", size=100)
        assert every["total"]["value"] > 100
        query = "Garantie OR Bahn OR Ukraine OR Köln OR Berlin OR Genf"
        found = {h["id"] for page in range(1, 15) for h in engine.search(query, size=100, page=page)["hits"]}
        assert len(found) == every["total"]["value"] and not found & {"a3", "a100", "a449"}
        assert all(engine.get(d)["id"] == d for d in ("a4", "a448", "b0", "c449"))
        with pytest.raises(NotFound):  # deleted before the merge, gone after it
            engine.get("a100")
    finally:
        engine.close()
    assert segments.compact(open_index(index_dir, None), procs=2, max_segments=4) == 0, "nothing left to merge"


def test_a_long_run_merges_between_batches_and_no_commit_merges(corpus, tmp_path, monkeypatch):
    """Many batches: one new segment each until there are ``RUN_SEGMENTS``, then merged down to ``MAX_SEGMENTS``
    before the next batch; every article findable as after a run in one batch."""
    from search.backend.whoosh import segments
    from search.backend.whoosh.store import open_index
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    monkeypatch.setattr(segments, "MAX_SEGMENTS", 4)
    monkeypatch.setattr(segments, "RUN_SEGMENTS", 8)
    index_dir = tmp_path / "long"
    config = load_config(index_dir=index_dir)
    config.data["indexing"].update(workers=2, batch_size=15)  # 30 batches, one writer each (below MIN_SHARE)
    counts: list[int] = []

    def progress(p) -> None:
        if p.stage == "reading":  # after each batch's commit
            counts.append(len(open_index(index_dir, None)._segments()))

    assert Indexer(config, progress=progress).index_paths([corpus]).added == 450
    steps = [b - a for a, b in zip(counts, counts[1:]) if b != a]
    assert len(counts) >= 30 and max(counts) < 8 and set(steps) == {1, 4 - 7}, counts
    assert len(open_index(index_dir, None)._segments()) <= 4
    one, long = _index(corpus, tmp_path / "one", 1), Engine(index_dir)
    try:
        for q in QUERIES:
            a, b = one.search(q, size=100, collapse=False), long.search(q, size=100, collapse=False)
            assert a["total"] == b["total"] and a["total"]["value"] > 0, q
            found = [{h["id"] for p in range(1, 6) for h in e.search(q, size=100, page=p, collapse=False)["hits"]}
                     for e in (one, long)]
            assert found[0] == found[1] and len(found[0]) == a["total"]["value"], q
    finally:
        one.close()
        long.close()


def _postings(ix) -> dict:
    """Every (field, term) of a one-segment index: Whoosh's term statistics and its postings as read back."""
    out = {}
    with ix.reader() as reader:
        for fieldname in reader.indexed_field_names():
            for btext in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, btext)
                stats = (round(info.weight(), 3), info.doc_frequency(), info.min_length(), info.max_length(),
                         round(info.max_weight(), 3), info.min_id(), info.max_id())
                m = reader.postings(fieldname, btext)
                rows = []
                while m.is_active():
                    rows.append((m.id(), round(m.weight(), 4), bytes(m.value() or b"")))
                    m.next()
                out[(fieldname, btext)] = (stats, rows)
    return out


def test_our_writer_stores_what_whoosh_writes(corpus, tmp_path):
    """The grouping pool, inline short lists and lengths from memory change how postings are written,
    never what: every term's statistics and postings equal plain Whoosh's, and short lists are inline."""
    from whoosh import index
    from whoosh.writing import SegmentWriter

    from search.backend.whoosh.schema import build_schema
    from search.backend.whoosh.segments import INLINE, open_writer
    articles = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()[:300]]
    made = {}
    for name, make in (("whoosh", SegmentWriter), ("ours", open_writer)):
        (tmp_path / name).mkdir()
        ix = index.create_in(str(tmp_path / name), build_schema(["de", "en"]))
        writer = make(ix)
        for a in articles:  # text (positions), surface words (frequencies), ids and keywords (existence)
            writer.add_document(id=a["id"], title_de=a["title"], body_de=a["body"], exact=a["body"],
                                day=a["date"], source=",".join(a["sources"]))
        writer.commit()
        made[name] = ix
    ours, theirs = _postings(made["ours"]), _postings(made["whoosh"])
    assert len(ours) > 1000 and ours.keys() == theirs.keys()
    assert any(stats[1] > 2 * 128 for stats, _ in ours.values()), "lists of several 128-posting blocks are covered"
    assert ours == theirs
    with made["ours"].reader() as r:
        short = [key for key, (stats, _) in ours.items() if stats[1] < INLINE]
        assert len(short) > 1000 and all(r.term_info(*key).is_inlined() for key in short)
        assert not any(r.term_info(*key).is_inlined() for key, (stats, _) in ours.items() if stats[1] >= INLINE)
    # inline lists and blocks pickled with protocol 3 (Whoosh's protocol 2 spells out every bytes value)
    size = {name: sum(f.stat().st_size for f in (tmp_path / name).iterdir()) for name in made}
    assert size["ours"] < 0.9 * size["whoosh"], size  # 1.13 times Whoosh's with protocol 2


def test_a_merge_stores_what_whoosh_merges(corpus, tmp_path):
    """Merging term by term from the segments (a term's postings in memory at a time) stores what Whoosh's
    own merge through its posting pool stores: every term's statistics and postings, deletions left out."""
    import shutil

    from whoosh.reading import SegmentReader
    from whoosh.writing import SegmentWriter

    from search.backend.whoosh import segments
    from search.backend.whoosh.store import open_index
    from search.config import load_config
    from search.index.indexer import Indexer
    index_dir = tmp_path / "i"
    config = load_config(index_dir=index_dir)
    config.data["indexing"].update(workers=2, batch_size=450)
    for path in (corpus, _corpus(tmp_path / "b.jsonl", 450, "b")):
        Indexer(config).index_paths([path])
    assert Indexer(config).delete(["a3", "a100", "b449", "b0"]) == 4
    shutil.copytree(index_dir, tmp_path / "whoosh")
    assert len(open_index(index_dir, None)._segments()) == 4
    assert segments.compact(open_index(index_dir, None), procs=1, full=True) == 4
    ix = open_index(tmp_path / "whoosh", None)
    writer = SegmentWriter(ix)
    for segment in sorted(ix._segments(), key=lambda s: s.doc_count_all()):  # compact's order: smallest first
        reader = SegmentReader(ix.storage, ix.schema, segment)
        writer.add_reader(reader)
        reader.close()
    writer.commit(mergetype=lambda w, segs: [])
    ours, theirs = open_index(index_dir, None), open_index(tmp_path / "whoosh", None)
    assert len(ours._segments()) == len(theirs._segments()) == 1 and ours.doc_count() == 896
    mine, whooshs = _postings(ours), _postings(theirs)
    assert len(mine) > 1000 and mine == whooshs
    with ours.searcher() as a, theirs.searcher() as b:
        assert [a.stored_fields(d) for d in range(896)] == [b.stored_fields(d) for d in range(896)]
