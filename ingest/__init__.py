"""From declarations and fetched or imported bytes to what storage records.

Everything between a fetched page and storage that does not need Scrapy:
declarations, the fetch guard, extraction, judge-and-record, imports,
re-extraction and the run lifecycle.
"""

from pathlib import Path

# The declarations that ship with policywatch: OpenAI's documents. (Here rather than in `declarations`, so
# that the configuration can name it without loading YAML and extraction.)
BUNDLED_SOURCES = Path(__file__).resolve().parent.parent / "sources"
