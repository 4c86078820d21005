"""A loopback web with a JavaScript-built news site, for ``render = "browser"``.

Three hosts on one port: the Lantern Post (127.0.0.1), whose article pages are shells that a
script fills from a JSON API; the Millbrook Courier (127.0.0.2), a plain site whose articles are
in their HTML; and an "intranet" (127.0.0.3), a private address the crawl is not allowed to
reach, which only counts what reaches it. The Lantern Post's pages also ask that intranet for a
script, directly and through a redirect of one of its own, load a script from the Courier's
host (as from a CDN), and show a photo. Fictional stories.
"""

from __future__ import annotations

import gzip
import html
import json
import threading
from dataclasses import dataclass

from testkit.fakeweb.response import HTML, Response
from testkit.fakeweb.server import LoopbackServer, Request

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@dataclass(frozen=True)
class Story:
    slug: str
    headline: str
    author: str
    published: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/2026/11/{self.slug}/"


LANTERN = (
    Story("harbour-lights-return", "Harbour lights return to the old pier", "Ines Falk",
          "2026-11-28", (
              "The six cast-iron lanterns that once lined the old pier of Gullhaven were lit "
              "again on Friday evening, forty years after the last of them went dark.",
              "Volunteers of the Pier Society spent two winters stripping the rust from the "
              "posts and fitting each lantern with a lamp that draws less power than a radio.",
              "Harbour master Tomas Ekland said the light carries far enough for the evening "
              "ferry to use it as a mark when the fog rolls in from the skerries.",
              "The society now hopes to restore the tide bell that hung at the pier's end "
              "until a storm carried it off in the winter of 1987.",
          )),
    Story("orchard-cooperative-vote", "Orchard growers vote to share one cider press",
          "Noor Vandel", "2026-11-27", (
              "Apple growers in the Selby valley voted by a wide margin on Thursday to buy a "
              "single cider press and share it across the eleven farms of the cooperative.",
              "Until now each farm pressed its own fruit, and smaller orchards often sold "
              "their windfalls for juice at a loss when their old presses broke down.",
              "The cooperative's treasurer, Aldo Brenn, said the press will move between the "
              "farms on a trailer during the six weeks of the harvest.",
              "Members will decide in the spring whether the valley's cider should carry a "
              "shared label or keep the names of the farms it comes from.",
          )),
)
COURIER = Story(
    "bridge-repairs-finished", "Footbridge over the Millbrook reopens after repairs",
    "Kasia Orme", "2026-11-26", (
        "The wooden footbridge over the Millbrook reopened on Wednesday after three months of "
        "repairs to its piers, which the spring floods had undermined.",
        "Engineers replaced the two middle supports with stone-filled cages that let the water "
        "pass through instead of pushing against the timber.",
        "The council said walkers and cyclists can use the bridge again, though riders are "
        "asked to dismount on the steep ramp at its eastern end.",
    ))

STORY_SCRIPT = """\
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("story-body");
  fetch("/api/stories/" + holder.dataset.story + ".json")
    .then(function (answer) { return answer.json(); })
    .then(function (story) {
      story.paragraphs.forEach(function (text) {
        var paragraph = document.createElement("p");
        paragraph.textContent = text;
        holder.appendChild(paragraph);
      });
    });
});
"""


def _page(title: str, body: str, head: str = "") -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>{head}</head><body>{body}</body></html>")


