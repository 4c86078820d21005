"""`make demo`: two fictional news sites served on loopback, crawled through the real CLI."""
