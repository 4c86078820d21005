"""The cluster's Celery app, built from the config: queue, result backend and the settings for
long runs and lost workers.

Every run is a child process that may take many minutes, and machines die, so:

- ``task_acks_late`` with ``worker_prefetch_multiplier = 1``: a message is acknowledged only
  when its run ended, and a worker holds one message per free slot, never a stock of them;
- ``task_reject_on_worker_lost``: a run whose pool process died goes back to the queue;
- ``visibility_timeout`` (kombu's Redis transport redelivers a message unacknowledged for that
  long, which is also how the run of a ``kill -9``-ed worker comes back) is derived from the
  config as :func:`visibility_timeout`: longer than any run can last, plus the lease's lifetime,
  so that the redelivered run finds the dead run's lease expired and crawls;
- unacknowledged messages are swept every ``RESTORE_INTERVAL`` seconds (kombu's default sweep
  is every 100 s), so the redo comes at most that long after the visibility timeout;
- ``worker_cancel_long_running_tasks_on_connection_loss`` off: a run keeps going while Redis
  restarts; its acknowledgement may be lost with the connection, and the redelivery then finds
  the run's result under its task id and ends as skipped (:mod:`cluster.tasks`);
- the broker is retried forever, at start and after a loss: a worker outlives a Redis outage.

``celery -A cluster.app worker`` works too: the app is then built from the file named by
``NEWSARCHIVE_CONFIG_FILE`` (default ``./newsarchive.toml``), with ``NEWSARCHIVE_ARCHIVE``
overriding its archive URI.
"""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlparse

from celery import Celery

from archive.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from cluster.redis_keys import QUEUE
from cluster.timing import RESTORE_INTERVAL, RESULT_SECONDS, visibility_timeout

CONFIG_ENV = "NEWSARCHIVE_CONFIG_FILE"
ARCHIVE_ENV = "NEWSARCHIVE_ARCHIVE"
def tls_options(url: str) -> tuple[str, dict[str, Any] | None]:
    """A rediss:// URL as (the URL without its query, the TLS options for Celery and kombu).

    The server's certificate is verified by default (``ssl_cert_reqs=required``, against the
    system's CAs or ``ssl_ca_certs=PATH``); ``ssl_certfile``/``ssl_keyfile`` give a client
    certificate. Both the broker and the result backend get the same options, since Celery
    refuses a rediss:// backend without ``ssl_cert_reqs`` and kombu ignores the URL's query."""
    parsed = urlparse(url)
    if parsed.scheme != "rediss":
        return url, None
    query = dict(parse_qsl(parsed.query))
    reqs = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
    options: dict[str, Any] = {"ssl_cert_reqs": reqs.get(
        query.get("ssl_cert_reqs", "required").lower().removeprefix("cert_"), ssl.CERT_REQUIRED)}
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if query.get(name):
            options[name] = query[name]
    return parsed._replace(query="").geturl(), options


def celery_settings(config: Config, archive_uri: str | None) -> dict[str, Any]:
    assert config.cluster is not None
    url, tls = tls_options(config.cluster.broker_url)
    transport = {"visibility_timeout": visibility_timeout(config),
                 "unacked_restore_interval": RESTORE_INTERVAL, "unacked_restore_throttle": 1,
                 # a Redis that vanished without closing the connection is noticed
                 "socket_timeout": 30, "socket_connect_timeout": 10, "socket_keepalive": True,
                 "health_check_interval": 10}
    return {
        "broker_url": url, "result_backend": url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"visibility_timeout": visibility_timeout(config)},
        "broker_connection_retry_on_startup": True, "broker_connection_max_retries": None,
        "task_default_queue": QUEUE,
        "task_acks_late": True, "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True, "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_track_started": True, "result_expires": RESULT_SECONDS,
        "task_serializer": "json", "result_serializer": "json", "accept_content": ["json"],
        # the runs' own log lines go to the worker's stderr as they are, not re-logged
        "worker_hijack_root_logger": False, "worker_redirect_stdouts": False,
        "broker_use_ssl": tls, "redis_backend_use_ssl": tls,
        # where the worker's own config is: a task names only the site, each machine runs it
        # with its own file and credentials
        "newsarchive_config_path": os.path.abspath(config.path),
        "newsarchive_archive_uri": archive_uri,
    }


def build_app(config: Config, archive_uri: str | None = None) -> Celery:
    """The app for ``config`` (which must have ``[cluster]``), its tasks registered."""
    if config.cluster is None:
        raise ConfigError(f"{config.path}: cluster: missing (the cluster commands need "
                          f"[cluster] broker_url)")
    app = Celery("newsarchive", set_as_current=False)
    app.conf.update(celery_settings(config, archive_uri))
    import cluster.tasks  # noqa: F401 -- registers the tasks (shared tasks join every app)

    return app


def _app_from_environment() -> Celery:
    archive_uri = os.environ.get(ARCHIVE_ENV) or None
    config = load_config(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))
    return build_app(config.with_archive_uri(archive_uri), archive_uri)


def __getattr__(name: str) -> Any:
    # `celery -A cluster.app` looks up `app`: built on first use, so importing this module
    # to build an app from another config reads no file
    if name == "app":
        globals()["app"] = _app_from_environment()
        return globals()["app"]
    raise AttributeError(name)
