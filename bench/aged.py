"""``python -m bench.aged``: one site's run start-up on an aged archive, next to an empty one.

A year of dedup state for many sites crawled every few minutes is synthesised into SeaweedFS
through the state's own writers (``testkit/agedstate.py``; nothing is crawled), then a run of
one site starts in a fresh process: it imports the crawl's dedup stage, opens the archive and
loads the dedup state as a crawl does at ``open_spider`` (compacting what it finds closed).
Measured: the start-up (the process's wall time less its wait for the window, which loads in a
thread: what the crawl's first request waits for), the window ready (the whole wall time: what
its first article's dedup waits for), the S3 requests by type through a counting proxy, the
process's peak RSS, with a cold local cache (a new machine) and then warm; ``--repeat N`` runs
each cold and warm row N times and gives each time as its range.

``--layout compacted`` (default) synthesises what the current code leaves: each site's history
in its period objects, the window's closed days and hours, and the live segments of the hours
still open, as a real day has them at ``--now``. ``--layout live`` writes every segment live,
as the code before compaction did (run it with ``--code`` pointing at that checkout to measure
its load). A third run, ``--next-hour``, starts one hour later, when one more hour has closed:
the run that builds that hour's window object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archive.keys import state_period, window_key
from archive.s3 import S3Storage
from bench.s3proxy import CountingProxy
from pipelines.dedup_compaction import WINDOW_GRACE
from pipelines.dedup_format import SEGMENT_MAGIC
from testkit.agedstate import live_key, write_site_object, write_window
from testkit.seaweed import SeaweedServer

REPO = Path(__file__).resolve().parents[1]
_ENTRY = struct.Struct("<QQIqH64s")  # dedup_format's format 2
CHILD = r"""
import datetime as dt, inspect, json, sys, time
t0 = time.monotonic()
from pathlib import Path
import pipelines.dedup  # the crawl's dedup stage and all it imports
from archive.s3 import S3Storage
from pipelines.dedup_state import DedupState
args = json.loads(sys.argv[1])
imported = time.monotonic()
storage = S3Storage.from_uri(args["uri"], endpoint_url=args["endpoint"],
                             access_key=args["key"], secret_key=args["secret"])
state = DedupState(storage, Path(args["cache"]))
if "sites" in inspect.signature(state.load).parameters:
    index = state.load(None, args["recent_from"], sites=[args["site"]],
                       now=dt.datetime.fromisoformat(args["now"]), compact=True)
else:  # the code before compaction: every segment of every site
    index = state.load(None, args["recent_from"])
loaded = time.monotonic()
if hasattr(index, "windows"):
    index.windows  # the window, loading in a thread meanwhile: what the first lookup waits for
