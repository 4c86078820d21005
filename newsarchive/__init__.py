"""newsarchive: the command line of the scheduled news archiver (nothing imports it)."""

from archive import __version__

__all__ = ["__version__"]
