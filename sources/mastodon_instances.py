"""Which Mastodon instances a source reads, and how: the settings and the instance of a handle.

A roster handle ``user@domain`` is read from the instance of ``domain``. The source's own
``base_url`` is the home instance (handles without a domain belong to it); every other
instance must be listed under ``[sources.<name>.instances."<domain>"]`` (its own
``base_url``, ``token_env`` and limits), or ``allow_any_instance = true`` lets an unlisted
domain be read at ``https://<domain>`` with the source's limits and no token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from monitor.errors import AccountUnavailable
from sources.common import normal_handle
from sources.http import HttpPolicy, HttpSettings

# A DNS name of two or more labels: what a Mastodon account domain is (no port, no path).
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)+{_LABEL}$")
# The HttpSettings limits an instance may set for itself; unset ones are the source's.
_LIMITS = ("timeout", "max_attempts", "max_retry_time", "max_rate_wait", "max_response_bytes",
           "request_budget")


def _account_domain(key: str) -> str:
    domain = key.strip().lower()
    if not _DOMAIN.match(domain):
        raise ValueError(f"{key!r} is not an account domain (e.g. \"sunda.example\")")
    return domain


# An ``instances`` key, checked beside the values so every mistake is reported at once.
AccountDomain = Annotated[str, AfterValidator(_account_domain)]


class InstanceNotAllowed(AccountUnavailable):
    """A handle's instance is neither the home instance nor listed, and ``allow_any_instance`` is off.

    An ``AccountUnavailable``: the pipeline records it for that account (and a reverse scan
    skips that target) while the other accounts of the cycle are read as usual.
    """


class InstanceSettings(BaseModel):
    """``[sources.<name>.instances."<domain>"]``: one more instance the source may read."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None  # default: https://<domain>
    token_env: str | None = None  # sent to this instance only
    timeout: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    max_retry_time: float | None = Field(default=None, ge=0)
    max_rate_wait: float | None = Field(default=None, ge=0)
    max_response_bytes: int | None = Field(default=None, gt=0)
    request_budget: int | None = Field(default=None, gt=0)


@dataclass(frozen=True)
class InstancePlan:
    """How to read one instance: where, with which token variable and limits."""

    domain: str
    base_url: str
    token_env: str | None
    policy: HttpPolicy
    home: bool


class MastodonSettings(HttpSettings):
    """``[sources.<name>]`` keys of a ``type = "mastodon"`` source."""

    base_url: str  # the home instance, e.g. "https://mastodon.social"
    domain: str | None = None  # the home instance's account domain; default: base_url's host
    token_env: str | None = None  # optional: public reads need no token
    page_size: int = Field(40, ge=1, le=40)
    fetch_reply_parents: bool = True  # read the replied-to status's text
    reverse_posts: int = Field(20, ge=1, le=40)  # recent statuses per target checked in reverse
    instances: dict[AccountDomain, InstanceSettings] = Field(default_factory=dict)
    allow_any_instance: bool = False  # read unlisted domains at https://<domain>

    @field_validator("instances")
    @classmethod
    def _home_not_listed(cls, value: dict[str, InstanceSettings],
                         info: ValidationInfo) -> dict[str, InstanceSettings]:
        home = _home_domain(info.data.get("base_url") or "", info.data.get("domain"))
        if home in value:
            raise ValueError(f"{home!r} is the home instance (base_url): set its keys in the source "
                             "table itself")
        return value

    @property
    def home_domain(self) -> str:
        """The account domain local accounts of the home instance have."""
        return _home_domain(self.base_url, self.domain)

    def domain_of(self, handle: str) -> str:
        """The account domain of ``user@domain`` (the home domain for a bare ``user``)."""
        acct = normal_handle(handle)
        return acct.rsplit("@", 1)[1] if "@" in acct else self.home_domain

    def plan(self, domain: str, handle: str) -> InstancePlan:
        """How to read ``domain``; ``InstanceNotAllowed`` (naming ``handle``) when it may not be read."""
        if domain == self.home_domain:
            return InstancePlan(domain, self.base_url, self.token_env, self.policy(), True)
        listed = self.instances.get(domain)
        if listed is None and not (self.allow_any_instance and _DOMAIN.match(domain)):
            why = ("is not an account domain" if self.allow_any_instance else
                   "is not listed under instances and allow_any_instance is off")
            raise InstanceNotAllowed(f"{handle}: instance {domain!r} {why}")
        listed = listed or InstanceSettings()
        limits = {k: getattr(listed, k) for k in _LIMITS if getattr(listed, k) is not None}
        return InstancePlan(domain, listed.base_url or f"https://{domain}", listed.token_env,
                            self.model_copy(update=limits).policy(), False)

    def listed_plans(self) -> list[InstancePlan]:
        """The home instance and every listed one."""
        return [self.plan(self.home_domain, self.base_url), *(self.plan(d, d) for d in self.instances)]

    def probe_urls(self) -> list[str]:
        """Listed instances read at their default ``https://<domain>`` (``check --online``)."""
        return [f"https://{d}" for d, inst in self.instances.items() if inst.base_url is None]


def _home_domain(base_url: str, domain: str | None) -> str:
    return (domain or urlsplit(base_url).hostname or "").lower()
