"""Reports from the public and from staff: archive, read, classify, store, hold for review.

``IntakeService.submit(IntakeRequest)`` is the one entry point (the CLI and the web
desk call it); ``open_service(settings)`` builds it from a settings file.
"""

from __future__ import annotations

from monitor.intake.service import (
    IntakeRequest,
    IntakeResult,
    IntakeService,
    NewAccount,
    Upload,
    canonical_url,
    platform_of,
)
from monitor.settings import Settings
from storage.store import Store


def open_service(settings: Settings, store: Store | None = None) -> IntakeService:
    """The intake service over the settings' store (or ``store``), classifier and registries."""
    from monitor.app import build_pipeline

    pipeline, _ = build_pipeline(settings, store=store)
    return IntakeService(settings, pipeline)


__all__ = ["IntakeRequest", "IntakeResult", "IntakeService", "NewAccount", "Upload",
           "canonical_url", "open_service", "platform_of"]
