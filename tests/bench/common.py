"""Shared benchmark helpers: the 100k demo database and timing."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

AS_OF = date(2026, 6, 30)
BENCH_DIR = Path(
    os.environ.get("OPENINVOICE_BENCH_DIR", Path(__file__).resolve().parents[2] / "bench-data")
)
BENCH_DB = BENCH_DIR / "bench100k.db"


def bench_db(customers: int = 100_000) -> tuple[Path, float | None]:
    """The 100k-customer demo database (made once; returns its path and build time)."""
    from store.demo import generate
    from store.engine import make_engine

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DB if customers == 100_000 else BENCH_DIR / f"bench{customers}.db"
    if path.exists():
        return path, None
    engine = make_engine(f"sqlite:///{path}")
    stats = generate(
        engine,
        customers=customers,
        seed=42,
        as_of=AS_OF,
        progress=lambda m: print(f"  demo: {m}", flush=True),
    )
    engine.dispose()
    return path, stats.seconds


def settle_disk() -> None:
    """Write back dirty pages (a database just built or copied) before timing.

    Otherwise the kernel flushes hundreds of MB while the first timed code runs,
    and whichever side is measured first pays for it.
    """
    os.sync()


def timeit(fn: Callable[[], Any], repeat: int = 15, warmup: int = 2) -> float:
    """Median seconds of ``fn`` over ``repeat`` runs after a warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(label: str, ours: float, floor: float, goal: str = "") -> str:
    ratio = ours / floor if floor > 0 else float("inf")
    return f"| {label} | {ours * 1000:.2f} ms | {floor * 1000:.2f} ms | {ratio:.1f}x | {goal} |"


HEADER = "| what | ours | floor | ratio | goal |\n|---|---|---|---|---|"
