"""Shared fixtures: a fresh DuckDB file, a settings file over a copy of the sample config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.testing import CliResult, invoke, write_settings
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def shared_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Train the default linear model once per session; settings written by tests use it."""
    import os

    from monitor.testing import MODEL_DIR_ENV

    folder = tmp_path_factory.mktemp("models") / "linear"
    old = os.environ.get(MODEL_DIR_ENV)
    os.environ[MODEL_DIR_ENV] = str(folder)
    yield folder
    if old is None:
        os.environ.pop(MODEL_DIR_ENV, None)
    else:
        os.environ[MODEL_DIR_ENV] = old


@pytest.fixture
def fresh_db(tmp_path: Path) -> Store:
    """An empty, migrated DuckDB store in a temporary folder."""
    return Store(tmp_path / "test.duckdb", lock_timeout=5)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of config/ (roster, regions, registries, samples) that a test may change."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


@pytest.fixture
def settings_path(config_dir: Path) -> Path:
    """A settings file over the copied config, with the sample file source and the default model."""
    return write_settings(config_dir)


@pytest.fixture
def cli(settings_path: Path) -> Iterator[object]:
    """``cli("run", "--once")`` runs asn-monitor with the test settings and returns a result."""

    def run(*args: str, stdin: str | None = None) -> CliResult:
        return invoke(["--config", str(settings_path), *args], stdin=stdin)

    yield run
