"""The exit codes of every command (documented in the README)."""

EXIT_OK = 0  # done: for crawl, everything fetched is stored
EXIT_FAILED = 1  # ran but failed: something is not stored, or nothing to do where work was due
EXIT_USAGE = 2  # config or argument error, reported as one line
EXIT_HELD = 3  # crawl: a site was skipped because another crawl holds its lease
