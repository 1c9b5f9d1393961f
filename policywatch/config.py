"""The one place where policywatch reads its configuration.

Precedence, highest first: command-line options, ``POLICYWATCH_*`` environment
variables, the settings file (``--config FILE``, ``$POLICYWATCH_CONFIG`` or
``./policywatch.toml``), built-in defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from crawler.settings import CrawlOptions
from ingest import BUNDLED_SOURCES
from storage.db import DEFAULT_DB_URL

_CRAWL = CrawlOptions()
DEFAULT_CONFIG_FILE = Path("policywatch.toml")
ENV_PREFIX = "POLICYWATCH_"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names where it came from."""


@dataclass(frozen=True)
class Settings:
    """Every setting, with the default of the layer that owns it."""

    db: str = DEFAULT_DB_URL
    sources: Path = BUNDLED_SOURCES
    contact_url: str = _CRAWL.contact_url
    allow_private_addresses: bool = _CRAWL.allow_private_addresses
    concurrency_per_domain: int = _CRAWL.concurrency_per_domain
    download_timeout: float = _CRAWL.download_timeout
    download_maxsize: int = _CRAWL.download_maxsize
    retry_times: int = _CRAWL.retry_times
    backoff_base: float = _CRAWL.backoff_base
    autothrottle: bool = _CRAWL.autothrottle
    too_short_fraction: float = _CRAWL.too_short_fraction
    failing_after_runs: int = _CRAWL.failing_after_runs
    chromium: str = _CRAWL.chromium

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; a bare path means an SQLite file."""
        if "://" in self.db:
            return self.db
        return f"sqlite:///{Path(self.db).expanduser()}"

    def crawl_options(self) -> CrawlOptions:
        """The settings a crawl reads (every crawler setting is also a setting here, under the same name)."""
        shared = {f.name: getattr(self, f.name) for f in fields(CrawlOptions) if f.name != "db_url"}
        return CrawlOptions(db_url=self.db_url, **shared)

def _coerce(name: str, raw: Any, origin: str) -> Any:
    field = {f.name: f for f in fields(Settings)}.get(name)
    if field is None:
        raise ConfigError(f"{origin}: unknown setting {name!r}")
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true or false, got {raw!r}")
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return str(raw)
    except ValueError as exc:
        raise ConfigError(f"{origin}: setting {name!r}: {exc}") from None


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("policywatch", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [policywatch] must be a table")
    return {k.replace("-", "_"): _coerce(k.replace("-", "_"), v, str(path)) for k, v in section.items()}


# Variables of the test suite and benchmarks, not settings.
_NOT_SETTINGS = ("CONFIG", "SHARED", "TEST_")


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX):].startswith(_NOT_SETTINGS):
            continue
        name = key[len(ENV_PREFIX):].lower()
        values[name] = _coerce(name, raw, f"environment variable {key}")
    return values


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(environ[ENV_PREFIX + "CONFIG"]) if environ.get(ENV_PREFIX + "CONFIG") else None)
    if path is not None:
        values.update(_from_file(path))
    elif DEFAULT_CONFIG_FILE.is_file():
        values.update(_from_file(DEFAULT_CONFIG_FILE))
    values.update(_from_env(environ))
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, f"option --{name.replace('_', '-')}")
    return replace(Settings(), **values)
