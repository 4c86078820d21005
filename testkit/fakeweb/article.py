"""Article pages (and their AMP copies): a story's body in its theme, with the clutter around it.

Which extras a page carries is site data: ``amp`` (slugs with an AMP copy), ``amp_omits`` (lines
of an article its AMP copy leaves out), ``noindex_sections``,
``documents`` (slug -> linked file), ``related`` and ``comments`` rules, ``credit_anchor`` (the
words of a syndication credit that link back to the original). The theme places them.
"""

from __future__ import annotations

import html
from typing import Any

from testkit.fakeweb import picks
from testkit.fakeweb.layout import page
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.story import Story
from testkit.fakeweb.template import Theme
from testkit.fakeweb.views import StoryView, site_values, views


def body_html(site: Site, paragraphs: tuple[str, ...], credit_url: str = "",
              credit_line: str | None = None, with_ad: bool = True) -> str:
    """The paragraphs as the theme writes them, an ad slot after ``ad_after`` of them."""
    theme = site.theme
    anchor = site.table.get("credit_anchor")
    parts = []
    for index, text in enumerate(paragraphs):
        escaped = html.escape(text, quote=False)
        if credit_url and anchor and text == credit_line:
            # the syndication credit links back to the original, as partners' credits do
            escaped = escaped.replace(anchor, f'<a href="{credit_url}">{anchor}</a>')
        parts.append(theme.fill("paragraph", text=escaped))
        if with_ad and index == theme.settings.get("ad_after"):
            parts.append(theme.fill("inline_ad"))
    return "\n".join(parts)


def _optional(theme: Theme, name: str, present: bool, **values: Any) -> str:
    return theme.fill(name, **values) if present and theme.has(name) else ""


def article_values(web: Web, site: Site, story: Story) -> dict[str, Any]:
    """Everything an article template may use, for ``story`` as currently served."""
    theme = site.theme
    view = StoryView(web, story)
    original = (web.sites[story.syndicated_from].story(story.slug)
                if story.syndicated_from in web.sites else None)
    credit_url = web.url_of(original) if original is not None else ""
    tag_items = [{"tag": tag} for tag in story.tags]
    values: dict[str, Any] = {**site_values(web, site), "s": view}
    values.update(
        body=body_html(site, view.paragraphs, credit_url, story.added_line),
        tags=_optional(theme, "tags", bool(story.tags),
                       links=theme.each("tag_link", tag_items) if theme.has("tag_link") else ""),
        tag_metas=theme.each("tag_meta", tag_items) if theme.has("tag_meta") else "",
        standfirst=_optional(theme, "standfirst", bool(story.standfirst), **values),
        amp_link=_optional(theme, "amp_link", story.slug in site.table.get("amp", ()), **values),
        noindex=_optional(theme, "noindex",
                          story.section in site.table.get("noindex_sections", ())),
        document=_optional(theme, "document_link", story.slug in site.table.get("documents", {}),
                           path=site.table.get("documents", {}).get(story.slug)),
        comment_count=len(site.table.get("comments", ())),
    )
    if "related" in site.table:
        chosen = picks.related(site, story, site.related)
        values["related"] = theme.each("related_item", views(web, chosen),
                                       **site_values(web, site))
    if "comments" in site.table:
        chosen_comments = picks.comments(story, site.comments, site.comment_pick)
        values["comments"] = theme.fill("comments", count=len(chosen_comments),
                                        items=theme.each("comment", chosen_comments))
    values["json_ld"] = theme.json_ld("article", tag_list=list(story.tags), **values)
    return values


def article_page(web: Web, site: Site, story: Story) -> Response:
    theme = site.theme
    values = article_values(web, site, story)
    extra = {key: theme.fill(f"article_{key}", **values)
             for key in ("body_class", "description") if theme.has(f"article_{key}")}
    doc = page(web, site, title=theme.fill("article_title", **values), path=story.path,
               og_type="article", main=theme.fill("article_main", **values),
               head=theme.fill("article_head", **values), current=story.section, **extra)
    return respond(theme, "article", doc, modified=values["s"].modified)


def amp_page(web: Web, site: Site, story: Story) -> Response:
    """The AMP copy of ``story``: its text in AMP's minimal markup, canonical to the article,
    without the lines the site's ``amp_omits`` names."""
    values = article_values(web, site, story)
    omitted = site.table.get("amp_omits", ())
    kept = tuple(p for p in values["s"].paragraphs if p not in omitted)
    values["body"] = body_html(site, kept, with_ad=False)
    return respond(site.theme, "article", site.theme.fill("amp", **values),
                   modified=values["s"].modified)
