"""``make demo`` / ``make demo-s3``: serve the fictional demo sites, crawl them, show the result.

The crawl runs as a child process through the real command line, exactly as a user or cron
would run it; only the web server and, for --s3, the SeaweedFS server are started here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from archive.config import load_config
from archive.keys import RECORDS, kind_prefix
from archive.records import iter_records
from archive.s3 import S3Storage
from archive.spool import Spool
from archive.storage import Storage, open_storage
from demo.site import serve
from testkit.seaweed import SeaweedServer

DEMO_PORT = 8741
SITES = {"harbourtown": ("127.0.0.1", DEMO_PORT), "valleycourier": ("127.0.0.1", DEMO_PORT + 1)}
BUCKET = "newsarchive-demo"


def _newsarchive(*args: str, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, "-m", "newsarchive", *args]
    print("$ newsarchive " + " ".join(args), flush=True)
    return subprocess.call(command, env=env)


def _show_records(storage: Storage) -> None:
    print("\nArchived articles:")
    for info in storage.list(kind_prefix(RECORDS)):
        with storage.open_read(info.key) as stream:
            for record in iter_records(stream):
                note = (f"  (near-duplicate of {record['near_duplicate_of']})"
                        if record["near_duplicate_of"] else "")
                print(f"  [{record['site']}] {record['title']} — {len(record['text'].split())} "
                      f"words, v{record['version']}{note}")
    print(f"\nFiles are under {storage.location()}: raw/ (WARC and CDXJ), records/ (JSON Lines), "
          "runs/ (reports), state/ (dedup and fetch state)")


def run_local(config: str) -> int:
    with serve(SITES):
        code = _newsarchive("crawl", "--config", config)
        _newsarchive("ls", "--config", config)
    settings = load_config(config)
    _show_records(open_storage(settings.archive.uri, settings.archive.storage_options))
    return code


def run_s3(config: str) -> int:
    # a fresh server each time: its access keys are generated anew at every start
    data_dir = Path(".newsarchive/demo-s3").absolute()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    settings = load_config(config)
    uri = f"s3://{BUCKET}/archive"
    # the server is new each time: files a killed earlier demo left for it are stale
    shutil.rmtree(Spool(settings.archive.spool_dir, uri).root, ignore_errors=True)
    with SeaweedServer(data_dir) as s3, serve(SITES):
        s3.create_bucket(BUCKET)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": s3.access_key,
               "AWS_SECRET_ACCESS_KEY": s3.secret_key, "AWS_ENDPOINT_URL": s3.endpoint_url,
               "AWS_DEFAULT_REGION": "us-east-1"}
        code = _newsarchive("crawl", "--config", config, "--archive", uri, env=env)
        _newsarchive("ls", "--config", config, "--archive", uri, env=env)
        storage = S3Storage.from_uri(uri, endpoint_url=s3.endpoint_url,
                                     access_key=s3.access_key, secret_key=s3.secret_key)
        _show_records(storage)
        keys = [info.key for info in storage.list("")]
        print(f"\n{len(keys)} objects in {uri} on {s3.endpoint_url} (SeaweedFS):")
        for key in keys:
            print(f"  {key}")
    print("SeaweedFS stopped; its data stays in", data_dir)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo")
    parser.add_argument("--s3", action="store_true", help="archive into a local SeaweedFS")
    parser.add_argument("--config", default="newsarchive.toml")
    args = parser.parse_args()
    return run_s3(args.config) if args.s3 else run_local(args.config)


if __name__ == "__main__":
    sys.exit(main())
