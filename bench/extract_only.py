"""The ceilings: extraction alone over the same page bytes in 2 worker processes, no crawl.

Two of them, side by side: standalone ``trafilatura.extract`` with its default settings (the
reference the crawl is judged against: an archive that crawls, extracts, deduplicates and
stores faster than trafilatura alone extracts the same pages on the same cores), and the
project's own ``read_page`` (what the crawl's workers run; against it the ratio hides
what the extraction itself costs).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from concurrent.futures import wait
from typing import Any

import trafilatura

from bench.web import Site
from pipelines.extraction import read_page
from pipelines.workers import PoolLimits, ProcessPool, WorkerError

_WINDOW = 64  # pages in flight: keeps both workers busy without holding every page in memory


def trafilatura_default(body: bytes, url: str, content_type: str | None = None) -> str | None:
    """The reference: ``trafilatura.extract`` with default settings over the page bytes (the
    content type is not passed: trafilatura decodes the bytes itself)."""
    return trafilatura.extract(body, url=url)


CEILINGS: dict[str, Callable[..., Any]] = {"trafilatura_only": trafilatura_default,
                                           "ours_only": read_page}


def extraction_rate(sites: list[Site], func: Callable[..., Any] = read_page,
                    workers: int = 2) -> dict[str, float]:
    """Pages/s of a pool running ``func`` over every article page of ``sites`` (warm workers,
    wall time)."""
    cpu_before = _children_cpu()
    pool = ProcessPool(func, PoolLimits(workers=workers))
    try:
        warm = [pool.submit(sites[0].article_body(i), "http://127.0.0.1/w.html", "text/html")
                for i in range(workers * 2)]
        wait(warm)
        pages = errors = empty = 0
        start = time.perf_counter()
        pending: list = []
        for site in sites:
            for n in range(site.articles):
                url = f"{site.base}{site.article_path(n)}"
                pending.append(pool.submit(site.article_body(n), url, "text/html"))
                if len(pending) >= _WINDOW:
                    e, m = _drain(pending[: _WINDOW // 2])
                    errors, empty = errors + e, empty + m
                    pages += _WINDOW // 2
                    pending = pending[_WINDOW // 2:]
        e, m = _drain(pending)
        pages += len(pending)
        elapsed = time.perf_counter() - start
    finally:
        pool.close()
    return {"pages": pages, "seconds": round(elapsed, 2), "pages_per_s": pages / elapsed,
            "errors": errors + e, "empty": empty + m,
            "workers_cpu_s": round(_children_cpu() - cpu_before, 2)}


def _children_cpu() -> float:
    """CPU of reaped children (the pool's workers once closed), warm-up included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _drain(futures: list) -> tuple[int, int]:
    errors = empty = 0
    for future in futures:
        try:
            if future.result() is None:
                empty += 1
        except WorkerError:
            errors += 1
    return errors, empty
