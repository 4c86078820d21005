"""One fake news web for the tests, the demo and the benchmark.

Stories and sites are data (JSON and TOML next to their user); each site is drawn by a theme
(``themes/*.toml``: the page templates of one kind of news site), through the one set of
renderers here, and served by the one loopback server in ``server``.
"""
