"""Lifecycle hooks: start, stop, routes, admin menus, migrations."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import KernelInfo, MenuItem


@spec("historic")
def kernel_ready(ctx: Any, info: KernelInfo) -> None:
    """The kernel is up. Historic: a plugin enabled later is called at once.

    :param ctx: the plugin's own context.
    :param info: kernel version and hook-API version.
    :returns: nothing.
    """


@spec("collect")
def plugin_enabled(ctx: Any) -> None:
    """This plugin was just enabled (at start or live). Prepare caches, open clients.

    Collect-all; each plugin is told only about itself.

    :param ctx: the plugin's own context.
    """


@spec("collect")
def plugin_disabled(ctx: Any) -> None:
    """This plugin is about to be disabled. Close clients; data stays.

    :param ctx: the plugin's own context.
    """


@spec("collect")
def web_routes(ctx: Any) -> list[Any]:
    """Starlette routes to mount under ``/plugins/<plugin-id>/``.

    Collect-all: each plugin returns a list of ``starlette.routing.Route``; the kernel
    mounts each plugin's list under its own prefix, behind the staff authentication.

    :param ctx: the plugin's own context.
    :returns: a list of routes (may be empty).
    """


@spec("collect")
def admin_menu_items(ctx: Any, role: str) -> list[MenuItem]:
    """Entries this plugin adds to the admin menu for a staff ``role``.

    Collect-all; the kernel filters by each item's ``roles`` and sorts by label.

    :param ctx: the plugin's own context.
    :param role: owner, manager, marketing, support or picker.
    :returns: a list of :class:`MenuItem`.
    """


@spec("firstresult")
def migrations_location(ctx: Any) -> str | None:
    """Folder of this plugin's Alembic branch, or None when it has no tables.

    Asked of one plugin at a time by the installer (first result).

    :param ctx: the plugin's own context.
    :returns: an absolute path or None.
    """


@spec("targeted", side_effects=True, timeout_ms=10000)
def account_connected(ctx: Any, account: str, shop_url: str) -> list[str]:
    """An admin just connected (or replaced) this plugin's ``account`` in the admin.

    Targeted: called on the plugin that declares the account, right after its secret or
    OAuth tokens were stored. Finish the set-up at the provider here, e.g. register the
    shop's webhook endpoint (``shop_url`` + ``/webhooks/<plugin-id>``) and keep the signing
    secret the provider returns through ``ctx.credentials``. Raise to tell the admin the
    account does not work; the message is shown (never include a secret in it).

    :param ctx: the plugin's own context.
    :param account: the account's name in the manifest (``[tool.comptoir.scopes.accounts.<name>]``).
    :param shop_url: the shop's public base URL, without a trailing slash.
    :returns: merchant-readable lines saying what was set up (may be empty).
    """
