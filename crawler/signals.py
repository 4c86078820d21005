"""newsarchive's own signals, sent by the archive extension as a run closes, in this order.

``records_committed(reason)``: every record file of the run is queued for upload; state that
describes what they hold (the spider's polling state) is queued now, so that it never runs
ahead of the records. ``run_report_due(reason)``: the run report is built and queued, last.
"""

records_committed = object()
run_report_due = object()
