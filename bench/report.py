"""Turn the raw measurements into a summary, a text table and target verdicts."""

from __future__ import annotations

from typing import Any

WRITE_OPS = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
# the ceilings: standalone trafilatura (default settings) and our extract_article, each alone
# in 2 worker processes over the same page bytes; the first is the reference of the targets
CEILINGS = ("trafilatura_only", "ours_only")
COLUMNS = (*CEILINGS, "local", "s3", "naive")
TITLES = {"trafilatura_only": "trafilatura x2", "ours_only": "ours x2", "local": "crawl local",
          "s3": "crawl S3", "naive": "naive scrapy"}


def _per(value: float, count: float, scale: float = 1.0) -> float | None:
    return round(value * scale / count, 2) if count else None


def _crawl_column(run: dict[str, Any], ceilings: dict[str, float]) -> dict[str, Any]:
    wall = run["wall_s"]
    rep = run.get("report", {})
    articles = rep.get("records", run.get("items", 0))
    article_pages = run["server_article_hits"]
    col = {
        "wall_s": round(wall, 1), "exit_code": run["returncode"],
        "run_duration_s": rep.get("duration_s"),
        "pages": rep.get("pages_fetched", run["server_requests"]),
        "article_pages": article_pages, "articles": articles,
        "pages_per_s": _per(rep.get("pages_fetched", run["server_requests"]), wall),
        "article_pages_per_s": _per(article_pages, wall),
        "articles_per_s": _per(articles, wall),
        "main_cpu_s": round(run["main_cpu_s"], 1),
        "workers_cpu_s": round(run["children_cpu_s"], 1),
        "main_cpu_pct": _per(run["main_cpu_s"], wall, 100),
        "workers_cpu_pct": _per(run["children_cpu_s"], wall, 100),
        "main_peak_rss_mb": round(run["main_peak_rss_mb"], 1),
        "worker_peak_rss_mb": round(run["worker_peak_rss_mb"], 1),
        "tree_peak_rss_mb": round(run["tree_peak_rss_mb"], 1),
        "server_cpu_s": run["bench_process_cpu_s"],
        "main_cpu_ms_per_article_page": _per(run["main_cpu_s"], article_pages, 1000),
        "workers_cpu_ms_per_article_page": _per(run["children_cpu_s"], article_pages, 1000),
        "load_avg_1m": run.get("load_avg_1m"),
    }
    for name, rate in ceilings.items():
        col[f"ratio_to_{name}"] = round(article_pages / wall / rate, 3)
    col.update(_stages(rep.get("cpu_seconds"), run["main_cpu_s"], article_pages))
    col.update(_storage(run.get("storage"), articles))
    return col


STAGES = ("warc", "dedup", "records")


def _stages(cpu: dict[str, float] | None, main_cpu_s: float, pages: int) -> dict[str, Any]:
    """CPU ms per article page by stage, from the run report's ``cpu_seconds``: extraction in
    the workers; WARC writing, dedup and record writing timed in the main process; "rest" is
    the main process's other CPU (HTTP, Scrapy, the spider, start-up, uploads)."""
    if not cpu:
        return {}
    out = {f"cpu_ms_{name}": _per(cpu.get(name, 0.0), pages, 1000) for name in STAGES}
    rest = main_cpu_s - sum(cpu.get(name, 0.0) for name in STAGES)
    out["cpu_ms_rest"] = _per(max(rest, 0.0), pages, 1000)
    out["cpu_ms_extract"] = _per(cpu.get("extract_workers", 0.0), pages, 1000)
    return out


def _storage(storage: dict[str, int] | None, articles: int) -> dict[str, Any]:
    if not storage:
        return {}
    return {"objects": storage["objects"],
            "raw_bytes_per_article": _per(storage["raw"], articles),
            "record_bytes_per_article": _per(storage["records"], articles),
            "dedup_state_bytes_per_article": _per(storage["dedup_state"], articles)}


def _s3(run: dict[str, Any], articles: int, sites: int) -> dict[str, Any]:
    counts = run.get("s3_requests", {})
    writes = sum(counts.get(op, 0) for op in WRITE_OPS)
    return {"s3_requests": sum(counts.values()), "s3_writes": writes,
            "s3_requests_per_1000_articles": _per(sum(counts.values()), articles, 1000),
            "s3_writes_per_1000_articles": _per(writes, articles, 1000),
            "s3_writes_per_site": _per(writes, sites), "s3_by_operation": counts}


def _ceiling_column(ex: dict[str, Any]) -> dict[str, Any]:
    return {"wall_s": ex["seconds"], "article_pages": ex["pages"],
            "article_pages_per_s": round(ex["pages_per_s"], 2),
            "extract_errors": ex["errors"], "extract_empty": ex["empty"],
            "workers_cpu_s": ex["workers_cpu_s"],
            "workers_cpu_ms_per_article_page": _per(ex["workers_cpu_s"], ex["pages"], 1000),
            "load_avg_1m": ex.get("load_avg_1m")}


