"""What every command is handed: the settings file, loaded on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from monitor.errors import InputError
from monitor.settings import Settings, find_config, load


@dataclass
class CliState:
    """What every command gets: the settings, loaded on first use."""

    config_path: str | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings (raises ``ConfigError``)."""
        if self._settings is None:
            self._settings = load(find_config(self.config_path))
        return self._settings

    def db(self) -> Any:
        """The store's database, migrated on open."""
        from monitor.app import open_store

        return open_store(self.settings).db

    def read_only_db(self) -> Any:
        """The database for auditors: never migrated or written, so a read-only copy works too."""
        from storage.db import Database

        settings = self.settings
        if not settings.db_path.exists():
            raise InputError(f"{settings.db_path}: no database yet (run `asn-monitor run --once` first)")
        return Database(settings.db_path, lock_timeout=settings.storage.lock_timeout)


pass_state = click.make_pass_decorator(CliState)
