"""End-to-end and extraction benchmarks for newsarchive (issue 5): ``python -m bench``."""
