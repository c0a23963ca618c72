"""Command line: ``wbsupply up | api | monitor | worker | operator | notifier | sandbox | bench``."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Annotated

import typer

from wbsupply.config import get_settings

app = typer.Typer(help="wbsupply: books Wildberries FBW supply slots automatically.", no_args_is_help=True)

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def _setup_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per HTTP request or Alembic plugin drowns what an operator needs to see.
    for chatty in ("httpx", "httpcore", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


@app.command()
def up() -> None:
    """Run everything in one process on embedded defaults (SQLite, in-process bus, sandbox WB)."""
    from wbsupply.runtime import run_embedded

    _setup_logging()
    settings = get_settings()
    if settings.sandbox_enabled:
        from wbsupply.sandbox.app import embedded_sandbox

        run_embedded(settings, sandbox=embedded_sandbox)
    else:
        run_embedded(settings)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the market simulation")] = 42,
    speed: Annotated[float, typer.Option(help="How much faster than real time the sandbox clock runs")] = 1.0,
    public_api: Annotated[bool, typer.Option(help="Answer the public coefficients API (WB: off since 2026-08)")]
    = True,
) -> None:
    """Run the WB sandbox (public API, seller cabinet, market simulation) alone."""
    import uvicorn

    from wbsupply.sandbox.app import SandboxConfig, create_app

    _setup_logging()
    config = SandboxConfig(seed=seed, speed=speed, public_api=public_api)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@app.command()
def api() -> None:
    """Run the API and web cabinet alone (migrates the database first), as the cluster's API pod does."""
    import uvicorn

    from wbsupply.api.bootstrap import ensure_configured_admin
    from wbsupply.process import private_files, proxy_options
    from wbsupply.store.engine import make_engine, upgrade

    private_files()
    _setup_logging()
    settings = get_settings()
    upgrade(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    if ensure_configured_admin(engine, settings):
        logging.getLogger("wbsupply.api").info("first administrator %s created", settings.admin_email)
    engine.dispose()
    uvicorn.run(
        "wbsupply.api.main:create_app_from_env", factory=True, host=settings.api_host, port=settings.api_port,
        log_level="warning", **proxy_options(settings),
    )


@app.command()
def monitor() -> None:
    """Run the slot monitor alone, with /healthz and /metrics on WBSUPPLY_METRICS_PORT."""
    from wbsupply.monitor.entry import run_monitor

    _setup_logging()
    run_monitor(get_settings(), port=get_settings().metrics_port)


@app.command()
def worker(
    bot: Annotated[str | None, typer.Option(help="WB account id, or the SellerBot name in a pod")] = None,
    pool: Annotated[Path | None, typer.Option(help="Pool file of a packed pod: its bots, re-read while running")]
    = None,
) -> None:
    """Run one worker bot, or the bots of a packed pod (one browser, one context per bot), with /healthz."""
    if (bot is None) == (pool is None):
        typer.echo("give either --bot or --pool", err=True)
        raise typer.Exit(2)
    from wbsupply.worker.main import run_pool, run_worker

    _setup_logging()
    if pool is not None:
        run_pool(pool, get_settings())
    else:
        assert bot is not None
        run_worker(bot, get_settings())


@app.command()
def notifier() -> None:
    """Deliver notifications from the outbox: Telegram bot, e-mail."""
    from wbsupply.notify.main import run_notifier

    _setup_logging()
    run_notifier(get_settings())


@app.command()
def operator() -> None:
    """Run the Kubernetes operator (SellerBot / SupplyTask custom resources -> worker pods)."""
    from wbsupply.operator.main import run

    _setup_logging()
    run(get_settings())


@app.command()
def bench(
    name: Annotated[str | None, typer.Argument(help="Benchmark name (a file in bench/)")] = None,
    quick: Annotated[bool, typer.Option(help="Smaller run, for a smoke check")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the benchmarks")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Run every benchmark: one table, bench/results.json, a PNG")]
    = False,
) -> None:
    """Run one benchmark: a readable summary, then one JSON line as the last line."""
    available = sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))
    if all_:
        _bench_all(available, quick)
        return
    if list_ or name is None:
        typer.echo("benchmarks: " + ", ".join(available))
        return
    if name not in available:
        typer.echo(f"unknown benchmark {name!r}; available: {', '.join(available)}", err=True)
        raise typer.Exit(2)
    spec = importlib.util.spec_from_file_location(f"wbsupply_bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(quick=quick).print()


def _bench_all(available: list[str], quick: bool) -> None:
    """Each benchmark in its own process (one's memory must not count in another's), then the table."""
    import datetime as dt
    import json
    import subprocess
    import sys

    from wbsupply.benchkit import chart, parse_json_line, readme_with_table, results_json, table

    results, failed = [], []
    for name in available:
        typer.echo(f"running {name} ...", err=True)
        args = [sys.executable, "-m", "wbsupply.cli", "bench", name, *(["--quick"] if quick else [])]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            typer.echo(f"{name} failed:\n{done.stderr[-2000:]}", err=True)
            failed.append(name)
            continue
        results.append(parse_json_line(done.stdout))
    typer.echo("\n".join(table(results)))
    (BENCH_DIR / "results.json").write_text(json.dumps(results_json(results), ensure_ascii=False, indent=2) + "\n")
    png = BENCH_DIR / "results.png"
    made = chart(results, png)
    readme = BENCH_DIR.parent / "README.md"
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Only a full run with every benchmark answered becomes the README's table.
    complete = not quick and not failed and readme.exists()
    updated = readme_with_table(readme.read_text(), results, when) if complete else None
    if updated is not None:
        readme.write_text(updated)
    typer.echo(f"written: {BENCH_DIR / 'results.json'}" + (f", {png}" if made else
               " (no chart: install the `bench` extra, matplotlib)") + (", README.md's table" if updated else ""))
    if failed:
        typer.echo(f"failed: {', '.join(failed)} (the README's table is left as it was)", err=True)
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
