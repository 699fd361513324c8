"""``desk``: serve the web review desk (Starlette + uvicorn) on ``[desk] host:port``."""

from __future__ import annotations

import click

from monitor.cli.output import console
from monitor.cli.state import CliState, pass_state


@click.command("desk")
@click.option("--host", default=None, help="Address to bind (default: [desk] host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: [desk] port, 8470).")
@click.option("--access-log/--no-access-log", default=True, help="Log each request (method, path, status).")
@pass_state
def desk_cmd(state: CliState, host: str | None, port: int | None, access_log: bool) -> None:
    """Serve the review desk for reviewers' browsers (put it behind a TLS reverse proxy)."""
    import uvicorn

    from monitor.desk.server import create_app

    settings = state.settings
    app = create_app(settings)
    host = host or settings.desk.host
    port = port or settings.desk.port
    url = settings.desk.public_url or f"http://{host}:{port}/"
    console.print(f"review desk on http://{host}:{port}/ (reviewers open {url}); Ctrl-C stops it",
                  markup=False)
    # proxy_headers: behind the office's reverse proxy on this host, the client address used for
    # the login rate limit and the login record is the one the proxy forwards.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)


def register(cli: click.Group) -> None:
    """Add the ``desk`` command to ``cli``."""
    cli.add_command(desk_cmd)
