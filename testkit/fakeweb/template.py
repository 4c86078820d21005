"""Themes: a news site's markup as named templates in one TOML file, filled in by the renderers.

Templates use ``str.format`` fields over plain values and views; the conversion says how a value
is escaped where it lands: ``!t`` HTML text, ``!h`` HTML attribute, ``!u`` a URL component. JSON-LD
shapes are TOML tables whose strings are templates too (``"=name"`` puts a list in as it is).
"""

from __future__ import annotations

import html
import json
import string
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

THEMES = Path(__file__).parent / "themes"


class _Formatter(string.Formatter):
    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "t":
            return html.escape(str(value), quote=False)
        if conversion == "h":
            return html.escape(str(value), quote=True)
        if conversion == "u":
            return quote(str(value), safe="")
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


class Theme:
    """The templates of one theme; ``fill`` renders one, ``each`` one per item, joined."""

    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.templates: dict[str, str] = data["templates"]
        self.separators: dict[str, str] = data.get("separators", {})
        self.json_ld_shapes: dict[str, Any] = data.get("json_ld", {})
        self.settings: dict[str, Any] = data.get("settings", {})

    def has(self, name: str) -> bool:
        return name in self.templates

    def fill(self, name: str, /, **values: Any) -> str:
        return _FORMATTER.vformat(self.templates[name], (), values)

    def fill_text(self, text: str, /, **values: Any) -> str:
        """A template given as data (a header value, a table entry) filled like a theme one."""
        return _FORMATTER.vformat(text, (), values)

    def each(self, name: str, items: Iterable[Mapping[str, Any]], /, **common: Any) -> str:
        """``name`` filled once per item (and ``common``), joined by the theme's separator for
        it (default a newline)."""
        return self.separators.get(name, "\n").join(self.fill(name, **common, **item)
                                                     for item in items)

    def json_ld(self, shape: str, /, **values: Any) -> str:
        """A JSON-LD script element: the named shape filled in, in the theme's JSON style."""
        data = _fill_shape(self.json_ld_shapes[shape], values)
        text = json.dumps(data, ensure_ascii=False, indent=self.settings.get("json_indent"))
        # "</" inside a script element would end it early
        return self.fill("json_ld", json=text.replace("</", "<\\/"))


def _fill_shape(shape: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(shape, dict):
        return {key: _fill_shape(value, values) for key, value in shape.items()}
    if isinstance(shape, list):
        return [_fill_shape(value, values) for value in shape]
    if isinstance(shape, str) and shape.startswith("="):
        return values[shape[1:]]
    if isinstance(shape, str):
        return _FORMATTER.vformat(shape, (), values)
    return shape


@cache
def load_theme(name: str) -> Theme:
    """The theme ``themes/<name>.toml``, read once."""
    with (THEMES / f"{name}.toml").open("rb") as stream:
        return Theme(name, tomllib.load(stream))
