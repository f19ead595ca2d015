"""`flask` commands: init-db, deploy, seed-demo."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import accounts, processes
from .errors import DeployFailed


def _db():
    return current_app.extensions["orderflow.db"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the tables that are missing (existing data is kept)."""
    database = _db()
    database.create_all()
    with database.session() as session:
        accounts.ensure_groups(session)
        session.commit()
    click.echo(f"Database ready: {database.engine.url.render_as_string(hide_password=True)}")


@click.command("deploy")
@with_appcontext
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def deploy(paths: tuple[Path, ...]) -> None:
    """Deploy processes/ (or the given files/folders); unchanged diagrams keep their version."""
    targets = list(paths) or [current_app.config["ORDERFLOW_PROCESSES_PATH"]]
    with _db().session() as session:
        try:
            for target in targets:
                rows = processes.deploy_directory(session, target) if target.is_dir() else \
                    processes.deploy(session, None, {target.name: target.read_bytes()}, check_permission=False)
                for row in rows:
                    click.echo(f"{row.key} version {row.version} ({row.sha256[:12]})")
            session.commit()
        except DeployFailed as exc:
            session.rollback()
            for p in exc.problems:
                click.echo(f"  {p.get('file') or ''}:{p.get('line') or '?'} {p.get('element_id') or ''}: {p['message']}", err=True)
            raise click.ClickException(exc.message) from None


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo users of API.md (password 'demo'); never use in production."""
    with _db().session() as session:
        created = accounts.seed_demo(session)
        session.commit()
    click.echo(f"Demo users ready ({created} created).")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@with_appcontext
def worker(once: bool) -> None:
    """Run timers, service calls and reminders (for nodes started with ORDERFLOW_SCHEDULER=off)."""
    import signal
    import threading

    scheduler = current_app.extensions["orderflow.scheduler"]
    if once:
        click.echo(f"{scheduler.sweep()} job(s) run.")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Worker {scheduler.owner} running; Ctrl+C stops it.")
    scheduler.run_forever(stop)


def init_app(app: Flask) -> None:
    for command in (init_db, deploy, seed_demo, worker):
        app.cli.add_command(command)
