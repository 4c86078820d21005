"""A proxy.py plugin for :mod:`testkit.proxy`: one line for every request the proxy forwards
(its access log has one a connection), in the file ``NEWSARCHIVE_PROXY_LOG`` names:
``METHOD host:port/path``, and for a tunnel ``CONNECT host:port``."""

from __future__ import annotations

import os

from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

LOG_ENV = "NEWSARCHIVE_PROXY_LOG"


class RequestLog(HttpProxyBasePlugin):
    def handle_client_request(self, request: HttpParser) -> HttpParser | None:
        method = (request.method or b"").decode("latin-1")
        host = (request.host or b"").decode("latin-1")
        target = f"{host}:{request.port}"
        if method != "CONNECT":
            target += (request.path or b"/").decode("latin-1")
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(f"{method} {target}\n")
        return request
