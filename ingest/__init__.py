"""From declarations and fetched or imported bytes to what storage records.

Everything between a fetched page and storage that does not need Scrapy:
declarations, the fetch guard, extraction, judge-and-record, imports,
re-extraction and the run lifecycle.
"""

from pathlib import Path

# What ships with policywatch: OpenAI's documents, claims about them, and the press read about them. (Here
# rather than in the modules that read them, so that the configuration can name them without loading YAML
# and extraction.)
BUNDLED_SOURCES = Path(__file__).resolve().parent.parent / "sources"
BUNDLED_CLAIMS = Path(__file__).resolve().parent.parent / "claims"
BUNDLED_NEWS = Path(__file__).resolve().parent.parent / "news"
