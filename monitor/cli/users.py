"""``users``: desk accounts (add, list, disable, enable, reset-password, logins).

Passwords are asked for without echo, or read from the first line of stdin with
``--password-stdin`` (scripts); never taken as an option, which would leave them
in the shell history and the process list.
"""

from __future__ import annotations

import sys

import click

from monitor.cli.output import Printer, console, output_options, table
from monitor.cli.state import CliState, pass_state
from monitor.users import ROLES, User, UserService

_STDIN = click.option("--password-stdin", is_flag=True,
                      help="Read the password from the first line of stdin instead of a prompt.")


def _service(state: CliState) -> UserService:
    from monitor.app import open_store

    return UserService(open_store(state.settings).db)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


def _show(user: User, out: Printer) -> None:
    out.document(_json(user), human=lambda: console.print(
        f"{user.username}: {user.role}, region {user.region or '(all)'}"
        + (", disabled" if user.disabled else ""), markup=False))


def _json(user: User) -> dict[str, object]:
    return {"username": user.username, "full_name": user.full_name, "position": user.position,
            "role": user.role, "region": user.region, "disabled": user.disabled}


@click.group("users")
def users_group() -> None:
    """Accounts of the web review desk: roles reviewer, coordinator, auditor, admin."""


@users_group.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, as letters and the desk show it.")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="reviewer (confirm, dismiss), coordinator (also escalate), auditor (read only), "
                   "admin (users).")
@click.option("--region", default=None,
              help="Region code: a regency/city sees its flags, a province its regencies; "
                   "none: all regions.")
@click.option("--position", default=None, help="Position (jabatan), printed on escalation letters.")
@_STDIN
@output_options
@pass_state
def add_cmd(state: CliState, username: str, full_name: str, role: str, region: str | None,
            position: str | None, password_stdin: bool, out: Printer) -> None:
    """Add a desk user (the password is stored only as an argon2 hash)."""
    from monitor.inputs import read_regions

    known = read_regions(state.settings.resolve(state.settings.inputs.regions))
    password = _password(password_stdin)
    _show(_service(state).add(username, full_name, role, password, region, position, known), out)


@users_group.command("list")
@output_options
@pass_state
def list_cmd(state: CliState, out: Printer) -> None:
    """Every desk user with role, region and state."""
    users = _service(state).all()
    out.records([_json(u) for u in users], human=lambda: console.print(table(
        "Desk users", ("user", "name", "position", "role", "region", "state"),
        [(u.username, u.full_name, u.position or "", u.role, u.region or "(all)",
          "disabled" if u.disabled else "active") for u in users])))


@users_group.command("disable")
@click.argument("username")
@output_options
@pass_state
def disable_cmd(state: CliState, username: str, out: Printer) -> None:
    """Disable a user: no more logins, open sessions stop at once."""
    _show(_service(state).disable(username), out)


@users_group.command("enable")
@click.argument("username")
@output_options
@pass_state
def enable_cmd(state: CliState, username: str, out: Printer) -> None:
    """Enable a disabled user again."""
    _show(_service(state).enable(username), out)


@users_group.command("reset-password")
@click.argument("username")
@_STDIN
@output_options
@pass_state
def reset_cmd(state: CliState, username: str, password_stdin: bool, out: Printer) -> None:
    """Set a new password; the user's open sessions stop."""
    svc = _service(state)
    if svc.get(username) is None:
        from monitor.errors import ReviewError

        raise ReviewError(f"no user {username!r}")
    _show(svc.reset_password(username, _password(password_stdin)), out)


@users_group.command("logins")
@click.option("--limit", type=int, default=50, help="How many events (default 50).")
@output_options
@pass_state
def logins_cmd(state: CliState, limit: int, out: Printer) -> None:
    """The latest desk logins, logouts and failed attempts, newest first."""
    from monitor.app import open_store
    from storage.users import login_events

    events = login_events(open_store(state.settings).db, limit)
    out.records(events, human=lambda: console.print(table(
        "Desk logins", ("at", "user", "event", "from", "detail"),
        [(e["at"], e["username"], e["event"], e["remote"], e["detail"]) for e in events])))


def register(cli: click.Group) -> None:
    """Add the ``users`` command group to ``cli``."""
    cli.add_command(users_group)
