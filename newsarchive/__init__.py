"""newsarchive: scheduled news scraping and archiving."""

__version__ = "0.1.0"
