"""`flask` commands: init-db, deploy, seed-demo, simulate, worker."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from orderflow.access import accounts
from orderflow.core.errors import DeployFailed
from orderflow.workflow import processes


def _db():
    return current_app.extensions["orderflow.db"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Bring the database schema to the newest migration (existing data is kept)."""
    from orderflow.core import schema
    database = _db()
    revision = schema.upgrade(database.engine)
    with database.session() as session:
        accounts.ensure_groups(session)
        session.commit()
    click.echo(f"Database ready at schema revision {revision}: "
               f"{database.engine.url.render_as_string(hide_password=True)}")


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
                where = f"{p.get('file') or ''}:{p.get('line') or '?'} {p.get('element_id') or ''}"
                click.echo(f"  {where}: {p['message']}", err=True)
            raise click.ClickException(exc.message) from None


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo users of docs/API.md (password 'demo'); never use in production."""
    with _db().session() as session:
        created = accounts.seed_demo(session)
        session.commit()
    click.echo(f"Demo users ready ({created} created).")


@click.command("simulate")
@click.option("--orders", default=60, show_default=True, type=click.IntRange(min=1), help="How many orders.")
@click.option("--seed", type=int, default=None, help="Random seed, to repeat a run (default: a new one).")
@click.option("--days", default=60, show_default=True, type=click.IntRange(min=1),
              help="Spread the orders over this many past days.")
@click.option("--if-empty", is_flag=True, help="Do nothing when orders exist already (for `make run`).")
@with_appcontext
def simulate(orders: int, seed: int | None, days: int, if_empty: bool) -> None:
    """Demo data: drive orders through the flow over the past days (users from seed-demo); never in production."""
    from orderflow.demo import simulate as simulation

    database = _db()
    with database.session() as session:
        if if_empty and simulation.has_orders(session):
            click.echo("Orders exist already; nothing simulated.")
            return
    with click.progressbar(length=orders, label=f"Simulating {orders} orders over {days} days") as bar:
        try:
            result = simulation.run(database, orders=orders, seed=seed, days=days, progress=bar.update)
        except LookupError as exc:  # no deployed order_flow or no demo users
            raise click.ClickException(f"{exc}. Run `flask deploy` and `flask seed-demo` first.") from None
    click.echo(f"{result.orders} orders (seed {result.seed}): {result.completed} completed, "
               f"{result.in_flight} in flight, {result.overdue_tasks} overdue task(s); "
               f"{result.steps} steps, {result.jobs} background job(s), {result.escalations} SLA escalation(s), "
               f"{result.cases} after-sales case(s).")


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
    for command in (init_db, deploy, seed_demo, simulate, worker):
        app.cli.add_command(command)
