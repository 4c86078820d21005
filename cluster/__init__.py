"""Scaling out: many machines crawl into one archive through a Celery queue on Redis.

The unit of work is one site's run (``newsarchive crawl --site S`` in a child process); the
per-site lease in the archive keeps two machines off one site. This floor imports only
``archive/``; ``schedules/`` enqueues through it and ``newsarchive/`` wraps it as commands.
"""
