"""``comptoir reco train|evaluate|status|rollback|rules``: the recommendation engine.

The engine is the ``recommendations`` plugin. Training goes through its hook (so the
kernel's rights and journal apply); the offline tools (evaluation, model versions,
merchant rules) are library functions of that plugin's package, imported only when a
command needs them: the kernel itself never depends on a plugin.
"""
from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

import click

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.errors import ComptoirError

PLUGIN_ID = "recommendations"
PACKAGE = "comptoir_recommendations"


def _lib(module: str) -> ModuleType:
    try:
        return importlib.import_module(f"{PACKAGE}.{module}")
    except ModuleNotFoundError:
        raise ComptoirError(f"the recommendations plugin is not installed; install it with "
                            f"`pip install -e plugins/recommendations`") from None


def _storage(kernel: Any) -> Any:
    return kernel.host.context(PLUGIN_ID).storage_dir


@cli.group()
def reco() -> None:
    """Recommendations: train, evaluate, model versions, merchant rules."""


@reco.command("train")
@click.option("--reason", default="manual", show_default=True, help="recorded with the model version")
@with_kernel
def reco_train(kernel: Any, reason: str) -> None:
    """Retrain every enabled recommendation engine now, on all orders."""
    answers = kernel.host.call_each("recommendations_train", reason=reason)
    if not answers:
        raise ComptoirError("no enabled plugin trains recommendations (or it failed: see "
                            "`comptoir journal --plugin recommendations`); enable one with "
                            "`comptoir plugins enable recommendations`")
    for plugin, summary in answers:
        click.echo(f"{plugin}: " + json.dumps(summary, default=str))


@reco.command("evaluate")
@click.option("--shop", is_flag=True, help="use this shop's orders instead of a synthetic shop")
@click.option("--customers", default=20_000, show_default=True, help="synthetic customers")
@click.option("--items", default=5_000, show_default=True, help="synthetic products")
@click.option("--categories", default=100, show_default=True, help="synthetic categories")
@click.option("--seed", default=0, show_default=True)
@click.option("-k", "k", default=20, show_default=True, help="cut-off for Recall@k and NDCG@k")
@click.option("--test-fraction", default=0.2, show_default=True, help="latest share of sales held out")
@click.option("--max-users", default=5_000, show_default=True, help="customers scored (sampled)")
def reco_evaluate(shop: bool, customers: int, items: int, categories: int, seed: int, k: int,
                  test_fraction: float, max_users: int) -> None:
    """Time-ordered hold-out: Recall@k and NDCG@k of each model against popularity."""
    evaluate = _lib("evaluate")
    training = _lib("training")
    if shop:
        from comptoir.kernel.cli.base import open_kernel

        kernel = open_kernel()
        try:
            ctx = kernel.host.context(PLUGIN_ID)
            lines, catalog = _lib("pipeline").load_shop(ctx.data)
            cfg = training.TrainConfig.from_settings(ctx.settings)
        finally:
            kernel.close()
        source = "this shop"
    else:
        synthetic = _lib("synthetic")
        lines, catalog = synthetic.generate(synthetic.ShopSpec(customers=customers, items=items,
                                                               categories=categories, seed=seed))
        cfg = training.TrainConfig()
        source = f"synthetic shop (seed {seed})"
    if len(lines) < 50:
        raise ComptoirError(f"only {len(lines)} order lines: too few to evaluate; try without --shop")
    click.echo(f"{source}: {len(lines):,} order lines, {len(catalog.product_id):,} products; "
               f"last {test_fraction:.0%} of sales held out")
    scores = evaluate.evaluate(lines, catalog, cfg, k=k, test_fraction=test_fraction, max_users=max_users)
    click.echo(table(evaluate.format_scores(scores, k),
                     ["model", f"Recall@{k}", f"NDCG@{k}", "vs popularity", "customers", "training"]))


@reco.command("status")
@with_kernel
def reco_status(kernel: Any) -> None:
    """Model versions kept on disk and which one is served."""
    store = _lib("artifacts").ModelStore(_storage(kernel) / "models")
    current, previous = store.current(), store.previous()
    if not current:
        click.echo("no model trained yet: run `comptoir reco train`")
        return
    rows = []
    for v in store.versions():
        meta = json.loads((store.root / v / "meta.json").read_text())
        state = "serving" if v == current else "previous" if v == previous else ""
        rows.append([v, state, str(meta.get("reason", "")), f"{meta.get('lines', 0):,}", f"{meta.get('items', 0):,}",
                     ",".join(meta.get("models", [])), f"{meta.get('total_seconds', 0)}s"])
    click.echo(table(rows, ["version", "state", "reason", "lines", "items", "models", "training"]))


@reco.command("rollback")
@with_kernel
def reco_rollback(kernel: Any) -> None:
    """Serve the previous model version again (running workers switch within a second)."""
    store = _lib("artifacts").ModelStore(_storage(kernel) / "models")
    try:
        version = store.rollback()
    except FileNotFoundError as exc:
        raise ComptoirError(f"{exc}; train twice before rolling back") from None
    click.echo(f"serving {version}")


@reco.command("rules")
@click.option("--exclude", "exclude", multiple=True, type=int, help="never recommend this product id")
@click.option("--include", "include", multiple=True, type=int, help="lift an exclusion")
@click.option("--boost", "boost", multiple=True, help="ID=FACTOR, e.g. 31=2 (1 removes the boost)")
@click.option("--pin", "pin", multiple=True, type=int, help="show this product first")
@click.option("--kind", default="*", show_default=True,
              type=click.Choice(["*", "similar", "bought_together", "for_you", "popular", "trending"]),
              help="which answers --pin applies to")
@click.option("--unpin", "unpin", multiple=True, type=int, help="remove a pin (for --kind)")
@click.option("--clear", is_flag=True, help="remove every rule")
@with_kernel
def reco_rules(kernel: Any, exclude: tuple[int, ...], include: tuple[int, ...], boost: tuple[str, ...],
               pin: tuple[int, ...], kind: str, unpin: tuple[int, ...], clear: bool) -> None:
    """Show or change merchant rules (exclude, boost, pin); they apply within a second."""
    rules_mod = _lib("rules")
    storage = _storage(kernel)
    current = rules_mod.Rules() if clear else rules_mod.load_rules(storage)
    doc = current.to_json()
    ex = (set(doc["exclude"]) | set(exclude)) - set(include)
    boosts = {int(k): float(v) for k, v in doc["boost"].items()}
    for item in boost:
        pid, sep, factor = item.partition("=")
        if not sep:
            raise click.UsageError(f"--boost {item!r} must be ID=FACTOR")
        if float(factor) == 1.0:
            boosts.pop(int(pid), None)
        else:
            boosts[int(pid)] = float(factor)
    pins = {k: list(v) for k, v in doc["pin"].items()}
    if pin or unpin:
        lst = [p for p in pins.get(kind, []) if p not in unpin]
        lst += [p for p in pin if p not in lst]
        pins[kind] = lst
    try:
        new = rules_mod.Rules.from_json({"exclude": sorted(ex), "boost": boosts,
                                         "pin": {k: v for k, v in pins.items() if v}})
    except ValueError as exc:
        raise ComptoirError(f"invalid rule: {exc}") from None
    if clear or exclude or include or boost or pin or unpin:
        rules_mod.save_rules(storage, new)
    click.echo(json.dumps(new.to_json(), indent=1))
