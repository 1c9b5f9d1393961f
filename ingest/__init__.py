"""From declarations and fetched or imported bytes to what storage records.

Everything between a fetched page and storage that does not need Scrapy:
declarations, the fetch guard, extraction, judge-and-record, imports,
re-extraction and the run lifecycle.
"""
