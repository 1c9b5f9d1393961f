"""Bundled news declarations (feeds, sitemaps, GDELT queries) and the rules
that decide which articles matter, as data: see ``ingest.news.declarations``."""
