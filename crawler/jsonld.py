"""JSON-LD as news pages use it: the objects of a page's ld+json scripts, flattened."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

MAX_SCRIPTS = 10  # a page with more is not worth parsing all of


def jsonld_objects(scripts: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Every object of the scripts, in document order, with lists and ``@graph`` flattened;
    scripts that are not valid JSON are skipped."""
    for count, script in enumerate(scripts):
        if count >= MAX_SCRIPTS:
            return
        try:
            queue: deque = deque([json.loads(script)])
        except ValueError:
            continue
        while queue:
            node = queue.popleft()
            if isinstance(node, list):
                queue.extend(node)
            elif isinstance(node, dict):
                yield node
                graph = node.get("@graph")
                if isinstance(graph, list):
                    queue.extend(graph)
                elif isinstance(graph, dict):
                    queue.append(graph)


def types_of(node: dict[str, Any]) -> list[str]:
    """The object's ``@type`` values (one or a list), strings only."""
    kinds = node.get("@type")
    return [k for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)]
