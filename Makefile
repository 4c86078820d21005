# newsarchive: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo demo-s3 test soak lint eval eval-template bench bench-long bench-neardup bench-steady bench-aged bench-cluster clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

demo-s3: $(STAMP)
	$(BIN)/python -m demo --s3

test: $(STAMP)
	$(BIN)/python -m testkit.pywb .venv-pywb
	$(BIN)/python -m testkit.redis --install
	$(BIN)/python -m testkit.chromium --install
	$(BIN)/python -m pytest -q

# repeated kill -9 and fault soaks, too long for every CI run
soak: $(STAMP)
	$(BIN)/python -m pytest -q -s -m soak tests/test_kill.py

# extraction quality on both dev sets (../shared/eval, ../shared/eval2), next to standalone
# trafilatura; `python -m bench.evalreport --ablation` adds variants of our extraction
eval: $(STAMP)
	$(BIN)/python -m bench.evalreport --eval-dir ../shared/eval --eval-dir ../shared/eval2
	$(BIN)/python -m bench.template --eval-dir ../shared/eval --eval-dir ../shared/eval2

# per-site template learning on the sites with several pages (dev sets' publishers, fixture web)
eval-template: $(STAMP)
	$(BIN)/python -m bench.template --eval-dir ../shared/eval --eval-dir ../shared/eval2

# end-to-end throughput, CPU, memory, S3 requests, bytes: a loopback web built from ../shared/eval
bench: $(STAMP)
	$(BIN)/python -m bench

bench-long: $(STAMP)
	$(BIN)/python -m bench --long

# near-duplicate detection: recall, false positives and state size per method, on copies built
# from ../shared/eval and ../shared/eval2
bench-neardup: $(STAMP)
	$(BIN)/python -m bench.neardup

# the steady state: 20 runs of a living web (new articles, corrections, no validators)
bench-steady: $(STAMP)
	$(BIN)/python -m bench --steady

# a run of one site on a year of dedup state of 300 sites crawled every 15 minutes, synthesised
# into SeaweedFS: start-up, S3 requests and peak RSS, cold and warm, next to an empty archive
bench-aged: $(STAMP)
	$(BIN)/python -m bench.aged

# scaling out: articles/s with 1, 2 and 4 workers on many small politeness-bound sites (a Redis
# of its own on loopback; needs redis-server: make test installs it)
bench-cluster: $(STAMP)
	$(BIN)/python -m testkit.redis --install
	$(BIN)/python -m bench.cluster

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
# build and cache files only: the archive (./data) and the spool (.newsarchive/) are user data
	rm -rf $(VENV) .venv-pywb .pytest_cache .ruff_cache
