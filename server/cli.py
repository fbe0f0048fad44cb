"""The ``instagraph`` command: ``dev``, ``serve``, ``worker``, ``migrate``, ``seed``, ``dlq list|redrive``.

Every command takes ``--data-dir`` (default ``INSTAGRAPH_DATA_DIR`` or ``.instagraph``); when that directory
belongs to a running ``instagraph dev``, commands talk to its services (see ``devstack.config``).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from backends.errors import BackendUnavailable
from devstack.config import load_settings
from devstack.errors import StackError
from server.logs import configure_logging

app = typer.Typer(
    name="instagraph", help="Instagraph: an Instagram-style GraphQL backend.", no_args_is_help=True
)
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $INSTAGRAPH_DATA_DIR or .instagraph)."),
]


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    data_dir: DataDir = None,
    seed: Annotated[
        bool, typer.Option("--seed", help="Load the datasets (as `instagraph seed`) before the API starts.")
    ] = False,
) -> None:
    """Run the API and every worker on the embedded stack (FalkorDB, Redis, Tansu, SeaweedFS)."""
    from devstack.dev import run_dev

    os.environ["INSTAGRAPH_ENV"] = "dev"
    settings = load_settings(data_dir)
    try:
        status = asyncio.run(run_dev(settings.data_dir.resolve(), port, console, seed=seed))
    except (StackError, OSError) as exc:  # OSError: e.g. a dataset file missing for --seed
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        status = 0
    raise typer.Exit(status)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes (one per core in production).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the GraphQL API with uvicorn (``server.app:create_server_app``)."""
    import uvicorn

    settings = load_settings(data_dir)  # puts a running dev stack's URLs in the env the factory reads
    configure_logging(dev=settings.is_dev)
    uvicorn.run(
        "server.app:create_server_app", factory=True, host=host, port=port, workers=workers,
        ws_ping_interval=settings.ws_keepalive_interval, ws_ping_timeout=settings.ws_keepalive_interval,
    )  # fmt: skip


@app.command()
def worker(
    name: Annotated[str, typer.Argument(help="Worker name, e.g. outbox-relay or fanout; a wrong one lists all.")],
    data_dir: DataDir = None,
) -> None:
    """Run one worker (the outbox relay, a Kafka consumer or a periodic job) until interrupted."""
    settings = load_settings(data_dir)
    configure_logging(dev=settings.is_dev)
    try:
        settings.refuse_unsafe_production()
    except ValueError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    registry = importlib.import_module("workers.registry")
    if name not in registry.WORKER_NAMES:
        console.print(f"[red]error:[/] unknown worker {name!r}; choose one of {', '.join(registry.WORKER_NAMES)}")
        raise typer.Exit(2)
    try:
        asyncio.run(registry.run_worker(name, settings))
    except KeyboardInterrupt:
        pass


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Prepare the backends: graph migrations (constraints, indexes), Kafka topics, the S3 bucket, the search
    indexes with their settings."""
    from runtime.bootstrap import prepare

    settings = load_settings(data_dir)
    done = asyncio.run(prepare(settings))
    console.print(f"migrations applied: {', '.join(done.migrations)}" if done.migrations
                  else "graph schema is up to date")
    console.print(f"topics created: {len(done.topics)}; bucket created: {done.bucket_created}")
    console.print(f"search indexes prepared ({done.search_backend})")


search_app = typer.Typer(help="The search indexes.", no_args_is_help=True)
app.add_typer(search_app, name="search")


@search_app.command("reindex")
def search_reindex(data_dir: DataDir = None) -> None:
    """Rebuild the search indexes (users, PUBLISHED posts) from the graph, with a progress bar; then count the
    last week's hashtags for trending."""
    settings = load_settings(data_dir)
    indexing = importlib.import_module("seed.search")
    try:
        asyncio.run(indexing.run_reindex(settings, console))
    except (BackendUnavailable, OSError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc


@app.command()
def seed(data_dir: DataDir = None) -> None:
    """Import the real datasets (SNAP ego-Facebook graph, captions, photos) through the services."""
    settings = load_settings(data_dir)
    seeding = importlib.import_module("seed.run")
    asyncio.run(seeding.run_seed(settings, console))


dlq = typer.Typer(help="Dead-letter topics: list what waits in <topic>.dlq, replay it through its consumer.")
app.add_typer(dlq, name="dlq")


@dlq.command("list")
def dlq_list(
    topic: Annotated[str, typer.Argument(help="Base topic (posts, follows, ...) or a physical topic name.")],
    data_dir: DataDir = None,
) -> None:
    """List the dead-lettered records of TOPIC not redriven yet, oldest first."""
    from events.errors import BrokerUnavailable

    dead_letters = importlib.import_module("workers.dlq")  # as `worker`: the CLI drives workers by name
    settings = load_settings(data_dir)
    try:
        letters = asyncio.run(dead_letters.list_dead_letters(settings, topic))
    except (ValueError, BrokerUnavailable) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    for d in letters:
        console.print(
            f"{d.partition}:{d.offset}  {d.event_type or '-'}  {d.event_id or '-'}  consumer={d.consumer} "
            f"attempts={d.attempts}  {escape(d.error[:160])}",
            highlight=False,
        )
    console.print(f"{len(letters)} dead-lettered record(s) pending")


@dlq.command("redrive")
def dlq_redrive(
    topic: Annotated[str, typer.Argument(help="Base topic (posts, follows, ...) or a physical topic name.")],
    data_dir: DataDir = None,
) -> None:
    """Replay TOPIC's dead-lettered records through the handler of the consumer that gave up on each."""
    configure_logging(dev=True)
    from events.errors import BrokerUnavailable

    dead_letters = importlib.import_module("workers.dlq")
    settings = load_settings(data_dir)
    try:
        report = asyncio.run(dead_letters.redrive_dead_letters(settings, topic))
    except (ValueError, BrokerUnavailable) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(
        f"handled {len(report.handled)}, already handled {len(report.skipped)}, "
        f"failed again {len(report.failed)} (back in the DLQ)"
    )
    if report.stopped:
        console.print(f"[yellow]stopped:[/] {escape(report.stopped)}; run it again later")
        raise typer.Exit(1)


if __name__ == "__main__":
    sys.exit(app())
