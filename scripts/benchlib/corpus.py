"""Derived benchmark corpora from FANG-COVID (German news).

A corpus of N documents is the first N real articles of
``fang-covid-de/corpus.jsonl`` in a seeded shuffled order (the file is grouped
by outlet: its first 300 lines are all one site, its first 10,000 lack three
outlets), so every size has the outlet mix and a smaller corpus is a prefix of a
larger one; past the 12,000 real ones it is filled with synthetic articles.  Synthetic article ``synth-<n>`` takes:

* its paragraph count from one real article (the "template"),
* each paragraph from a *different* randomly chosen real article (paragraphs
  are the body's newline-separated lines),
* title, date, source, category from other randomly chosen real articles
  (date, source and category travel together, so outlets keep their dates),
  the date moved back by whole 52-week "eras" in a corpus of more than
  ``ERA_DOCS`` articles (see ``eras``),
* ``url`` https://synthetic.invalid/synth-<n>, language "de".

The random generator is seeded (``SEED``), so a given N always yields the
same bytes.  The real text is only rewritten, never shipped: corpora go to a
temporary directory.  ``source`` (one domain) is written as ``sources: [..]``,
the field name Stichwort's readers understand, so facet filters work.

Derived corpora are written as JSONL shards of at most ``shard_mb`` MB and
at least ``min_shards`` files: the indexer hands *files* to its process pool
(and only when there are 8 or more), and rejects files over
``indexing.max_file_mb`` (32 MB).
"""
from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass
from datetime import date as Date
from datetime import timedelta
from pathlib import Path

SEED = 20261126
FIELDS = ("id", "title", "body", "date", "sources", "category", "url", "language")
ERA_DOCS = 120_000  # articles on the real corpus's 14 months of dates before synthetic ones move back a year
ERA = timedelta(weeks=52)  # a year to the weekday
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


@dataclass
class Derived:
    n_docs: int
    real: int
    synthetic: int
    shards: list[Path]
    bytes: int
    description: str

    def as_dict(self) -> dict:
        return {"docs": self.n_docs, "real": self.real, "synthetic": self.synthetic,
                "shards": len(self.shards), "bytes": self.bytes, "mb": round(self.bytes / 1e6, 2),
                "seed": SEED}


def _record(obj: dict) -> dict:
    src = obj.get("source")
    sources = obj.get("sources") or ([src] if src else [])
    return {"id": str(obj["id"]), "title": obj.get("title") or "", "body": obj.get("body") or "",
            "date": obj.get("date"), "sources": sources, "category": obj.get("category"),
            "url": obj.get("url") or "", "language": obj.get("language") or "de"}


def load_real(path: Path, limit: int | None = None, seed: int = SEED) -> list[dict]:
    """Real articles in the seeded shuffled order (all of them, or the first ``limit``)."""
    with open(path, encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    random.Random(seed).shuffle(lines)
    return [_record(json.loads(line)) for line in lines[:limit]]


def eras(n_docs: int) -> int:
    """How many 52-week stretches a corpus of ``n_docs`` spreads its dates over.

    The real articles cover 14 months; a million articles on those days would put 2,300 on each,
    ten times what a newsroom publishes, and every same-story look-up would wade through them.
    A real archive of a million articles covers about a decade: synthetic articles move back by
    whole years so that no more than ``ERA_DOCS`` share the 14 months of one stretch."""
    return max(1, -(-n_docs // ERA_DOCS))


def earlier(date: str | None, years: int) -> str | None:
    """``date`` ``years`` times 52 weeks earlier (the same weekday), its time and zone kept."""
    found = _DAY.match(date or "")
    if not years or found is None or date is None:
        return date
    try:
        day = Date(*map(int, found.groups())) - years * ERA
    except (ValueError, OverflowError):
        return date
    return day.isoformat() + date[found.end():]


def synthesize(real: list[dict], count: int, seed: int = SEED, spread: int = 1):
    """``count`` synthetic articles recombined from ``real`` (deterministic for a seed), their dates
    spread over ``spread`` eras (synthetic article n in era n mod ``spread``)."""
    rng = random.Random(seed)
    paragraphs = [[p for p in r["body"].split("\n") if p.strip()] for r in real]
    with_text = [i for i, ps in enumerate(paragraphs) if ps]
    for n in range(1, count + 1):
        template = paragraphs[rng.choice(with_text)]
        k = max(1, min(len(template), 40))
        donors = rng.sample(with_text, k) if k <= len(with_text) else [rng.choice(with_text) for _ in range(k)]
        body = "\n".join(rng.choice(paragraphs[d]) for d in donors)
        meta = real[rng.randrange(len(real))]
        title = real[rng.randrange(len(real))]["title"]
        yield {"id": f"synth-{n}", "title": title, "body": body, "date": earlier(meta["date"], n % spread),
               "sources": list(meta["sources"]), "category": meta["category"],
               "url": f"https://synthetic.invalid/synth-{n}", "language": "de"}


def derive(source: Path, n_docs: int, out_dir: Path, *, shard_mb: float = 16.0, min_shards: int = 8) -> Derived:
    """Write a corpus of ``n_docs`` documents as JSONL shards into ``out_dir``, streaming: a million
    synthetic articles are never held in memory at once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    real = load_real(source, n_docs)
    synth_count = max(0, n_docs - len(real))
    real_lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in real]
    mean = sum(len(x.encode("utf-8")) for x in real_lines) / max(1, len(real_lines))
    estimate = mean * n_docs  # synthetic articles take their paragraph count from real ones: about as long
    n_shards = max(min_shards, -(-int(estimate) // int(shard_mb * 1e6)))
    n_shards = min(n_shards, max(1, n_docs))
    per = -(-n_docs // n_shards)
    lines = itertools.chain(real_lines, (json.dumps(r, ensure_ascii=False) + "\n"
                                         for r in synthesize(real, synth_count, spread=eras(n_docs))))
    shards: list[Path] = []
    total = 0
    for i in range(n_shards):
        chunk = list(itertools.islice(lines, per))
        if not chunk:
            break
        path = out_dir / f"part-{i:03d}.jsonl"
        text = "".join(chunk)
        path.write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
        shards.append(path)
    desc = (f"{len(real):,} real FANG-COVID articles (seeded shuffle)"
            + (f" + {synth_count:,} synthetic (paragraphs of different real articles recombined, "
               f"ids synth-<n>, dates/sources drawn from real ones"
               + (f" and spread over {eras(n_docs)} years" if eras(n_docs) > 1 else "")
               + f", seed {SEED})" if synth_count else "")
            + f"; {len(shards)} JSONL shards, {total / 1e6:.1f} MB")
    return Derived(n_docs, len(real), synth_count, shards, total, desc)


def iter_shards(shards: list[Path]):
    """The derived documents back, in order."""
    for path in shards:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
