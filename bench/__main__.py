"""``python -m bench``: crawl a generated loopback news web end to end and compare.

Default: 4 sites x 500 articles (2,000 article pages), crawled into a local directory and into
SeaweedFS with the real CLI, against two extraction-only ceilings (standalone trafilatura with
default settings, the reference; and the project's own extraction) and a naive Scrapy baseline.
``--long``: 50,000 articles into the local backend, with RSS at 10/50/100% of the crawl.
``--steady``: consecutive runs over a living web (bench/steady.py): requests per run by
reason, article fetches, what the revisits caught, bytes written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.keys import run_report_day
from archive.run_reports import RunReport
from bench import crawls
from bench.extract_only import CEILINGS, extraction_rate
from bench.report import render_table, summarize
from bench.s3proxy import CountingProxy
from bench.steady import main_steady
from bench.web import Site, Web, build_sites, load_templates
from testkit.seaweed import SeaweedServer

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--sites", type=int, default=4)
    p.add_argument("--pages", type=int, default=2000, help="article pages in all (default 2000)")
    p.add_argument("--long", action="store_true",
                   help="long run: 50,000 article pages (or --pages), local backend only, "
                        "RSS sampled at 10/50/100%%")
    p.add_argument("--dup-every", type=int, default=50,
                   help="every Nth article repeats the previous one's text (0: none)")
    p.add_argument("--no-s3", action="store_true", help="skip the SeaweedFS crawl")
    p.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    p.add_argument("--no-extract", action="store_true",
                   help="skip the extraction-only ceilings")
    p.add_argument("--profile", action="store_true",
                   help="also run the local crawl under cProfile (main process only)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--identity", action="store_true",
                   help="serve article pages uncompressed (default: gzip, as news sites do)")
    p.add_argument("--steady", action="store_true",
                   help="steady state: --runs consecutive crawls of a living web (default "
                        "2 sites x 150 articles), local backend")
    p.add_argument("--runs", type=int, default=20, help="--steady: runs (default 20)")
    p.add_argument("--new-per-run", type=int, default=3,
                   help="--steady: new articles per site and run (default 3)")
    p.add_argument("--corrections", type=int, default=2,
                   help="--steady: older articles corrected per site and run (default 2)")
    args = p.parse_args(argv)
    if args.steady and "--pages" not in (argv or []):
        args.pages = 300
    if args.steady and "--sites" not in (argv or []):
        args.sites = 2
    if args.long:
        args.pages = args.pages if args.pages != 2000 else 50000
        args.no_s3 = args.no_naive = args.no_extract = True
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_local(web: Web, sites: list[Site], work: Path, long: bool) -> dict[str, Any]:
    archive = work / "archive-local"
    config = crawls.write_config(work / "local.toml", sites, str(archive), work / "spool-local")
    total = sum(s.articles for s in sites)
    start_hits = web.article_hits
    progress = (lambda: (web.article_hits - start_hits) / total) if long else None
    result = crawls.measured(web, crawls.crawl_cmd(config), work / "crawl-local.log",
                             progress=progress)
    result["report"] = crawls.sum_report(crawls.local_report(archive))
    result["storage"] = crawls.sizes_by_prefix(crawls.local_objects(archive))
    return result


def run_s3(web: Web, sites: list[Site], work: Path) -> dict[str, Any]:
    with SeaweedServer(work / "seaweed") as server:
        server.create_bucket("bench")
        port = int(server.endpoint_url.rsplit(":", 1)[1])
        proxy = CountingProxy(port).start()
        try:
            endpoint = f"http://127.0.0.1:{proxy.port}"
            config = crawls.write_config(work / "s3.toml", sites, "s3://bench/archive",
                                         work / "spool-s3", endpoint)
            env = {"AWS_ACCESS_KEY_ID": server.access_key,
                   "AWS_SECRET_ACCESS_KEY": server.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
            result = crawls.measured(web, crawls.crawl_cmd(config), work / "crawl-s3.log", env)
            result["s3_requests"] = proxy.snapshot()
        finally:
            proxy.stop()
        objects = _s3_objects(server)
        result["storage"] = crawls.sizes_by_prefix(objects)
        result["report"] = crawls.sum_report(_s3_report(server, objects))
    return result


def _s3_objects(server: SeaweedServer) -> list[tuple[str, int]]:
    client = server.client()
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="bench",
                                                                   Prefix="archive/"):
        found += [(o["Key"].removeprefix("archive/"), o["Size"]) for o in page.get("Contents", [])]
    return found


def _s3_report(server: SeaweedServer, objects: list[tuple[str, int]]) -> RunReport:
    key = sorted(k for k, _ in objects if run_report_day(k) is not None)[-1]
    body = server.client().get_object(Bucket="bench", Key=f"archive/{key}")["Body"].read()
    return RunReport.from_json(body)


def run_naive(web: Web, sites: list[Site], work: Path) -> dict[str, Any]:
    out = work / "naive.jsonl"
    cmd = [sys.executable, "-m", "bench.naive_spider", str(out), *(f"{s.base}/" for s in sites)]
    result = crawls.measured(web, cmd, work / "naive.log")
    result["items"] = crawls.count_jsonl(out)
    result["bytes_jsonl"] = out.stat().st_size if out.exists() else 0
    return result


def run_profile(web: Web, sites: list[Site], work: Path) -> dict[str, Any]:
    """The local crawl again, under cProfile: the main process's top functions by own time."""
    archive = work / "archive-prof"
    config = crawls.write_config(work / "prof.toml", sites, str(archive), work / "spool-prof")
    prof = work / "crawl.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "newsarchive", "crawl",
           "--config", str(config)]
    result = crawls.measured(web, cmd, work / "crawl-prof.log")
    result["top"] = _profile_top(prof)
    return result


