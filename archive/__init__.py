"""The archive: storage backends, key layout, WARC, records, leases, dumps: the ground floor.

Imports nothing of the project above it. ``__version__`` lives here, so that every floor can
name the software without importing the command line.
"""

__version__ = "0.1.0"
