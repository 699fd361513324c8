"""Pseudonymised exports: names, NIPs, handles and URLs as stable keyed hashes.

HMAC-SHA256 with a key held in an environment variable (``[audit] pseudonym_key_env``):
the same person gets the same pseudonym in every export made with the same key, so
counts per person still work outside Bawaslu, and nobody without the key can test a
guessed name or NIP against the hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping

from monitor.errors import ConfigError
from monitor.settings import Settings

MIN_KEY_LENGTH = 16


def pseudonymiser(settings: Settings, env: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """The keyed hash for ``export --pseudonymise``; ``ConfigError`` without a usable key."""
    env = os.environ if env is None else env
    var = settings.audit.pseudonym_key_env
    key = env.get(var, "")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{settings.file}: audit.pseudonym_key_env",
                          f"environment variable {var} must hold a key of at least "
                          f"{MIN_KEY_LENGTH} characters for --pseudonymise")
    secret = key.encode("utf-8")

    def pseudonym(value: str) -> str:
        return "p_" + hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:20]

    return pseudonym
