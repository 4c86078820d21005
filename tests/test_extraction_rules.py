"""Unit tests of the general rules around trafilatura in ``pipelines/extraction.py``: body
trimming, and title, author and date read from the page's own metadata."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import html as lxml_html

from bench.evalreport import metadata_agrees
from bench.metadata_misses import misses
from pipelines.extraction import clean_text, extract_article
from pipelines.page_metadata import (
    clean_author,
    jsonld_nodes,
    page_author,
    page_published,
    page_title,
)

STORY = [
    "The council approved the new harbour budget on Tuesday after a long debate.",
    "Work on the northern pier is to start in spring and last about six months.",
]


def _tree(head: str, body: str = "") -> lxml_html.HtmlElement:
    return lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_cross_links_and_link_blocks_are_removed_anywhere() -> None:
    text = "\n".join([STORY[0], "Read more: Harbour plans delayed again", STORY[1],
                      "Don't miss", "Mayor resigns over budget", "Storm damages pier [PICTURES]",
                      "The mayor said the works would not disturb the ferry timetable."])
    assert clean_text(text) == "\n".join(
        [*STORY, "The mayor said the works would not disturb the ferry timetable."])


def test_trailing_credits_prompts_and_copyright_are_trimmed() -> None:
    text = "\n".join([*STORY, "Reporting by Jane Doe; Editing by John Roe",
                      "Subscribe to our morning newsletter",
                      "Follow us on Twitter and Facebook.", "© 2026 Gazette Media", "Comments"])
    assert clean_text(text) == "\n".join(STORY)


def test_leading_headline_and_dateline_are_trimmed() -> None:
    text = "\n".join(["Harbour budget approved", "Tuesday, 3 March 2026 at 10:15", *STORY])
    assert clean_text(text, title="Harbour budget approved") == "\n".join(STORY)


def test_body_lines_that_merely_look_like_boilerplate_are_kept() -> None:
    text = "\n".join([STORY[0], "More than 300 residents signed the petition against it.",
                      "Related coverage of the vote will follow next week, the paper said.",
                      STORY[1], "— Harbour Watch (@harbourwatch) March 3, 2026"])
    assert clean_text(text) == text


def test_title_prefers_the_shown_headline_over_tab_titles() -> None:
    tree = _tree('<title>Harbour budget approved | The Gazette</title>'
                 '<meta property="og:site_name" content="The Gazette">'
                 '<meta property="og:title" content="Harbour budget approved - The Gazette">',
                 "<h1>Harbour budget approved</h1>")
    assert page_title(tree, jsonld_nodes(tree)) == "Harbour budget approved"


def test_title_falls_back_to_the_h1_within_a_decorated_title() -> None:
    tree = _tree("<title>Harbour budget approved by council :: Gazette Online</title>",
                 "<h1>Harbour budget approved by council</h1>")
    assert page_title(tree, []) == "Harbour budget approved by council"


def test_author_from_jsonld_and_meta_without_by_prefix() -> None:
    tree = _tree('<script type="application/ld+json">{"@type": "NewsArticle", "author": '
                 '[{"@type": "Person", "name": "Jane Doe"}, {"name": "John Roe"}]}</script>')
    assert page_author(tree, jsonld_nodes(tree)) == "Jane Doe; John Roe"
    tree = _tree('<meta name="author" content="By Jane Doe and John Roe">')
    assert page_author(tree, []) == "Jane Doe; John Roe"
    assert clean_author("By Jane Doe, https://twitter.com/janedoe") == "Jane Doe"


def test_published_keeps_full_timestamps_and_reads_spelled_out_dates() -> None:
    tree = _tree('<meta property="article:published_time" content="2026-03-03T10:15:00Z">')
    assert page_published(tree) == "2026-03-03T10:15:00Z"
    tree = _tree('<script type="application/ld+json">{"@type": "NewsArticle", '
                 '"datePublished": "March 3, 2026, 10:15 AM EST"}</script>')
    assert page_published(tree) == "2026-03-03T10:15:00-05:00"


def test_extract_article_reads_jsonld_metadata() -> None:
    page = b"""<html><head><title>Harbour budget approved | The Gazette</title>
      <script type="application/ld+json">{"@context": "https://schema.org",
        "@graph": [{"@type": "NewsArticle", "headline": "Harbour budget approved",
        "author": {"@type": "Person", "name": "Jane Doe"},
        "datePublished": "2026-03-03T10:15:00+01:00"}]}</script></head>
      <body><article><h1>Harbour budget approved</h1>
      <p>The council approved the new harbour budget on Tuesday after a long debate.</p>
      <p>Work on the northern pier is to start in spring and last about six months.</p>
      <p>Read more: Harbour plans delayed again</p>
      <p>The mayor said the works would not disturb the ferry timetable this summer.</p>
      <p>Reporting by Jane Doe; Editing by John Roe</p></article></body></html>"""
    result = extract_article(page, "https://gazette.example/2026/03/03/harbour")
    assert result is not None
    assert (result.title, result.author) == ("Harbour budget approved", "Jane Doe")
    assert result.published == "2026-03-03T10:15:00+01:00"
    assert "Read more" not in result.text and "Editing by" not in result.text
    assert result.text.endswith("ferry timetable this summer.")


def test_eval_report_metadata_comparison_is_lenient_on_spelling_only() -> None:
    assert metadata_agrees("title", "Harbour budget approved",
                           "Harbour budget approved | The Gazette")
    assert not metadata_agrees("title", "Harbour", "Harbour budget approved")
    assert metadata_agrees("author", "Jane Doe; John Roe", "By Jane Doe and John Roe")
    assert metadata_agrees("published", "2026-03-03T09:15:00Z", "2026-03-03T10:15:00+01:00")
    assert metadata_agrees("published", "2026-03-03T10:15:00+01:00", "March 3, 2026")
    assert not metadata_agrees("published", "2026-03-04", "2026-03-03T10:15:00+01:00")


def test_calls_to_action_are_trimmed() -> None:
    text = "\n".join([*STORY,
                      "Follow our full coverage of the harbour at https://gazette.example/harbour",
                      "Get the print edition every month. Click here for more information."])
    assert clean_text(text) == "\n".join(STORY)


def test_a_long_closing_paragraph_is_kept_even_if_it_mentions_a_newsletter() -> None:
    closing = ("The harbour master, who has written a weekly newsletter for fishermen for twenty "
               "years, said the works were overdue and that the northern pier had been unsafe "
               "since the winter storms, when two boats were damaged at their moorings, and "
               "that the council should have acted much sooner.")
    assert clean_text("\n".join([*STORY, closing])) == "\n".join([*STORY, closing])


def test_spans_inside_paragraphs_do_not_lose_their_words() -> None:
    page = b"""<html><body><article><h1>Harbour budget approved</h1>
      <p>The council approved the new harbour budget on Tuesday after a long debate.</p>
      <p>The paper reported that <span class="link"><a href="/x">the mayor will resign</a></span>
      before the works on the northern pier start in spring this year.</p>
      <p>Work on the northern pier is to start in spring and last about six months.</p>
      </article></body></html>"""
    result = extract_article(page, "https://gazette.example/2026/03/03/harbour")
    assert result is not None and "reported that the mayor will resign before" in result.text


def test_author_handles_and_addresses_are_dropped() -> None:
    assert clean_author("By Jane Doe (@janedoe)") == "Jane Doe"
    assert clean_author("jane@gazette.example") is None


def test_published_prefers_a_declaration_with_the_time_of_day() -> None:
    tree = _tree('<meta name="date" content="2026-03-03">'
                 '<script type="application/ld+json">{"@type": "NewsArticle", '
                 '"datePublished": "2026-03-03T10:15:00+01:00"}</script>')
    assert page_published(tree) == "2026-03-03T10:15:00+01:00"
    assert page_published(_tree('<meta name="date" content="2019">')) is None


def _wrapped(wrapper: str, levels: int) -> bytes:
    opening = wrapper * levels
    closing = "".join(f"</{tag}>" for tag in reversed(wrapper.strip("<>").split("><"))) * levels
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY)
    return (f'<html lang="en"><head><title>Harbour budget approved</title></head><body>'
            f"{opening}<article><h1>Harbour budget approved</h1>{paragraphs}</article>"
            f"{closing}</body></html>").encode()


def test_markup_nested_past_the_parsers_depth_limit_is_flattened_and_read() -> None:
    """libxml2 stops at 256 levels and drops the rest of the page: the nesting is flattened
    (redundant <div> chains collapse; anything else beyond 200 levels loses its tags) and
    the whole text is read."""
    url = "https://gazette.example/2026/03/03/harbour"
    for wrapper, levels in (("<div>", 20_000), ("<div><span>", 5_000)):
        result = extract_article(_wrapped(wrapper, levels), url)
        assert result is not None and result.flattened_depth > levels
        assert all(paragraph in result.text for paragraph in STORY), result.text
    shallow = extract_article(_wrapped("<div>", 150), url)
    assert shallow is not None and shallow.flattened_depth == 0
    assert shallow.text == "\n".join(STORY)


# --- whole-article cuts: pages built the way real CMSs build them ----------------------------

_PARAGRAPHS = [f"Paragraph {i} of the harbour story: the council met on Tuesday and the works on "
               f"the northern pier were discussed at length by the members present." for i in
               range(8)]


def _page(body: str) -> bytes:
    return (f"<html><head><title>Harbour works</title></head><body><header><a href='/'>Gazette"
            f"</a></header><article><h1>Harbour works</h1>{body}</article></body></html>"
            ).encode()


def _extract(body: str) -> str:
    result = extract_article(_page(body), "https://gazette.example/2026/harbour-works")
    assert result is not None
    return result.text


def test_article_cut_by_ad_slots_is_read_to_its_end() -> None:
    def chunk(paragraphs: list[str]) -> str:
        return ('<div class="grid__container"><div class="grid__content article__content">'
                + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div><aside class='sidebar'>"
                '<div class="ad"><span>Advertisement</span></div></aside></div>')
    slot = '<div class="ad ad__instory"><span class="ad-label">Advertisement</span></div>'
    text = _extract(chunk(_PARAGRAPHS[:3]) + slot + chunk(_PARAGRAPHS[3:6]) + slot
                    + chunk(_PARAGRAPHS[6:]))
    assert text.split("\n") == _PARAGRAPHS


def test_paragraph_made_mostly_of_an_in_text_link_is_kept() -> None:
    linked = ('It also <a href="https://nato.example/plans">co-ordinates military plans and '
              'carries out joint military exercises</a>.')
    text = _extract("".join(f"<div><p>{p}</p></div>" for p in _PARAGRAPHS[:3])
                    + f"<div><p>{linked}</p></div>"
                    + "".join(f"<div><p>{p}</p></div>" for p in _PARAGRAPHS[3:]))
    assert "It also co-ordinates military plans and carries out joint military exercises." \
        in text.split("\n")


def test_text_after_an_empty_bold_is_kept() -> None:
    text = _extract("".join(f"<p>{p}</p>" for p in _PARAGRAPHS[:4])
                    + "<p>The mayor <strong></strong>said the works would not disturb the ferry"
                      " timetable at all.</p>" + "".join(f"<p>{p}</p>" for p in _PARAGRAPHS[4:]))
    assert "The mayor said the works would not disturb the ferry timetable at all." \
        in text.split("\n")


# --- metadata ----------------------------------------------------------------------------------

def test_a_byline_naming_the_outlet_gives_way_to_the_writer() -> None:
    head = ('<meta property="og:site_name" content="Harbour Gazette">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
            '{"@type": "Organization", "name": "Harbour Gazette"}, "publisher": '
            '{"@type": "Organization", "name": "Harbour Gazette"}}</script>')
    tree = _tree(head, '<a rel="author" href="/authors/jm">Jeanne Martin</a>')
    assert page_author(tree, jsonld_nodes(tree), "https://www.harbourgazette.example/a") == \
        "Jeanne Martin"
    tree = _tree('<meta name="author" content="harbourgazette.example">')
    assert page_author(tree, [], "https://www.harbourgazette.example/a") is None


def test_author_names_lose_editor_signs_and_are_split_at_and() -> None:
    assert clean_author("Elena Oberholzer (obe), Oliver Maksan (oma)") == \
        "Elena Oberholzer; Oliver Maksan"
    assert clean_author("Monika Bolliger und Anna Trechsel") == "Monika Bolliger; Anna Trechsel"


def test_jsonld_time_of_day_wins_over_an_edition_date_and_keeps_its_offset() -> None:
    head = ('<meta property="article:published_time" content="2026-05-18">'
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2026-05-17T19:30:02+0200"}</script>')
    tree = _tree(head)
    assert page_published(tree) == "2026-05-17T19:30:02+02:00"


def test_a_labelled_link_to_another_story_is_dropped_in_any_language() -> None:
    crosslink = ('<p><b>Les også: <a href="/kjendis/annen-sak">Tone ofret karrieren for barna: '
                 '– Prioritert det viktigste</a></b></p>')
    text = _extract("".join(f"<p>{p}</p>" for p in _PARAGRAPHS[:4]) + crosslink
                    + "".join(f"<p>{p}</p>" for p in _PARAGRAPHS[4:]))
    assert text.split("\n") == _PARAGRAPHS


# --- metadata: authors are people, dates as shown, the kicker rule ---------------------------

_URL = "https://www.harbourgazette.example/2026/03/03/harbour"


def _author(head: str, body: str = "") -> str | None:
    tree = _tree(head, body)
    return page_author(tree, jsonld_nodes(tree), _URL)


def test_author_meta_names_are_case_insensitive_and_split_into_people() -> None:
    assert _author('<meta name="Author" content="Anna Berger und Lea Falk">') == \
        "Anna Berger; Lea Falk"


def test_a_byline_naming_the_publisher_of_the_meta_tags_is_no_person() -> None:
    head = ('<meta name="author" content="Harbour Broadcasting (www.hb.example)">'
            '<meta name="publisher" content="Harbour Broadcasting (www.hb.example)">')
    assert _author(head) is None


def test_microdata_bylines_of_related_stories_and_photos_are_not_the_authors() -> None:
    body = ('<main itemscope itemtype="https://schema.org/NewsArticle"><h1>Pier reopens</h1>'
            '<span itemprop="author" itemscope itemtype="https://schema.org/Person">By '
            '<span itemprop="name">Jeanne Martin</span></span>'
            '<figure itemscope itemtype="https://schema.org/ImageObject">'
            '<span itemprop="author">Photo Desk Team</span></figure></main>'
            '<section><div><span itemprop="author" itemscope><span itemprop="name">'
            'Tom Wilde</span></span> Ferry fares to rise</div></section>')
    assert _author("", body) == "Jeanne Martin"


def test_the_byline_shown_under_the_headline_names_the_writers() -> None:
    body = ('<nav><a href="/author/editor-in-chief">Mara Editor</a></nav>'
            "<article><h1>Pier reopens after repairs</h1>"
            '<div class="meta"><span class="date">Tue 03.03.26</span> '
            '<figure><figcaption class="author">Foto: Sam Lens</figcaption></figure>'
            '<ul class="authors"><li>von <a class="author-name" href="/autoren/jm">Jeanne '
            'Martin</a><span class="author-role">Senior Reporter</span></li>'
            '<li><a class="author-name" href="/autoren/pk">Piet Kramer</a></li></ul></div>'
            f"<p>{STORY[0]}</p></article>")
    assert _author("", body) == "Jeanne Martin; Piet Kramer"
    # a label, a lower-case sign or a reader's comment is not a byline
    assert _author("", '<h1>Pier reopens</h1><span class="byline">Author</span>') is None
    assert _author("", '<h1>Pier reopens</h1><ol id="comments"><li><div class="comment-author">'
                   "Rita Reader</div><p>Finally!</p></li></ol>") is None


def test_a_bold_sign_off_closing_the_body_names_the_writer() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY)
    assert _author("", f"<article>{paragraphs}<p><strong>Lan Vo Minh</strong></p></article>") \
        == "Lan Vo Minh"
    closing = "<p><strong>Sign up for our harbour newsletter.</strong></p>"
    assert _author("", f"<article>{paragraphs}{closing}</article>") is None


def test_the_date_shown_after_the_headline_wins_over_related_stories_older_dates() -> None:
    page = (f"<html><head><title>Pier reopens</title></head><body><article>"
            f"<h1>Pier reopens after repairs</h1><p>{STORY[0]}</p><p>{STORY[1]}</p>"
            "<ul><li><strong>Datum</strong> 28.04.2023</li></ul></article>"
            "<aside><h2>Older harbour news <span>24.04.2023</span></h2>"
            "<h2>Pier closes <span>02.04.2023</span></h2></aside></body></html>").encode()
    result = extract_article(page, "https://gazette.example/news/pier-reopens")
    assert result is not None and result.published == "2023-04-28"
    # guessed, not declared: a site's date window does not refuse the page by it
    assert result.published_guessed
    declared = page.replace(b"</head>", b'<meta property="article:published_time" '
                            b'content="2023-04-28T08:00:00+02:00"></head>')
    result = extract_article(declared, "https://gazette.example/news/pier-reopens")
    assert result is not None and not result.published_guessed


def test_a_kicker_shown_above_the_headline_is_kept_in_the_title() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", '
          '"headline": "Hafenstreit: Die Fähre fährt wieder"}</script>')
    shown = '<div class="kicker">Hafenstreit</div><h1>Die Fähre fährt wieder</h1>'
    tree = _tree(ld, shown)
    assert page_title(tree, jsonld_nodes(tree)) == "Hafenstreit: Die Fähre fährt wieder"
    # a prefix not shown on its own, or naming the site, is decoration: the <h1> stays
    tree = _tree(ld, "<h1>Die Fähre fährt wieder</h1>")
    assert page_title(tree, jsonld_nodes(tree)) == "Die Fähre fährt wieder"
    site = ('<meta property="og:site_name" content="Hafenblatt">'
            '<meta property="og:title" content="Hafenblatt - Die Fähre fährt wieder">')
    tree = _tree(site, '<div>Hafenblatt</div><h1>Die Fähre fährt wieder</h1>')
    assert page_title(tree, []) == "Die Fähre fährt wieder"


def test_metadata_misses_lists_the_pages_behind_the_figures(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    page = ('<html><head><meta name="author" content="Jeanne Martin">'
            '<meta property="article:published_time" content="2026-03-03T10:15:00+01:00">'
            "</head><body><article><h1>Pier reopens after repairs</h1>"
            + "".join(f"<p>{p}</p>" for p in STORY) + "</article></body></html>")
    (tmp_path / "pages" / "p1.html").write_text(page, encoding="utf-8")
    truth = {"id": "p1", "url": "https://gazette.example/pier", "body": " ".join(STORY),
             "title": "Pier reopens after repairs", "authors": ["Piet Kramer"],
             "published": "2026-03-03T09:15:00Z"}
    (tmp_path / "truth.jsonl").write_text(json.dumps(truth) + "\n", encoding="utf-8")
    assert list(misses(tmp_path)) == [{"set": tmp_path.name, "id": "p1", "field": "author",
                                       "expected": ["Piet Kramer"], "ours": "Jeanne Martin"}]


def test_a_jsonld_author_given_by_reference_is_resolved_in_the_graph() -> None:
    graph = ('<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", '
             '"author": {"@id": "https://g.example/#/schema/person/{n}"}}, '
             '{"@type": "Person", "@id": "https://g.example/#/schema/person/{n}", '
             '"name": "{name}"}]}</script>')
    assert _author(graph.replace("{n}", "1").replace("{name}", "Jeanne Martin")) == \
        "Jeanne Martin"
    # a CMS login is no name
    assert _author(graph.replace("{n}", "2").replace("{name}", "admin")) is None


def test_a_date_shown_that_no_calendar_has_is_not_taken() -> None:
    page = (f"<html><head><title>Pier reopens</title></head><body><article>"
            f"<h1>Pier reopens after repairs</h1><p>{STORY[0]}</p><p>{STORY[1]}</p>"
            "<ul><li><strong>Datum</strong> 31.02.2023</li></ul></article></body></html>"
            ).encode()
    result = extract_article(page, "https://gazette.example/news/pier-reopens")
    assert result is not None and result.published != "2023-02-31"


_STANDFIRST = ("The northern pier will close for six months while the council rebuilds it, and "
               "ferries will use the old quay in the meantime.")


def _described_page(description: str, body: str) -> bytes:
    return (f'<html><head><title>Harbour works</title><meta name="description" '
            f'content="{description}"></head><body><article><h1>Harbour works</h1>{body}'
            '</article></body></html>').encode()


def test_the_standfirst_the_page_declares_as_its_summary_is_not_body() -> None:
    standfirst = f'<div class="story"><p class="summary">{_STANDFIRST}</p>'
    body = '<div class="chunk">' + "".join(f"<p>{p}</p>" for p in _PARAGRAPHS) + "</div></div>"
    for summary in (_STANDFIRST, _STANDFIRST[:70]):  # a description may be cut short
        result = extract_article(_described_page(summary, standfirst + body),
                                 "https://gazette.example/2026/harbour-works")
        assert result is not None and result.text.split("\n") == _PARAGRAPHS


def test_a_first_paragraph_declared_as_the_summary_stays_body() -> None:
    paragraphs = [_STANDFIRST, *_PARAGRAPHS]
    body = '<div class="story"><div class="chunk">' + "".join(
        f"<p>{p}</p>" for p in paragraphs) + "</div></div>"
    result = extract_article(_described_page(_STANDFIRST, body),
                             "https://gazette.example/2026/harbour-works")
    assert result is not None and result.text.split("\n") == paragraphs


def test_teaser_cards_of_other_stories_are_not_body() -> None:
    card = ('<li><a href="/2026/ferry-{n}"><div><h3>Ferry timetable {n} changes</h3>'
            '<div class="date">2026-03-0{n}</div><p>CHANGES: The ferry company said the new '
            'timetable would add two crossings a day during the works on the northern '
            'pier.</p></div></a></li>')
    related = "<ul>" + "".join(card.format(n=n) for n in range(1, 5)) + "</ul>"
    text = _extract("".join(f"<p>{p}</p>" for p in _PARAGRAPHS) + related)
    assert text.split("\n") == _PARAGRAPHS


def test_cross_links_after_a_bar_and_lists_of_them_are_dropped() -> None:
    barred = ('<p><strong>FUNDA OLUNYE UDABA |</strong> <a href="/2026/pier">Umkhumbi omusha '
              'ufika ethekwini</a></p>')
    listing = ('<ul><li><strong>Hafen:</strong> <a href="/a">Alle Entwicklungen im Newsblog</a>'
               '</li><li><strong>Neue Fähre?</strong> <a href="/b">Die Stadt prüft zwei '
               'Angebote</a></li></ul>')
    text = _extract("".join(f"<p>{p}</p>" for p in _PARAGRAPHS[:4]) + barred + listing
                    + "".join(f"<p>{p}</p>" for p in _PARAGRAPHS[4:]))
    assert text.split("\n") == _PARAGRAPHS
