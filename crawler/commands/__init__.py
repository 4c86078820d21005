"""Scrapy commands of the project (``COMMANDS_MODULE``): each module is a command by its name."""
