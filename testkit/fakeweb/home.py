"""Home pages: the site's ``home`` table names teaser lists (pick rules, optionally one block
per section) and single stories (``refs``) that the theme's ``home_main`` lays out, with the
chrome values (a section menu) at hand too."""

from __future__ import annotations

from typing import Any

from testkit.fakeweb.layout import chrome, page
from testkit.fakeweb.listing import teasers
from testkit.fakeweb.picks import pick
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.views import StoryView, site_values


def _teaser_list(web: Web, site: Site, rule: dict[str, Any]) -> str:
    item = rule.get("item", "teaser")
    if "block" not in rule:
        return teasers(web, site, pick(site, rule), item, rule.get("queries"),
                       rule.get("variants"), rule.get("sep"))
    # one block per section, each with the first ``per_block`` picked stories of its section
    stories = pick(site, rule)
    blocks = [site.theme.fill(rule["block"], section=section, label=site.label(section),
                              teasers=teasers(web, site, [s for s in stories
                                                          if s.section == section]
                                              [:rule["per_block"]], item, sep=rule.get("sep")))
              for section in site.sections]
    return site.theme.separators.get(rule["block"], "\n").join(blocks)


def home_page(web: Web, site: Site) -> Response:
    theme = site.theme
    spec = site.home
    values: dict[str, Any] = {**site_values(web, site), **chrome(web, site, None)}
    values["lists"] = {name: _teaser_list(web, site, rule)
                       for name, rule in spec.get("lists", {}).items()}
    values["refs"] = {name: StoryView(web, web.find(ref["slug"]), ref.get("query", ""))
                      for name, ref in spec.get("refs", {}).items()}
    if "home" in theme.json_ld_shapes:
        values["json_ld"] = theme.json_ld("home", **values)
    extra = {key: theme.fill(f"home_{key}", **values)
             for key in ("head", "description", "body_class") if theme.has(f"home_{key}")}
    doc = page(web, site, title=theme.fill("home_title", **values), path="/",
               og_type="website", main=theme.fill("home_main", **values), **extra)
    return respond(theme, "page", doc)
