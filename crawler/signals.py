"""newsarchive's own signals.

Sent by the archive extension as a run closes, in this order: ``records_committed(reason)``:
every record file of the run is queued for upload; state that describes what they hold (the
fetch state (crawler/fetch_state.py)) is queued now, so that it never runs ahead of the records.
``run_report_due(reason)``: the run report is built and queued, last.

Sent by the replay spider: ``archived_crawl_started(crawl_id)``: the pages of the next archived
crawl of the day follow, every page of the crawls before having been through the pipelines;
what is decided once per run (one record per article per run) starts afresh.
"""

records_committed = object()
run_report_due = object()
archived_crawl_started = object()
