"""A small loopback news site whose article pages share template paragraphs inside the
article body, where an extractor keeps them: a newsletter box, an author bio, a legal line.

Two languages (``en``, ``de``), all text invented. Besides the template, each page holds what
must survive template learning: story 0 repeats one of its own paragraphs, stories 1 and 2
share a background paragraph (two articles: below the threshold of three), and story 0 can
be updated to a new version (``update``) that keeps most of its lines.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass, field

from testkit.fakeweb.response import HTML, Response
from testkit.fakeweb.server import LoopbackServer, Request

_WORDS = {
    "en": {
        "sentence": "{subject} {verb} {thing} {tail}.",
        "places": ["Saltmere", "Kettle Bay", "Orrin Ford", "Lowmarsh", "Brackwater", "Fenholt",
                   "Gullstead", "Mirrowby"],
        "things": ["the ferry timetable", "a new tide gauge", "the fish market roof",
                   "the lighthouse lease", "a school bus route", "the harbour dredging",
                   "the night train", "a cold store"],
        "subjects": ["Councillors", "Pilots", "Nurses", "Aldermen", "Stallholders", "Rowers",
                     "Surveyors", "Beekeepers", "Architects", "Ferrymen", "Shopkeepers",
                     "Archivists"],
        "verbs": ["opposed", "praised", "debated", "measured", "questioned", "photographed",
                  "defended", "redrew", "delayed", "mocked", "approved", "mapped"],
        "tails": ["at dawn", "near the quay", "after rumours", "in chapel", "with schoolchildren",
                  "despite rain", "during festivities", "in October", "at night", "in fog",
                  "upstairs", "unexpectedly"],
        "template": ["The Harbour Ledger morning briefing arrives every weekday at six, free "
                     "for all readers of the coast.",
                     "Mara Lindqvist covers the coastal towns and their councils for the "
                     "Ledger from its office on Quay Street.",
                     "Reproduction of this page is permitted for private study only, under "
                     "the Ledger's reader charter."],
        "repeated": "The final vote, the clerk repeated twice, is set for the spring meeting.",
        "shared": "Both towns have shared one harbour master since the storm of the old "
                  "pier, a post the county created.",
        "update": "Late on Thursday the council added a second reading to the agenda.",
    },
    "de": {
        "sentence": "{subject} {verb} {thing} {tail}.",
        "places": ["Salzmeer", "Kesselbucht", "Orrinfurt", "Niedermarsch", "Brackwasser",
                   "Fennholt", "Möwenstedt", "Spiegelby"],
        "things": ["den Fährfahrplan", "einen neuen Pegel", "das Dach der Fischhalle",
                   "die Pacht des Leuchtturms", "eine Schulbuslinie", "das Ausbaggern des Hafens",
                   "den Nachtzug", "ein Kühlhaus"],
        "subjects": ["Ratsleute", "Lotsen", "Pflegekräfte", "Ratsherren", "Händler", "Ruderer",
                  "Vermesser", "Imker", "Architektinnen", "Fährleute", "Ladenbesitzer",
                  "Archivare"],
        "verbs": ["bekämpften", "lobten", "berieten", "vermaßen", "bezweifelten",
                  "fotografierten", "verteidigten", "zeichneten", "vertagten", "verspotteten",
                  "billigten", "kartierten"],
        "tails": ["im Morgengrauen", "am Kai", "nach Gerüchten", "in der Kapelle",
                  "mit Schulkindern", "trotz Regen", "beim Fest", "im Oktober", "nachts",
                  "bei Nebel", "oben", "überraschend"],
        "template": ["Der Morgenbrief der Hafenzeitung kommt jeden Werktag um sechs, kostenlos "
                     "für alle Leserinnen und Leser der Küste.",
                     "Mara Lindqvist berichtet für die Hafenzeitung aus den Küstenorten und "
                     "ihren Räten, von der Redaktion in der Kaistraße.",
                     "Die Vervielfältigung dieser Seite ist nur zum privaten Studium erlaubt, "
                     "nach der Leserordnung der Zeitung."],
        "repeated": "Die Schlussabstimmung, wiederholte der Schreiber zweimal, ist für die "
                    "Frühjahrssitzung angesetzt.",
        "shared": "Beide Orte teilen sich seit dem Sturm am alten Steg einen Hafenmeister, "
                  "ein Amt, das der Kreis geschaffen hat.",
        "update": "Am späten Donnerstag setzte der Rat eine zweite Lesung auf die Tagesordnung.",
    },
}


def _paragraph(words: dict, rng: random.Random, place: str, thing: str) -> str:
    """Three invented sentences; drawn at random so that stories share no phrasing (else the
    crawl's near-duplicate detection would rightly take them for copies of one story)."""
    # one or two words a phrase: a story's 3-word shingles all hold its own place or topic
    sentences = [words["sentence"].format(place=place, thing=thing, **{
        part: rng.choice(words[f"{part}s"]) for part in ("subject", "verb", "tail")})
        for _ in range(3)]
    return f"{place}: {' '.join(sentences)}"


@dataclass
class Story:
    slug: str
    title: str
    paragraphs: list[str]  # the article's own text, in order (repeats included)


@dataclass
class TemplateSite:
    """The site's stories; ``pages`` of them are linked from the home page."""

    language: str
    stories: list[Story] = field(default_factory=list)
    pages: int = 0
    base_url: str = ""
    build: int = 0  # above 0: pages end with a build marker (new bytes, the same text)

    @property
    def template_lines(self) -> list[str]:
        return _WORDS[self.language]["template"]

    @property
    def repeated_line(self) -> str:
        return _WORDS[self.language]["repeated"]

    @property
    def shared_line(self) -> str:
        return _WORDS[self.language]["shared"]

    def url(self, story: Story) -> str:
        return f"{self.base_url}/news/2026/11/{story.slug}.html"

    def update(self, index: int = 0) -> None:
        """A new version of a story: a paragraph added, the rest kept."""
        self.stories[index].paragraphs.insert(2, _WORDS[self.language]["update"])

    def respond(self, request: Request) -> Response:
        path = request.target.split("?")[0]
        if path == "/":
            return Response(200, HTML, self._home().encode("utf-8"))
        for story in self.stories[:self.pages]:
            if path == f"/news/2026/11/{story.slug}.html":
                return Response(200, HTML, self._article(story).encode("utf-8"))
        return Response(404, HTML, b"<html><body><p>Not found</p></body></html>")

    def _home(self) -> str:
        links = "".join(f'<li><a href="{self.url(s)}">{html.escape(s.title)}</a></li>'
                        for s in self.stories[:self.pages])
        return (f'<!doctype html><html lang="{self.language}"><head><title>Harbour Ledger'
                f'</title></head><body><h1>Harbour Ledger</h1><ul>{links}</ul></body></html>')

    def _article(self, story: Story) -> str:
        newsletter, bio, legal = self.template_lines
        own = [f"<p>{html.escape(p)}</p>" for p in story.paragraphs]
        # the newsletter box sits mid-story, the bio and the legal line close it: all inside
        # the article body, where an extractor keeps them
        body = (own[:2] + [f"<p>{html.escape(newsletter)}</p>"] + own[2:]
                + [f"<p>{html.escape(bio)}</p>", f"<p>{html.escape(legal)}</p>"])
        meta = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                           "headline": story.title, "datePublished": "2026-11-20T08:00:00Z",
                           "author": {"@type": "Person", "name": "Mara Lindqvist"}})
        return (f'<!doctype html><html lang="{self.language}"><head><meta charset="utf-8">'
                f"<title>{html.escape(story.title)} | Harbour Ledger</title>"
                f'<link rel="canonical" href="{self.url(story)}">'
                f'<script type="application/ld+json">{meta}</script></head><body>'
                f'<nav><a href="/">Home</a></nav><article><h1>{html.escape(story.title)}</h1>'
                f'{"".join(body)}</article><footer><a href="/">Harbour Ledger</a></footer>'
                f"</body></html>" + (f"<!-- build {self.build} -->" if self.build else ""))


def build_site(language: str, stories: int = 8) -> TemplateSite:
    words = _WORDS[language]
    rng = random.Random(f"ledger-{language}")
    site = TemplateSite(language)
    for i in range(stories):
        place, thing = words["places"][i % 8], words["things"][i % 8]
        paragraphs = [_paragraph(words, rng, place, thing) for _ in range(10)]
        if i == 0:
            paragraphs.insert(3, words["repeated"])
            paragraphs.append(words["repeated"])
        if i in (1, 2):
            paragraphs.append(words["shared"])
        site.stories.append(Story(f"council-story-{i}", f"{place}: {thing}", paragraphs))
    return site


def serve(site: TemplateSite) -> LoopbackServer:
    server = LoopbackServer().start()
    port = server.listen("127.0.0.1", 0, site.respond)
    site.base_url = f"http://127.0.0.1:{port}"
    return server
