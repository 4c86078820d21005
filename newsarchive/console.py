"""Logging to the terminal for the commands that run no crawl (Scrapy sets up its own)."""

from __future__ import annotations

import logging


def configure_logging(verbose: bool) -> None:
    """Log lines to stderr, for the commands that do not run a crawl."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
