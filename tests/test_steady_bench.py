"""The steady-state bench (python -m bench --steady) on a small living web: its figures are
the crawl's own (the run reports and the server's counts), and the targets it prints hold."""

from __future__ import annotations

from pathlib import Path

from bench.steady import render_steady, run_steady


def test_steady_runs_fetch_only_new_due_and_corrected_articles(tmp_path: Path) -> None:
    figures = run_steady(sites=1, articles=30, runs=4, new_per_run=2, corrections=1,
                         work=tmp_path, log=lambda message: None)
    first, unchanged, *later = figures
    assert first.article_fetches == 30 and first.records["new"] + \
        first.records.get("near_duplicate", 0) == 30
    assert unchanged.article_fetches == 0 and unchanged.skipped["not_due"] >= 30
    for run in later:
        assert run.article_fetches <= run.fetched.get("new", 0) + run.fetched.get("due", 0) \
            + run.fetched.get("lastmod", 0)
        assert run.fetched.get("new", 0) == 2 and run.records.get("updated", 0) == 1
    table = render_steady(figures, archived=30)
    assert "second run over the unchanged web: 0 article fetches of 30" in table
    assert "NOT met" not in table
