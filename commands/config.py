"""Settings from the environment and the user's config file.

The config file is TOML at ``<user config dir>/openinvoice/config.toml``
(or ``OPENINVOICE_CONFIG``). Secrets (Stripe key, SMTP URL with password)
are read from it only when the file is private (mode 0600): a file that
others can read is refused for secrets with a message saying how to fix it.
Secrets are never logged, printed or written to the database.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from commands.errors import UserError

APP_NAME = "openinvoice"

#: keys that hold secrets; they are only taken from a 0600 file or the environment
SECRET_KEYS = frozenset({"stripe_api_key", "smtp_url"})

#: environment variable for each config key
ENV_KEYS = {
    "db": "OPENINVOICE_DB",
    "as_of": "OPENINVOICE_AS_OF",
    "stripe_api_key": "STRIPE_API_KEY",
    "stripe_api_base": "OPENINVOICE_STRIPE_API_BASE",
    "smtp_url": "OPENINVOICE_SMTP_URL",
    "mail_from": "OPENINVOICE_MAIL_FROM",
    "outbox_dir": "OPENINVOICE_OUTBOX",
    "timezone": "OPENINVOICE_TIMEZONE",
}


def config_path() -> Path:
    """Where the config file lives (``OPENINVOICE_CONFIG`` overrides)."""
    env = os.environ.get("OPENINVOICE_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir() -> Path:
    """The per-user data directory (default database, outbox, history, logs)."""
    env = os.environ.get("OPENINVOICE_DATA_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_private(path: Path) -> bool:
    mode = path.stat().st_mode
    return not (mode & (stat.S_IRWXG | stat.S_IRWXO))


@dataclass
class Config:
    """Merged settings: environment first, then the config file."""

    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def get(self, key: str, default: Any = None) -> Any:
        env_name = ENV_KEYS.get(key)
        if env_name and os.environ.get(env_name):
            return os.environ[env_name]
        if key in self.values:
            return self.values[key]
        return default

    def secret(self, key: str) -> str | None:
        """A secret from the environment, or from the config file if it is 0600."""
        env_name = ENV_KEYS.get(key)
        if env_name and os.environ.get(env_name):
            return os.environ[env_name]
        if key not in self.values:
            return None
        assert self.source is not None
        if not _is_private(self.source):
            raise UserError(
                f"{self.source} holds '{key}' but other users can read it; "
                f"run: chmod 600 {self.source}"
            )
        value = self.values[key]
        return str(value) if value is not None else None

    def section(self, name: str) -> dict[str, Any]:
        """A TOML table such as ``[keys]`` or ``[reminders]`` (empty if absent)."""
        value = self.values.get(name, {})
        return dict(value) if isinstance(value, dict) else {}


def load_config(path: Path | None = None) -> Config:
    """Read the config file if there is one; a malformed file is a clear error."""
    path = path or config_path()
    if not path.exists():
        return Config({}, None)
    try:
        with path.open("rb") as fh:
            values = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: {exc}") from exc
    return Config(values, path)
