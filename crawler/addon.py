"""The newsarchive add-on: the one place where the config becomes Scrapy settings.

``NEWSARCHIVE_CONFIG`` holds the validated :class:`~archive.config.Config` (the command line
puts the object it parsed there) or, under ``scrapy crawl``, the path of the file, which is
parsed here once and replaced by the object. Every component then reads the object from the
settings; nothing parses the file again. Config values are set with "spider" priority, not
Scrapy's "addon": they must win over this project's own defaults in ``crawler/settings.py``
("project", above "addon"), and ``scrapy crawl news -s DOWNLOAD_DELAY=0`` ("cmdline") still
overrides them. The spider sets no ``custom_settings`` of its own.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings

from archive.config import Config, load_config

CONFIG_PRIORITY = "spider"


def config_of(settings: BaseSettings) -> Config:
    """The crawl's config, once the add-on has run (every component is built after it)."""
    config = settings["NEWSARCHIVE_CONFIG"]
    if not isinstance(config, Config):
        raise TypeError("NEWSARCHIVE_CONFIG holds no parsed config: is NewsarchiveAddon in "
                        "ADDONS?")
    return config


def settings_from_config(config: Config) -> dict[str, Any]:
    """The Scrapy settings a config implies."""
    crawl = config.crawl
    max_bytes = int(crawl.max_page_mb * 1024 * 1024)
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.download_delay,
        # AutoThrottle never goes below DOWNLOAD_DELAY; it starts there and backs off from it
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1) if crawl.download_delay
        else 0.0,
        "AUTOTHROTTLE_ENABLED": crawl.download_delay > 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_WARNSIZE": max_bytes // 2,
    }


def read_config(settings: BaseSettings) -> Config:
    """The config the settings name: the parsed object, or the file ``NEWSARCHIVE_CONFIG``
    names, parsed with ``NEWSARCHIVE_ARCHIVE_URI`` applied (ConfigError if it is not valid)."""
    config = settings["NEWSARCHIVE_CONFIG"]
    if isinstance(config, Config):
        return config
    return load_config(config).with_archive_uri(settings["NEWSARCHIVE_ARCHIVE_URI"])


class NewsarchiveAddon:
    """Reads the config once and maps it to settings (enabled in ``crawler/settings.py``)."""

    def update_settings(self, settings: BaseSettings) -> None:
        config = settings["NEWSARCHIVE_CONFIG"]
        if not isinstance(config, Config):
            config = read_config(settings)
            settings.set("NEWSARCHIVE_CONFIG", config,
                         priority=settings.getpriority("NEWSARCHIVE_CONFIG") or "project")
        for name, value in settings_from_config(config).items():
            settings.set(name, value, priority=CONFIG_PRIORITY)
