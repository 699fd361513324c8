"""The desk application: the views' routes over the shared state of ``monitor.desk.app``."""

from __future__ import annotations

from starlette.applications import Starlette

from monitor.desk.app import Desk
from monitor.desk.auth import LoginLimiter, Sessions, session_secret
from monitor.desk.views import exception_handlers, routes
from monitor.settings import Settings
from storage.store import Store


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """The desk application over the settings' store."""
    from monitor.app import open_store

    store = store or open_store(settings)
    sessions = Sessions(session_secret(settings), settings.desk.session_hours * 3600,
                        settings.desk.public_url.startswith("https://"))
    app = Starlette(routes=routes(), exception_handlers=exception_handlers())
    app.state.desk = Desk(settings, store, sessions,
                          LoginLimiter(settings.desk.login_max_failures, settings.desk.login_window))
    return app