class JsWeb:
    """The three hosts on one free port: ``with JsWeb() as web: ...``."""

    def __init__(self) -> None:
        self._server: LoopbackServer | None = None
        self.port = 0
        self._log: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> JsWeb:
        self._server = LoopbackServer("fixture-httpd", send_date=True, idle_timeout=10).start()
        responders = [lambda request, index=index: self._respond(index, request)
                      for index in range(len(HOSTS))]
        self.port = self._server.listen_together(HOSTS, responders)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def url(self, host: int, path: str) -> str:
        return f"http://{HOSTS[host]}:{self.port}{path}"

    def requests(self, host: int) -> list[tuple[str, dict[str, str]]]:
        """(path, headers) of every request the host received."""
        with self._lock:
            return [(path, headers) for ip, path, headers in self._log if ip == HOSTS[host]]

    # -- pages

    def _respond(self, index: int, request: Request) -> Response:
        with self._lock:
            self._log.append((request.host, request.target, request.headers))
        if index == 2:
            return Response(200, "application/javascript", b"window.intranet = true;")
        if request.target == "/robots.txt":
            return Response(200, "text/plain", b"User-agent: *\nAllow: /\n")
        if index == 1:
            return self._courier(request.target)
        response = self._lantern(request.target)
        if response.content_type == HTML and "gzip" in request.header("Accept-Encoding"):
            # sent gzip-encoded: the browser must get the decoded body
            response = Response(200, HTML, gzip.compress(response.body, mtime=0),
                                headers=(("Content-Encoding", "gzip"),))
        return response

    def _lantern(self, path: str) -> Response:
        by_path = {story.path: story for story in LANTERN}
        if path == "/":
            links = "".join(f'<li><a href="{s.path}">{html.escape(s.headline)}</a></li>'
                            for s in LANTERN)
            return _html(_page("The Lantern Post", f"<h1>The Lantern Post</h1><ul>{links}</ul>"))
        if path in by_path:
            return _html(self._shell(by_path[path]))
        if path.startswith("/api/stories/") and path.endswith(".json"):
            slug = path[len("/api/stories/"):-len(".json")]
            story = next((s for s in LANTERN if s.slug == slug), None)
            if story is not None:
                return Response(200, "application/json",
                                json.dumps({"paragraphs": story.paragraphs}).encode())
        if path == "/static/story.js":  # to the current build, as asset pipelines do
            return Response(301, "text/plain", b"", headers=(
                ("Location", "/static/story.7f3a.js"),))
        if path == "/static/story.7f3a.js":
            return Response(200, "application/javascript", STORY_SCRIPT.encode())
        if path == "/static/widget.js":  # one hop on, to the intranet
            return Response(302, "text/plain", b"", headers=(
                ("Location", self.url(2, "/intranet/widget.js")),))
        if path == "/2026/11/moved-on/":  # a page whose script sends the browser elsewhere
            return _html(_page("Moved on", '<p id="here">This page stays.</p><script>'
                               'location.href = "/2026/11/elsewhere/";</script>'))
        if path == "/static/harbour.jpg":
            return Response(200, "image/jpeg", b"\xff\xd8\xff\xe0" + b"\0" * 64)
        return Response(404, HTML, _page("Not found", "<p>No such page.</p>").encode())

    def _shell(self, story: Story) -> str:
        """An article page whose body is written by its script: only a shell here."""
        head = ('<script src="/static/story.js"></script>'
                f'<script src="{self.url(2, "/intranet/tracker.js")}"></script>'
                '<script src="/static/widget.js"></script>'
                f'<script src="{self.url(1, "/cdn/share-buttons.js")}"></script>'
                f'<meta property="og:title" content="{html.escape(story.headline)}">'
                f'<meta name="author" content="{html.escape(story.author)}">'
                f'<meta property="article:published_time" content="{story.published}">')
        body = ('<header><nav><a href="/">The Lantern Post</a></nav></header>'
                f'<main><article><h1>{html.escape(story.headline)}</h1>'
                f'<p class="byline">By {html.escape(story.author)}</p>'
                '<img src="/static/harbour.jpg" alt="">'
                f'<div id="story-body" data-story="{story.slug}"></div></article></main>'
                '<footer>The Lantern Post, Gullhaven</footer>')
        return _page(story.headline, body, head)

    def _courier(self, path: str) -> Response:
        story = COURIER
        if path == "/":
            return _html(_page("Millbrook Courier", f'<h1>Millbrook Courier</h1><a href="'
                                                    f'{story.path}">{story.headline}</a>'))
        if path == story.path:
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
            head = ('<script src="/static/app.js"></script>'
                    f'<meta name="author" content="{story.author}">'
                    f'<meta property="article:published_time" content="{story.published}">')
            return _html(_page(story.headline, f"<main><article><h1>{story.headline}</h1>"
                                               f"{paragraphs}</article></main>", head))
        if path == "/static/app.js":
            return Response(200, "application/javascript", b"window.courier = true;")
        if path == "/cdn/share-buttons.js":  # another host the Lantern Post loads from
            return Response(200, "application/javascript", b"window.share = true;")
        return Response(404, HTML, _page("Not found", "<p>No such page.</p>").encode())


def _html(text: str) -> Response:
    return Response(200, HTML, text.encode("utf-8"))
