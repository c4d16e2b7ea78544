"""``comptoir serve``, ``comptoir demo`` and ``comptoir worker``."""
from __future__ import annotations

import os
import random

import click

from comptoir.kernel.cli.base import cli, open_kernel


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run("comptoir.kernel.asgi:app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False, proxy_headers=True)


def _urls(host: str, port: int) -> list[str]:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    return [f"  storefront  {base}/", f"  admin       {base}/admin", f"  API docs    {base}/docs"]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the shop (storefront, admin, API)."""
    kernel = open_kernel()  # migrate once, before the workers start
    kernel.close()
    click.echo("Comptoir is starting:\n" + "\n".join(_urls(host, port)))
    _run_uvicorn(host, port, workers)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--products", default=120, show_default=True)
@click.option("--customers", default=60, show_default=True)
@click.option("--orders", default=200, show_default=True)
@click.option("--serve/--no-serve", "do_serve", default=True, help="serve the shop afterwards")
def demo(host: str, port: int, products: int, customers: int, orders: int, do_serve: bool) -> None:
    """Create a demo shop (catalog, stock, customers, orders, default plugins) and serve it."""
    from comptoir.kernel import demo as demo_data
    from comptoir.kernel.cli.db import _ensure_master_key
    from comptoir.kernel.settings import Settings

    _ensure_master_key(Settings.from_env())
    kernel = open_kernel()
    try:
        enabled = sorted(r.name for r in kernel.host.enabled())
        click.echo(f"shop home: {kernel.settings.home}")
        click.echo(f"plugins enabled: {', '.join(enabled) or 'none'}")
        if demo_data.is_seeded(kernel):
            click.echo("demo data already present (delete the home folder to start over)")
        else:
            rng = random.Random(7)
            with click.progressbar(length=products, label="catalog  ") as bar:
                demo_data.seed_catalog(kernel, products=products, rng=rng, progress=bar.update)
            with click.progressbar(length=customers, label="customers") as bar:
                people = demo_data.seed_customers(kernel, customers=customers, rng=rng, progress=bar.update)
            with click.progressbar(length=orders, label="orders   ") as bar:
                demo_data.seed_orders(kernel, people, orders=orders, rng=rng, progress=bar.update)
            demo_data.mark_some_paid(kernel, rng)
            from comptoir.kernel.jobs import daily

            click.echo("training recommendations and customer segments …")
            daily(kernel)
        for line in _prepare_web(kernel):
            click.echo(line)
    finally:
        kernel.close()
    if do_serve:
        click.echo("Comptoir demo shop:\n" + "\n".join(_urls(host, port)))
        _run_uvicorn(host, port, 1)


def _prepare_web(kernel: object) -> list[str]:
    """Let the web layer create demo staff accounts and say how to sign in."""
    try:
        from comptoir.kernel.web.demo import prepare  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        return []
    return list(prepare(kernel))


@cli.command()
@click.option("--burst", is_flag=True, help="run what is queued, then exit")
def worker(burst: bool) -> None:
    """Run an rq worker (needs COMPTOIR_REDIS_URL) with the outbox pump."""
    from redis import Redis
    from rq import Worker

    from comptoir.kernel.errors import ComptoirError
    from comptoir.kernel.jobs import QUEUE_NAME, RqRunner

    url = os.environ.get("COMPTOIR_REDIS_URL")
    if not url:
        raise ComptoirError("set COMPTOIR_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run workers; without it the "
                            "shop runs jobs in-process and needs no worker")
    kernel = open_kernel()
    pump = RqRunner(kernel, url)
    if burst:
        pump.pump_once()
    else:
        pump.start()
    try:
        click.echo(f"worker on {url}, queue {QUEUE_NAME!r}")
        Worker([QUEUE_NAME], connection=Redis.from_url(url)).work(burst=burst)
    finally:
        pump.stop()
        kernel.close()
