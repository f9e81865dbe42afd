"""Settings: ``NOTARY_*`` environment variables, optionally an instance config file, then overrides.

Settings are read when an app or command is built, never at import time. The result is a
frozen :class:`Settings` that every part receives explicitly.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MIB = 1024 * 1024
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ConfigError(ValueError):
    """A setting that cannot be understood; the message names it."""


def parse_duration(text: str | float | int, *, name: str) -> float:
    """Seconds from ``"7d"``, ``"12h"``, ``"1.5s"``, ``"250ms"`` or a plain number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{name}: {text!r} is not a duration (e.g. 7d, 12h, 1s, 250ms)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def default_instance_path() -> Path:
    """``instance/`` in the current directory (the checkout when run from make)."""
    return Path.cwd() / "instance"


@dataclass(frozen=True)
class Settings:
    """Every setting of a notary instance. Field names are the env names without ``NOTARY_``."""

    instance_path: Path = field(default_factory=default_instance_path)
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    tsa_urls: tuple[str, ...] = ("embedded",)
    log_origin: str = ""
    organisation: str = "Notary"
    max_document_bytes: int = 20 * MIB
    max_request_bytes: int = 64 * MIB
    signing_window: float = 7 * 86400.0
    checkpoint_interval: float = 1.0
    blob_store: str = "filesystem"
    blob_inline_max: int = 64 * 1024
    tsa_timeout: float = 5.0
    tsa_roots: str = ""
    worker_poll_interval: float = 0.05
    worker_linger: float = 0.05
    lease_duration: float = 5.0
    party_token_lifetime: float = 900.0
    challenge_lifetime: float = 120.0
    web_workers: int = 2
    web_threads: int = 2
    witnesses: str = ""
    witness_k: int = 0
    witness_timeout: float = 5.0
    report_notice_threshold: int = 10
    filing_silence_min: float = 3 * 86400.0
    transparency_cache: float = 60.0
    rate_limit_storage: str = ""
    rate_limit_login: str = "20/minute;200/hour"
    rate_limit_failed_auth: str = "30/minute;300/hour"
    rate_limit_verify: str = "30/minute"
    rate_limit_signed_report: str = "10/minute"
    rate_limit_enrolment: str = "1200/minute"
    rate_limit_filing: str = "1200/minute"
    rate_limit_signatures: str = "3000/minute"
    rate_limit_default: str = "3000/minute"
    trusted_proxies: int = 0
    certificate_warning: float = 60 * 86400.0
    disk_free_min: int = 1 << 30
    webhook_timeout: float = 10.0
    webhook_threads: int = 16
    webhook_endpoint_concurrency: int = 4
    webhook_max_attempts: int = 12
    webhook_retry_base: float = 42.0
    webhook_retention: float = 30 * 86400.0
    unsafe_webhook_loopback: bool = False
    unsafe_webhook_networks: tuple[str, ...] = ()
    unsafe_accept_shorter_log: bool = False
    metrics_networks: str = "127.0.0.0/8,::1/128"
    log_format: str = "json"
    log_level: str = "INFO"

    @property
    def key_dir(self) -> Path:
        """Where the live keys are: ``<instance>/keys``."""
        return self.instance_path / "keys"

    @property
    def blob_dir(self) -> Path:
        """Where the filesystem blob store keeps documents."""
        return self.instance_path / "blobs"

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the instance folder."""
        return self.database_url or f"sqlite:///{self.instance_path / 'notary.db'}"

    @property
    def effective_rate_limit_storage(self) -> str:
        """Where the rate limits' counters are shared between processes: a SQLite file of their
        own in the instance folder unless set (``redis://``, ``redis+unix://``, ``sqlite:///``)."""
        return self.rate_limit_storage or f"sqlite:///{self.instance_path / 'ratelimits.sqlite'}"

    @property
    def effective_log_origin(self) -> str:
        """The log's origin line: ``<host of public URL>/contracts/v1`` unless set."""
        if self.log_origin:
            return self.log_origin
        host = urlsplit(self.public_url).netloc or "localhost"
        return f"{host}/contracts/v1"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from the environment (``NOTARY_*``), the instance's ``config.json``, then overrides.

        Raises :class:`ConfigError` naming the first setting that cannot be understood.
        """
        environ = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        instance = overrides.get("instance_path") or environ.get("NOTARY_INSTANCE_PATH")
        instance_path = Path(instance).resolve() if instance else default_instance_path()
        config_file = instance_path / "config.json"
        if config_file.exists():
            try:
                raw.update(json.loads(config_file.read_text()))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{config_file}: {exc}") from exc
        for f in fields(cls):
            env = environ.get("NOTARY_" + f.name.upper())
            if env is not None:
                raw[f.name] = env
        raw.update(overrides)
        raw["instance_path"] = instance_path
        return cls()._merged(raw)

    def _merged(self, raw: Mapping[str, Any]) -> Settings:
        known = {f.name: f for f in fields(self)}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in known:
                raise ConfigError(f"unknown setting: {name}")
            values[name] = _coerce(name, value)
        settings = replace(self, **values)
        if not settings.tsa_urls:
            raise ConfigError("tsa_urls: at least one timestamp authority is needed")
        return settings


def _coerce(name: str, value: Any) -> Any:
    try:
        if name == "instance_path":
            return Path(value)
        if name in {"tsa_urls", "unsafe_webhook_networks"}:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(item.strip() for item in items if item.strip())
        if name in {"unsafe_webhook_loopback", "unsafe_accept_shorter_log"}:
            return _flag(name, value)
        if name == "blob_inline_max":
            number = int(value)
            if number < 0:
                raise ConfigError(f"{name}: must be 0 or more")
            return number
        if name.startswith("rate_limit_") and name != "rate_limit_storage":
            return _rate_limit(name, value)
        if name == "rate_limit_storage":
            return _rate_limit_storage(str(value))
        if name == "trusted_proxies":
            number = int(value)
            if not 0 <= number <= 10:
                raise ConfigError(f"{name}: 0 (no reverse proxy) to 10")
            return number
        if name == "log_format":
            if value not in {"json", "text"}:
                raise ConfigError("log_format: json (one object per line) or text (readable, --dev)")
            return value
        if name == "log_level":
            level = str(value).upper()
            if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
                raise ConfigError("log_level: DEBUG, INFO, WARNING or ERROR")
            return level
        if name == "metrics_networks":
            return _networks(name, value)
        if name == "witnesses":
            return value if isinstance(value, str) else json.dumps(value)
        if name == "witness_k":
            number = int(value)
            if number < 0:
                raise ConfigError(f"{name}: must be 0 (all the witnesses) or more")
            return number
        if name in {
            "max_document_bytes",
            "max_request_bytes",
            "web_workers",
            "web_threads",
            "report_notice_threshold",
            "disk_free_min",
            "webhook_threads",
            "webhook_endpoint_concurrency",
            "webhook_max_attempts",
        }:
            number = int(value)
            if number <= 0:
                raise ConfigError(f"{name}: must be positive")
            return number
        if name in {
            "signing_window",
            "checkpoint_interval",
            "tsa_timeout",
            "worker_poll_interval",
            "lease_duration",
            "party_token_lifetime",
            "challenge_lifetime",
            "witness_timeout",
            "filing_silence_min",
            "certificate_warning",
            "webhook_timeout",
            "webhook_retry_base",
            "webhook_retention",
        }:
            seconds = parse_duration(value, name=name)
            if seconds <= 0:
                raise ConfigError(f"{name}: must be positive")
            return seconds
        if name in {"transparency_cache", "worker_linger"}:
            seconds = parse_duration(value, name=name)
            if seconds < 0:
                raise ConfigError(f"{name}: must be 0 (none) or more")
            return seconds
        if name == "blob_store":
            if value not in {"filesystem", "database"}:
                raise ConfigError("blob_store: filesystem or database")
            return value
        return str(value)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{name}: {value!r} is not valid ({exc})") from exc


#: The storages a rate limit may be shared through (``memory://`` is not one: it is per process).
RATE_LIMIT_SCHEMES = ("sqlite", "redis", "rediss", "redis+unix")


def _rate_limit(name: str, value: Any) -> str:
    """``off``, or limits in the `limits` notation: ``20/minute``, ``10 per second;200/hour``."""
    from limits import parse_many

    text = str(value).strip()
    if text == "off":
        return text
    try:
        parse_many(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: {text!r} is not a limit (e.g. 20/minute;200/hour, or off)") from exc
    return text


def _networks(name: str, value: Any) -> str:
    """``off``, or comma-separated networks (``127.0.0.0/8,10.1.2.0/24,::1/128``)."""
    import ipaddress

    text = value if isinstance(value, str) else ",".join(value)
    if text.strip() == "off":
        return "off"
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{name}: name at least one network, or off")
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{name}: {item!r} is not a network (e.g. 10.0.0.0/8, ::1/128)") from exc
    return ",".join(items)


def _rate_limit_storage(value: str) -> str:
    scheme = urlsplit(value).scheme if value else ""
    if value and scheme not in RATE_LIMIT_SCHEMES:
        raise ConfigError(
            "rate_limit_storage: sqlite:///PATH, redis://HOST:PORT/DB or redis+unix:///PATH "
            "(counters must be shared by every process; memory is not)"
        )
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: {value!r} is not a yes/no value (1, true, yes, on / 0, false, no, off)")
