"""Item pipelines, one a stage: extraction (in worker processes), dedup, store."""