windowed = time.monotonic()
# VmHWM, not ru_maxrss: that one survives exec, so it would report the (large) bench
# process this one was forked from
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(json.dumps({"import_s": imported - t0, "load_s": loaded - imported,
                  "window_wait_s": windowed - loaded,
                  "articles": len(index), "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.aged", description=__doc__)
    p.add_argument("--sites", type=int, default=300)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--runs-per-day", type=int, default=96)
    p.add_argument("--articles-per-day", type=int, default=100, help="per site")
    p.add_argument("--window-days", type=int, default=30, help="near_duplicate_days")
    p.add_argument("--now", default="2026-12-02T12:40:00+00:00")
    p.add_argument("--layout", choices=("compacted", "live"), default="compacted")
    p.add_argument("--code", type=Path, default=REPO, help="checkout whose loader is measured")
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="delay the proxy adds to each request (a store farther than loopback)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each cold and warm row (cold: a new cache each), as ranges")
    p.add_argument("--json", type=Path, help="also write the results here")
    return p.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench.aged {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Synth:
    """A year of segments, one a run, one article each (a few runs a day two)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.now = dt.datetime.fromisoformat(args.now)
        self.today = self.now.date().isoformat()
        self.recent_from = (self.now.date() - dt.timedelta(days=args.window_days)).isoformat()
        self.rng = random.Random(20261202)
        self.step = 1440 // args.runs_per_day

    def runs(self) -> list[tuple[str, int, int]]:
        first = self.now.date() - dt.timedelta(days=self.args.days - 1)
        out = []
        for n in range(self.args.days):
            day = first + dt.timedelta(days=n)
            for r in range(self.args.runs_per_day):
                at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + \
                    dt.timedelta(minutes=r * self.step)
                if at + dt.timedelta(minutes=10) <= self.now:  # that run has finished
                    out.append((day.isoformat(), at.hour, at.minute))
        return out

    def segment(self, articles: int) -> bytes:
        rng = self.rng
        return SEGMENT_MAGIC + b"".join(
            _ENTRY.pack(rng.getrandbits(64), rng.getrandbits(64), 1,
                        int(self.now.timestamp()) - rng.randrange(10 ** 7), 200,
                        rng.randbytes(64)) for _ in range(articles))

    def closed(self, day: str, hour: int) -> bool:
        end = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) + dt.timedelta(hours=hour + 1)
        return end + WINDOW_GRACE <= self.now


def _put_all(storage: S3Storage, items: list[tuple[str, bytes]]) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: storage.put_bytes(*kv), items))


def synthesise(storage: S3Storage, synth: Synth, layout: str) -> dict[str, int]:
    runs = synth.runs()
    extra = max(0, synth.args.articles_per_day - synth.args.runs_per_day)
    window: dict[str, dict[str, bytes]] = defaultdict(dict)
    counts = {"segments": 0, "site_objects": 0, "live": 0}
    for s in range(synth.args.sites):
        site = f"s{s:03d}"
        periods: dict[str, dict[str, bytes]] = defaultdict(dict)
        live: list[tuple[str, bytes]] = []
        first_runs: dict[str, int] = defaultdict(int)
        for day, hour, minute in runs:
            first_runs[day] += 1
            data = synth.segment(2 if first_runs[day] <= extra else 1)
            key = live_key(day, site, hour, minute)
            counts["segments"] += 1
            if layout == "live" or not synth.closed(day, hour):
                live.append((key, data))
                continue
            periods[state_period(day, synth.today)][key] = data
            if day >= synth.recent_from:
                window[window_key(day, hour if day == synth.today else None)][key] = data
        for period, sections in periods.items():
            write_site_object(storage, site, period, sections)
            counts["site_objects"] += 1
        _put_all(storage, live)
        counts["live"] += len(live)
        if s % 50 == 0:
            log(f"site {site}: {counts}")
    for key, sections in sorted(window.items()):
        day, hour = key.split("date=")[1][:10], key.rsplit("/", 1)[1]
        write_window(storage, day, None if hour == "day.bin" else int(hour[5:7]), sections)
    counts["window_objects"] = len(window)
    if layout == "compacted":  # every site's first compaction is done
        _put_all(storage, [(f"state/dedup-site/site=s{s:03d}/compacted.json", b"{}")
                           for s in range(synth.args.sites)])
    return counts


def run_child(args: argparse.Namespace, server: SeaweedServer, proxy: CountingProxy,
              uri: str, cache: Path, now: str, recent_from: str) -> dict:
    before = dict(proxy.counts)
    spec = {"uri": uri, "endpoint": f"http://127.0.0.1:{proxy.port}", "key": server.access_key,
            "secret": server.secret_key, "cache": str(cache), "site": "s000", "now": now,
            "recent_from": recent_from}
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], cwd=args.code,
                           env={**os.environ, "PYTHONPATH": str(args.code)},
                           capture_output=True, text=True)
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise SystemExit(f"child failed: {child.stderr[-2000:]}")
    out = json.loads(child.stdout.strip().splitlines()[-1])
    out["startup_s"] = wall - out["window_wait_s"]
    out["wall_s"] = wall
    out["requests"] = {k: v - before.get(k, 0) for k, v in proxy.counts.items()
                       if v - before.get(k, 0)}
    return out


def _span(runs: list[dict], field: str, digits: int = 2) -> str:
    low, high = min(r[field] for r in runs), max(r[field] for r in runs)
    return f"{low:.{digits}f}" if f"{low:.{digits}f}" == f"{high:.{digits}f}" else \
        f"{low:.{digits}f}–{high:.{digits}f}"


def render(rows: list[tuple[str, list[dict]]]) -> str:
    """One line a row; a row run several times gives each time as its range, and the last
    run's requests (every run of a row makes the same ones)."""
    head = ("| run | start-up s | state load s | window later s | window ready s | GET | LIST "
            "| PUT | DELETE | peak RSS MB | articles known |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, runs in rows:
        q, last = runs[-1]["requests"], runs[-1]
        lines.append(f"| {name} | {_span(runs, 'startup_s')} | {_span(runs, 'load_s')} | "
                     f"{_span(runs, 'window_wait_s')} | {_span(runs, 'wall_s')} | "
                     f"{q.get('GetObject', 0)} | {q.get('ListObjects', 0)} | "
                     f"{q.get('PutObject', 0)} | {q.get('DeleteObject', 0)} | "
                     f"{_span(runs, 'peak_rss_mb', 0)} | {last['articles']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    synth = Synth(args)
    later = (synth.now + dt.timedelta(hours=1)).isoformat()
    rows: list[tuple[str, list[dict]]] = []
    repeat = range(max(1, args.repeat))
    with tempfile.TemporaryDirectory(prefix="bench-aged-") as tmp:
        work = Path(tmp)
        with SeaweedServer(work / "seaweed") as server:
            proxy = CountingProxy(int(server.endpoint_url.rsplit(":", 1)[1]),
                                  args.latency_ms / 1000).start()
            for bucket in ("empty", "aged"):
                server.create_bucket(bucket)
            uri_empty, uri_aged = "s3://empty/archive", "s3://aged/archive"
            # the first run on an empty archive also stores the window's empty days; the
            # second is what every run of an archive with nothing in it costs
            rows.append(("empty archive, first run", [run_child(
                args, server, proxy, uri_empty, work / "c0", args.now, synth.recent_from)]))
            rows.append(("empty archive, cold cache", [run_child(
                args, server, proxy, uri_empty, work / f"c0-{n}", args.now, synth.recent_from)
                for n in repeat]))
            storage = S3Storage.from_uri(uri_aged, endpoint_url=server.endpoint_url,
                                         access_key=server.access_key,
                                         secret_key=server.secret_key)
            log(f"synthesising {args.sites} sites x {args.days} days x {args.runs_per_day} "
                f"runs ({args.layout})")
            started = time.monotonic()
            counts = synthesise(storage, synth, args.layout)
            log(f"synthesised in {time.monotonic() - started:.0f} s: {counts}")
            # cold: a new cache directory each run; warm: the last cold run's
            caches = [work / f"c1-{n}" for n in repeat]
            for name, runs, now in (("aged archive, cold cache", caches, args.now),
                                    ("aged archive, warm cache", [caches[-1]] * len(caches),
                                     args.now),
                                    ("aged, one hour later (builds an hour), warm",
                                     caches[-1:], later)):
                rows.append((name, [run_child(args, server, proxy, uri_aged, cache, now,
                                              synth.recent_from) for cache in runs]))
                log(f"{name}: {rows[-1][1]}")
            proxy.stop()
    table = render(rows)
    print(f"{args.sites} sites x {args.days} days x {args.runs_per_day} runs/day, "
          f"{args.articles_per_day} articles/site/day, layout {args.layout}, code {args.code}, "
          f"{args.latency_ms:g} ms added a request")
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "counts": counts, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
