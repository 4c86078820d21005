"""`newsarchive schedule`: the APScheduler scheduler, its jobs and DST-safe cron triggers."""