def _profile_top(prof: Path, limit: int = 25) -> list[str]:
    code = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); s.sort_stats('tottime');"
            f" s.print_stats({limit})")
    out = subprocess.run([sys.executable, "-c", code, str(prof)], capture_output=True,
                         text=True, timeout=120).stdout
    return [line for line in out.splitlines() if line.strip()][-(limit + 1):]


def run_all(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    log("loading eval pages and placing markers")
    templates, rejected = load_templates()
    per_site = max(1, args.pages // args.sites)
    sites = build_sites(templates, args.sites, per_site, args.dup_every)
    results: dict[str, Any] = {"templates": len(templates), "rejected_pages": rejected}
    with Web(sites, gzip_articles=not args.identity) as web:
        results["web"] = {"sites": len(sites), "articles_per_site": per_site,
                          "duplicates": sum(s.is_duplicate(n) for s in sites
                                            for n in range(s.articles)),
                          "hub_pages_per_site": len(sites[0].hubs)}
        ceilings = [(name, not args.no_extract, lambda func=func: extraction_rate(sites, func))
                    for name, func in CEILINGS.items()]
        steps = [*ceilings,
                 ("local", True, lambda: run_local(web, sites, work, args.long)),
                 ("s3", not args.no_s3, lambda: run_s3(web, sites, work)),
                 ("naive", not args.no_naive, lambda: run_naive(web, sites, work)),
                 ("profile", args.profile, lambda: run_profile(web, sites, work))]
        for name, enabled, step in steps:
            if enabled:
                log(f"running {name} (load average {os.getloadavg()[0]:.2f})")
                load = os.getloadavg()[0]
                results[name] = step()
                results[name]["load_avg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return results


def _environment() -> dict[str, Any]:
    """What was measured: the commit, how many files differed from it, the machine."""
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=crawls.ROOT, capture_output=True, text=True,
                              timeout=30)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"),
            "dirty_files": len(git("status", "--porcelain").splitlines()),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if args.steady:
        return _main_steady(args, stamp)
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    try:
        raw = run_all(args, work)
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    raw["environment"] = _environment()
    summary = summarize(raw, vars(args))
    summary["environment"] = raw["environment"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps({"summary": summary, "raw": raw}, indent=2, default=str))
    print(render_table(summary))
    print(f"\nwritten: {out}")
    return 0


def _main_steady(args: argparse.Namespace, stamp: str) -> int:
    table, raw = main_steady(args, log)
    raw["environment"] = _environment()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"steady-{stamp}.json"
    out.write_text(json.dumps(raw, indent=2, default=str))
    print(table)
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
