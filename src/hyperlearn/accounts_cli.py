"""`hyperlearn user ...` and `hyperlearn token ...`: accounts on the command line (the first
admin, teachers, password resets, API tokens for scripts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hyperlearn.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

user_app = typer.Typer(no_args_is_help=True, help="Accounts: create, list, reset passwords.")
token_app = typer.Typer(no_args_is_help=True, help="Personal API tokens for the JSON API.")
console = Console()
errors = Console(stderr=True)


def _sessions(ctx: typer.Context) -> sessionmaker[Session]:
    from hyperlearn.store.engine import make_engine, session_factory

    settings = ctx.obj
    assert isinstance(settings, Settings)
    return session_factory(make_engine(settings.effective_database_url))


def _now() -> datetime:
    return datetime.now(UTC)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ + -).")],
    role: Annotated[str, typer.Option(help="learner, teacher or admin.")] = "learner",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (the first admin: `hyperlearn user create NAME --role admin`)."""
    from hyperlearn.service import ServiceError, accounts

    password = _password(password_stdin)
    with _sessions(ctx)() as session:
        try:
            user = accounts.create_user(
                session, username=username, password=password, role=role, now=_now()
            )
        except ServiceError as error:
            errors.print(f"Not created: {error.reason}")
            raise typer.Exit(1) from None
    console.print(f"Created {user.role} [bold]{user.username}[/bold] (id {user.id}).")


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every account with its role and learner profile."""
    from hyperlearn.service import accounts

    with _sessions(ctx)() as session:
        users = accounts.list_users(session)
    if as_json:
        rows = [
            {"id": u.id, "username": u.username, "role": str(u.role), "learner_id": u.learner_id}
            for u in users
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("username", "role", "learner profile", "created")
    for u in users:
        table.add_row(u.username, str(u.role), u.learner_id or "-", u.created_at.isoformat())
    console.print(table)


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a new password; every browser session of the account ends."""
    from hyperlearn.service import ServiceError, accounts

    password = _password(password_stdin)
    with _sessions(ctx)() as session:
        try:
            user = accounts.find_user(session, username)
            accounts.set_password(session, user.id, password)
        except ServiceError as error:
            errors.print(f"Not changed: {error.reason}")
            raise typer.Exit(1) from None
    console.print(f"New password set for {user.username}; their sessions have ended.")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "command line",
) -> None:
    """Create an API token and print it (once: only its hash is kept)."""
    from hyperlearn.service import ServiceError, accounts

    with _sessions(ctx)() as session:
        try:
            user = accounts.find_user(session, username)
            created = accounts.create_token(session, user.id, name, _now())
        except ServiceError as error:
            errors.print(f"Not created: {error.reason}")
            raise typer.Exit(1) from None
    errors.print(f"Token {created.view.id} for {user.username} (shown once):")
    typer.echo(created.secret)


@token_app.command("list")
def token_list(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """An account's tokens (prefix, dates; never the tokens themselves)."""
    from hyperlearn.service import ServiceError, accounts

    with _sessions(ctx)() as session:
        try:
            tokens = accounts.list_tokens(session, accounts.find_user(session, username).id)
        except ServiceError as error:
            errors.print(error.reason)
            raise typer.Exit(1) from None
    table = Table("id", "name", "prefix", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(
            str(t.id),
            t.name,
            t.prefix,
            t.created_at.isoformat(timespec="minutes"),
            t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "-",
            t.revoked_at.isoformat(timespec="minutes") if t.revoked_at else "-",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: Annotated[int, typer.Argument()]) -> None:
    """Revoke a token by its id (see `hyperlearn token list`)."""
    from hyperlearn.service import ServiceError, accounts

    with _sessions(ctx)() as session:
        try:
            accounts.revoke_token(session, None, token_id, _now())
        except ServiceError as error:
            errors.print(error.reason)
            raise typer.Exit(1) from None
    console.print(f"Token {token_id} revoked.")
