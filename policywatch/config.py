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
from typing import TYPE_CHECKING, Any, Mapping

from analysis.errors import UserInputError
from crawler.settings import CrawlOptions
from ingest.backfill.options import WaybackOptions

if TYPE_CHECKING:
    from reports.notify.targets import NotifyTarget

DEFAULT_CONFIG_FILE = Path("policywatch.toml")
ENV_PREFIX = "POLICYWATCH_"


class ConfigError(UserInputError):
    """A setting that cannot be used; the message names where it came from."""


@dataclass(frozen=True)
class Settings(CrawlOptions):
    """Every setting, with the default of the layer that owns it.

    The crawler's options are settings under the same names (`CrawlOptions`
    holds them and their defaults); the settings only the other commands
    read are declared here.
    """

    notify: tuple[NotifyTarget, ...] = ()  # [[policywatch.notify]] entries (reports.notify.targets)
    notify_timeout: float = 10.0  # seconds to connect, and to wait for an answer, per notification
    wayback_cdx: str = WaybackOptions.cdx_url
    wayback_replay: str = WaybackOptions.replay_url
    wayback_interval: float = WaybackOptions.interval
    wayback_max_captures: int = WaybackOptions.max_captures
    # An OpenSSH private key (no passphrase, or held by ssh-agent): `report` signs ledger.jsonl with it.
    ledger_signing_key: Path | None = None

    def crawl_options(self) -> CrawlOptions:
        """The settings a crawl reads."""
        return self


def _coerce(name: str, raw: Any, origin: str) -> Any:
    field = {f.name: f for f in fields(Settings)}.get(name)
    if field is None:
        raise ConfigError(f"{origin}: unknown setting {name!r}")
    default = getattr(Settings(), name)
    if name in _PARSED:
        try:
            return _PARSED[name](raw, origin)
        except UserInputError as exc:
            raise ConfigError(str(exc)) from None
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


def _notify_targets(value: Any, origin: str) -> tuple[NotifyTarget, ...]:
    # Imported only when a settings file declares targets: every command reads the settings.
    from reports.notify.targets import parse_targets

    return parse_targets(value, origin)


def _optional_path(value: Any, origin: str) -> Path | None:
    text = str(value).strip()
    return Path(text).expanduser() if text else None


# Settings with a structure of their own, parsed (and checked) by the layer that owns them.
_PARSED = {"notify": _notify_targets, "ledger_signing_key": _optional_path}


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
