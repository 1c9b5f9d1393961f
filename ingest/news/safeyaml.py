"""News declarations load with the bounded YAML loader every declaration file uses (`ingest.safeyaml`)."""

from ingest.safeyaml import MAX_BYTES, MAX_DEPTH, MAX_NODES, YamlLimitError, load_bounded

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlLimitError", "load_bounded"]
