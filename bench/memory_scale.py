"""Experience memory and criteria library at scale: write / recall / best_revision at 1k, 10k, 100k items.

What a training run or a long-lived service sees: an SQLite file (the default store, lexical embeddings, one
process) filled to each size in turn, then timed on the calls users make, through the public API:

- `write`: `ExperienceMemory.aremember` / `CriteriaLibrary.aput`, median and 99th percentile per call
  (embedding, one committed SQLite transaction; the index is not touched by a write);
- `catch-up`: the first search after the writes, which brings the kept vector index up to date (what a
  process pays once; the index is then saved beside the file);
- `reopen`: opening the file again and searching once (loads the saved index instead of rebuilding);
- `recall` / `search`: `arecall(task, k=4)` / `asearch(task, limit=1)` for stored tasks, median and p99,
  with the share where the exact same task ranks first;
- `best_revision`: `abest_revision(task)`, median and p99 (an exact `task_key` lookup).

Targets at 100,000: recall ≤ 20 ms median, best_revision ≤ 2 ms, writes ≤ 1 ms, exact task first.

`--candidates` first measures the vector indexes considered (those installed: usearch, hnswlib as
`chroma-hnswlib`, faiss-cpu, sqlite-vec through apsw, numpy exact) on the same lexical vectors: build time per
vector, query median, exact-task hit rate.

    python bench/memory_scale.py                       # 1k, 10k, 100k
    python bench/memory_scale.py --sizes 1000 10000 --queries 100
    python bench/memory_scale.py --candidates --candidate-size 20000 --sizes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory
from writer_r1.memory.library import CriteriaLibrary

WORDS = (
    "lighthouse keeper storm sea ghost poem haiku autumn rain tax checklist freelancer letter apology essay "
    "climate memoir grandmother kitchen recipe winter city night train station love loss war peace garden robot "
    "moon desert river mountain village festival harbour bakery violin orchard glacier comet lantern market"
).split()
KINDS = ("short story", "poem", "essay", "letter", "haiku", "speech", "product description", "op-ed")
PER_TASK = 5


def tasks(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"Write a {rng.choice(KINDS)} about the {' and the '.join(rng.sample(WORDS, 3))}, case {i}"
        for i in range(count)
    ]


def experience(task: str, rng: random.Random) -> Experience:
    before = rng.random() * 0.6
    after = before + rng.uniform(-0.1, 0.3)
    weak = rng.sample(["imagery", "pacing", "voice", "structure", "dread", "clarity"], 2)
    return Experience(
        task=task,
        weak_criteria=weak,
        reflection=Reflection(diagnosis=f"weak {weak[0]}", targets=weak, plan=[f"sharpen {weak[0]}"]),
        draft="draft text " * 20,
        revision="revised text " * 20,
        score_before=before,
        score_after=after,
        accepted=after > before,
    )


def criteria(task: str) -> CriteriaSet:
    return CriteriaSet.model_validate(
        {
            "task": task,
            "dimensions": [
                {
                    "name": "Craft",
                    "criteria": [
                        {
                            "id": "imagery",
                            "name": "Imagery",
                            "description": "Concrete images",
                            "levels": [{"anchor": a} for a in ("absent", "thin", "present", "strong", "vivid")],
                        }
                    ],
                }
            ],
        }
    )


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{statistics.median(values) * 1e3:8.2f} / {p99 * 1e3:7.2f}"


async def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call
    return time.perf_counter() - started, result


async def bench_memory(folder: Path, sizes: list[int], queries: int) -> None:
    print("\n## ExperienceMemory (SQLite file, lexical embeddings)")
    print(
        "| experiences | write ms (median / p99) | catch-up s | reopen s | recall ms (median / p99) | exact first | best_revision ms (median / p99) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rng = random.Random(1)
    path = folder / "memory.sqlite"
    all_tasks = tasks(max(sizes) // PER_TASK + 1)
    memory = ExperienceMemory(path, embeddings=LexicalEmbeddings())
    written = 0
    for size in sizes:
        writes = []
        while written < size:
            task = all_tasks[written // PER_TASK]
            seconds, _ = await timed(memory.aremember(experience(task, rng)))
            writes.append(seconds)
            written += 1
        catch_up, _ = await timed(memory.arecall(all_tasks[0], k=4))
        memory.close()
        started = time.perf_counter()
        memory = ExperienceMemory(path, embeddings=LexicalEmbeddings())
        await memory.arecall(all_tasks[0], k=4)
        reopen = time.perf_counter() - started
        stored = all_tasks[: size // PER_TASK]
        probes = [rng.choice(stored) for _ in range(queries)]
        recalls, bests, first = [], [], 0
        for task in probes:
            seconds, recalled = await timed(memory.arecall(task, ["imagery"], k=4))
            recalls.append(seconds)
            first += bool(recalled) and recalled[0].task == task
            seconds, _ = await timed(memory.abest_revision(task))
            bests.append(seconds)
        print(
            f"| {size:,} | {ms(writes)} | {catch_up:6.2f} | {reopen:6.2f} | {ms(recalls)} | {first}/{len(probes)} | {ms(bests)} |",
            flush=True,
        )
    memory.close()


async def bench_library(folder: Path, sizes: list[int], queries: int) -> None:
    print("\n## CriteriaLibrary (SQLite file, lexical embeddings)")
    print(
        "| criteria sets | put ms (median / p99) | catch-up s | reopen s | search(limit=1) ms (median / p99) | exact first at 1.0 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    path = folder / "library.sqlite"
    all_tasks = tasks(max(sizes), seed=2)
    library = CriteriaLibrary(path, embeddings=LexicalEmbeddings())
    written = 0
    rng = random.Random(3)
    for size in sizes:
        writes = []
        while written < size:
            seconds, _ = await timed(library.aput(criteria(all_tasks[written])))
            writes.append(seconds)
            written += 1
        catch_up, _ = await timed(library.asearch(all_tasks[0], limit=1))
        library.close()
        started = time.perf_counter()
        library = CriteriaLibrary(path, embeddings=LexicalEmbeddings())
        await library.asearch(all_tasks[0], limit=1)
        reopen = time.perf_counter() - started
        probes = [rng.choice(all_tasks[:size]) for _ in range(queries)]
        searches, first = [], 0
        for task in probes:
            seconds, hits = await timed(library.asearch(task, limit=1))
            searches.append(seconds)
            first += bool(hits) and hits[0][0].task == task and hits[0][1] == 1.0
        print(
            f"| {size:,} | {ms(writes)} | {catch_up:6.2f} | {reopen:6.2f} | {ms(searches)} | {first}/{len(probes)} |",
            flush=True,
        )
    library.close()


def bench_candidates(size: int, queries: int) -> None:
    """The vector indexes considered, on the same vectors (size/5 tasks, 5 copies each)."""
    import numpy as np

    print(f"\n## Vector index candidates ({size:,} lexical vectors, 512 dims, one thread)")
    print("| index | build ms / vector | query median ms | exact task first |")
    print("| --- | --- | --- | --- |")
    unique = tasks(size // PER_TASK, seed=4)
    vectors = np.asarray(LexicalEmbeddings().embed_documents(unique), dtype=np.float32)
    data = np.repeat(vectors, PER_TASK, axis=0)
    labels = np.arange(len(data), dtype=np.uint64)
    rng = random.Random(5)
    probes = [rng.randrange(len(unique)) for _ in range(queries)]

    def report(name: str, build_seconds: float, search) -> None:
        latencies, hits = [], 0
        for probe in probes:
            started = time.perf_counter()
            keys = search(vectors[probe], 10)
            latencies.append(time.perf_counter() - started)
            hits += int(keys[0]) // PER_TASK == probe
        print(
            f"| {name} | {build_seconds / len(data) * 1e3:.3f} | {statistics.median(latencies) * 1e3:.3f} | {hits}/{len(probes)} |",
            flush=True,
        )

    report("numpy exact (matrix product)", 0.0, lambda v, k: np.argsort(-(data @ v))[:k])
    try:
        from usearch.index import Index

        index = Index(
            ndim=data.shape[1], metric="cos", dtype="i8", connectivity=16, expansion_add=64, expansion_search=128
        )
        started = time.perf_counter()
        index.add(labels, data, threads=1)
        report("usearch HNSW i8 (chosen)", time.perf_counter() - started, lambda v, k: index.search(v, k).keys)
    except ImportError:
        print("| usearch | not installed | | |")
    try:
        import hnswlib

        graph = hnswlib.Index(space="cosine", dim=data.shape[1])
        graph.init_index(max_elements=len(data), ef_construction=64, M=16)
        graph.set_num_threads(1)
        started = time.perf_counter()
        graph.add_items(data, labels)
        graph.set_ef(128)
        report("hnswlib (chroma-hnswlib)", time.perf_counter() - started, lambda v, k: graph.knn_query(v, k)[0][0])
    except ImportError:
        print("| hnswlib | not installed | | |")
    try:
        import faiss

        faiss.omp_set_num_threads(1)
        flat = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        flat.hnsw.efSearch = 128
        started = time.perf_counter()
        flat.add(data)
        report("faiss-cpu HNSW (no removal)", time.perf_counter() - started, lambda v, k: flat.search(v[None], k)[1][0])
    except ImportError:
        print("| faiss-cpu | not installed | | |")
    try:
        import apsw
        import sqlite_vec

        connection = apsw.Connection(":memory:")
        connection.enable_load_extension(True)
        connection.load_extension(sqlite_vec.loadable_path())
        connection.execute(
            f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{data.shape[1]}] distance_metric=cosine)"
        )
        started = time.perf_counter()
        with connection:
            connection.executemany(
                "INSERT INTO v(rowid, embedding) VALUES (?, ?)", ((i, data[i].tobytes()) for i in range(len(data)))
            )
        sql = "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance"
        report(
            "sqlite-vec via apsw (exact scan)",
            time.perf_counter() - started,
            lambda v, k: [row[0] for row in connection.execute(sql, (v.tobytes(), k))],
        )
    except ImportError:
        print("| sqlite-vec + apsw | not installed | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--candidates", action="store_true", help="first measure the vector index candidates")
    parser.add_argument("--candidate-size", type=int, default=20_000)
    parser.add_argument("--only", choices=["memory", "library"], default=None)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    if args.candidates:
        bench_candidates(args.candidate_size, args.queries)
    sizes = sorted(args.sizes)
    if not sizes:
        return
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "memory"):
            asyncio.run(bench_memory(Path(folder), sizes, args.queries))
        if args.only in (None, "library"):
            asyncio.run(bench_library(Path(folder), sizes, args.queries))


if __name__ == "__main__":
    main()
