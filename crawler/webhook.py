"""Telling someone: a JSON POST to ``[alerts] webhook_url`` when a run fails, a site is held by
another crawl, or a yield alert fires (``crawler/alerts.py``).

The body is decided with the run report and recorded in it (``webhook``), so what was sent can
be read back beside the figures it is about. It is sent from a thread of its own, started once
the report is queued: never on the reactor, and in parallel with the run's last uploads; the
process waits for it at ``engine_stopped``, at most ``webhook_attempts`` attempts of
``webhook_timeout`` seconds, 1 s, 2 s, 4 s... apart. Connection errors, timeouts, 429 and 5xx
answers are tried again; another 4xx is not (the request itself is wrong). A webhook that
never answers costs the run that bound and nothing else: delivery is never a reason to fail.

The URL may carry its secret (Slack's and Mattermost's are a token in the path; some take a
``?token=``; basic auth as ``https://user:password@host/``), so logs name only its scheme and
host. A user and password go in an ``Authorization`` header, not the request line. The body
has a ``text`` line, which chat webhooks (Slack, Mattermost, Rocket.Chat) show as is.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from archive.config import AlertsConfig
from archive.run_reports import RunReport

logger = logging.getLogger(__name__)
MAX_BACKOFF = 10.0


def where(url: str) -> str:
    """What a log line may say about the URL: its scheme and host (and port)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def webhook_body(report: RunReport, failed: bool) -> dict[str, Any] | None:
    """The POST body for this run's report, or None when there is nothing to tell: the run
    did not fail, no site was held, no yield alert fired."""
    events: list[dict[str, Any]] = []
    if failed:
        failure = {"event": "run_failed", "finish_reason": report.finish_reason,
                   "errors": {site: dict(run.errors) for site, run in report.sites.items()
                              if run.errors}}
        events.append(failure if report.error is None else {**failure, "error": report.error})
    for held in report.sites_held or ():
        events.append({"event": "site_held", "site": held.get("site"),
                       "holder": held.get("crawl_id")})
    for site, run in report.sites.items():
        for alert in run.alerts:
            events.append({"event": "yield_alert", "site": site, **alert})
    if not events:
        return None
    return {"source": "newsarchive", "crawl_id": report.crawl_id, "report": report.key,
            "archive": report.archive, "finish_reason": report.finish_reason,
            "text": _text(report.crawl_id, events), "events": events}


def _text(crawl_id: str, events: list[dict[str, Any]]) -> str:
    lines = []
    for event in events:
        if event["event"] == "run_failed":
            lines.append(f"run failed ({event.get('error') or event['finish_reason']})")
        elif event["event"] == "site_held":
            lines.append(f"{event['site']}: skipped, held by crawl {event['holder']}")
        else:
            lines.append(f"{event['site']}: {event['message']}")
    return f"newsarchive crawl {crawl_id}: " + "; ".join(lines)


@dataclass
class Delivery:
    delivered: bool = False
    attempts: int = 0
    last_error: str = ""


def _request(url: str, body: bytes) -> urllib.request.Request:
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "User-Agent": "newsarchive-webhook"}
    if parts.username is not None:
        user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(user_pass.encode()).decode()
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        url = urlunsplit(parts._replace(netloc=netloc))
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def _attempt(request: urllib.request.Request, timeout: float) -> tuple[bool, bool, str]:
    """(delivered, worth retrying, what went wrong): never the URL, which may be a secret."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(64 * 1024)
            return True, False, ""
    except urllib.error.HTTPError as exc:
        return False, exc.code == 429 or exc.code >= 500, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, True, type(reason).__name__


def deliver(alerts: AlertsConfig, body: dict[str, Any]) -> Delivery:
    """POST ``body`` to the webhook, with the bounded retries; blocking (call in a thread)."""
    result = Delivery()
    if not alerts.webhook_url:
        return result
    data = json.dumps(body).encode("utf-8")
    request = _request(alerts.webhook_url, data)
    for attempt in range(alerts.webhook_attempts):
        if attempt:
            time.sleep(min(2.0 ** (attempt - 1), MAX_BACKOFF))
        result.attempts += 1
        ok, again, problem = _attempt(request, alerts.webhook_timeout)
        if ok:
            result.delivered = True
            logger.info("webhook %s told (attempt %d)", where(alerts.webhook_url), attempt + 1)
            return result
        result.last_error = problem
        logger.warning("webhook %s: attempt %d of %d failed: %s", where(alerts.webhook_url),
                       attempt + 1, alerts.webhook_attempts, problem)
        if not again:
            break
    logger.error("webhook %s not told of crawl %s: %s", where(alerts.webhook_url),
                 body.get("crawl_id"), result.last_error)
    return result


class WebhookThread:
    """One delivery in a thread of its own; :meth:`join` waits for it (bounded by the
    attempts and timeouts)."""

    def __init__(self, alerts: AlertsConfig, body: dict[str, Any]) -> None:
        self.result = Delivery()
        self._thread = threading.Thread(target=self._run, args=(alerts, body),
                                        name="newsarchive-webhook")
        self._thread.start()

    def _run(self, alerts: AlertsConfig, body: dict[str, Any]) -> None:
        try:
            self.result = deliver(alerts, body)
        except Exception:  # a bug must not take the run's end with it
            logger.exception("webhook delivery failed")

    def join(self) -> Delivery:
        self._thread.join()
        return self.result