def summarize(raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    ceilings = {name: raw[name]["pages_per_s"] for name in CEILINGS
                if raw.get(name, {}).get("pages_per_s")}
    columns: dict[str, Any] = {name: _ceiling_column(raw[name]) for name in CEILINGS
                               if name in raw}
    if "trafilatura_only" in columns and "ours_only" in columns:
        columns["ours_only"]["ratio_to_trafilatura_only"] = round(
            ceilings["ours_only"] / ceilings["trafilatura_only"], 3)
    for name in ("local", "s3", "naive"):
        if name in raw:
            columns[name] = _crawl_column(raw[name], ceilings)
    if "s3" in raw:
        columns["s3"].update(_s3(raw["s3"], columns["s3"]["articles"], raw["web"]["sites"]))
    web = raw["web"]
    expected = web["sites"] * web["articles_per_site"] - web["duplicates"]
    summary = {"options": options, "web": web, "templates": raw["templates"],
               "rejected_pages": raw["rejected_pages"], "expected_records": expected,
               "columns": columns, "targets": _targets(columns)}
    for key in ("local", "s3"):
        if key in raw:
            summary[f"{key}_outcomes"] = raw[key]["report"]["outcomes"]
    if "local" in raw and raw["local"].get("rss_marks"):
        summary["rss_marks"] = raw["local"]["rss_marks"]
    if "profile" in raw:
        summary["profile_top"] = raw["profile"]["top"]
    return summary


def _targets(columns: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # issue 14: the archive crawls, extracts, deduplicates and stores faster than trafilatura
    # alone extracts the same pages on the same cores
    for name in ("local", "s3"):
        ratio = columns.get(name, {}).get("ratio_to_trafilatura_only")
        if ratio is not None:
            out[f"e2e_{name}_gt_1.0x_trafilatura_only"] = {"value": ratio, "met": ratio > 1.0}
    s3 = columns.get("s3", {})
    if s3.get("s3_writes_per_1000_articles") is not None:
        value = s3["s3_writes_per_1000_articles"]
        out["s3_writes_le_2_per_1000_articles"] = {"value": value, "met": value <= 2}
    for name in ("local", "s3"):
        value = columns.get(name, {}).get("dedup_state_bytes_per_article")
        if value is not None:
            out[f"dedup_{name}_le_200_bytes_per_article"] = {"value": value, "met": value <= 200}
    return out


ROWS = ("wall_s", "run_duration_s", "exit_code", "pages", "article_pages", "articles",
        "pages_per_s", "article_pages_per_s", "articles_per_s", "ratio_to_trafilatura_only",
        "ratio_to_ours_only", "main_cpu_s",
        "workers_cpu_s", "main_cpu_pct", "workers_cpu_pct", "main_peak_rss_mb",
        "worker_peak_rss_mb", "tree_peak_rss_mb", "main_cpu_ms_per_article_page",
        "workers_cpu_ms_per_article_page", "cpu_ms_extract", "cpu_ms_warc", "cpu_ms_dedup",
        "cpu_ms_records", "cpu_ms_rest", "server_cpu_s", "load_avg_1m", "objects",
        "raw_bytes_per_article", "record_bytes_per_article", "dedup_state_bytes_per_article",
        "s3_requests", "s3_writes", "s3_requests_per_1000_articles",
        "s3_writes_per_1000_articles", "s3_writes_per_site", "extract_errors", "extract_empty")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "->".join(_cell(v) for v in value)
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def render_table(summary: dict[str, Any]) -> str:
    cols = [c for c in COLUMNS if c in summary["columns"]]
    data = summary["columns"]
    lines = [f"{'metric':<32}" + "".join(f"{TITLES[c]:>15}" for c in cols)]
    for row in ROWS:
        if any(row in data[c] for c in cols):
            lines.append(f"{row:<32}" + "".join(f"{_cell(data[c].get(row)):>15}" for c in cols))
    lines.append(f"\nexpected records (unique texts): {summary['expected_records']:,}")
    for key in ("local_outcomes", "s3_outcomes"):
        if key in summary:
            lines.append(f"{key}: {summary[key]}")
    if "s3" in data:
        lines.append(f"S3 requests by operation: {data['s3'].get('s3_by_operation')}")
    lines += _mark_lines(summary.get("rss_marks", []), summary["web"])
    lines.append("\ntargets:")
    for name, verdict in summary["targets"].items():
        met = "MET" if verdict["met"] else "NOT met"
        lines.append(f"  {name:<44} {verdict['value']:>10}  {met}")
    if "profile_top" in summary:
        lines.append("\ncrawl main process, cProfile top by own time:")
        lines += summary["profile_top"]
    return "\n".join(lines)


def _mark_lines(marks: list[dict], web: dict[str, Any]) -> list[str]:
    """RSS at each mark, and the article-page rate over the segment since the previous one."""
    total = web["sites"] * web["articles_per_site"]
    lines, last_p, last_t = [], 0.0, 0.0
    for mark in marks:
        span = mark["elapsed_s"] - last_t
        rate = (mark["progress"] - last_p) * total / span if span > 0 else 0.0
        lines.append(f"at {mark['progress']:.0%} ({mark['elapsed_s']} s, {rate:.1f} article "
                     f"pages/s since previous): RSS main {mark['main_rss_mb']} MB, "
                     f"workers {mark['workers_rss_mb']} MB")
        last_p, last_t = mark["progress"], mark["elapsed_s"]
    return lines
