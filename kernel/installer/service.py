"""The installer: fetch → verify → check → approve → install → migrate → enable, live.

``Installer`` is what ``comptoir plugins install|upgrade|rollback|uninstall`` and the
admin's App store page call. Every refusal is an :class:`InstallRefused` whose message
names the plugin, the failed check and what to do.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import httpx
from packaging.version import Version
from sqlalchemy import delete, update

from comptoir.kernel import hookspecs
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.events import KernelCounter, PluginState
from comptoir.kernel.errors import ComptoirError, NotFound
from comptoir.kernel.installer import loader, trust
from comptoir.kernel.installer.errors import InstallRefused, RightsApprovalNeeded, StaleIndex, UntrustedRelease
from comptoir.kernel.installer.models import InstalledPlugin
from comptoir.kernel.manifest import Manifest
from comptoir.marketplace.keys import countersign_message
from comptoir.sdk.errors import HookSignatureError, SignatureInvalid, WheelInvalid
from comptoir.sdk.signatures import check_plugin, check_sources
from comptoir.sdk.signing import ReleaseSignature, verify_bytes
from comptoir.sdk.wheel import inspect_wheel

log = logging.getLogger("comptoir.installer")
ACTOR = "admin"


@dataclass
class InstallPlan:
    """A verified release ready to install: what the admin is asked to approve."""

    plugin: str
    version: str
    manifest: Manifest
    wheel: Path
    sha256: str
    rights: list[str]
    pending_rights: list[str]
    upgrade_from: str = ""
    top_level: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


class Installer:
    """Installs plugins from one marketplace into ``kernel.settings.effective_plugin_dir``."""

    def __init__(self, kernel: Any, marketplace: str = "", *, market_key: str = "",
                 client: httpx.Client | None = None) -> None:
        self.kernel = kernel
        self.marketplace = (marketplace or os.environ.get("COMPTOIR_MARKETPLACE_URL", "http://127.0.0.1:8100")
                            ).rstrip("/")
        self.market_key = market_key or os.environ.get("COMPTOIR_MARKETPLACE_KEY", "")
        self._client = client
        self.shop_id = hashlib.sha256(str(kernel.settings.home).encode()).hexdigest()[:16]

    # ---- plumbing ----------------------------------------------------------------------
    @property
    def plugin_dir(self) -> Path:
        return Path(self.kernel.settings.effective_plugin_dir)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.marketplace, timeout=30)
        return self._client

    def _get(self, path: str, **params: Any) -> Any:
        try:
            resp = self.client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise InstallRefused(f"the marketplace {self.marketplace} cannot be reached ({type(exc).__name__}); "
                                 "check COMPTOIR_MARKETPLACE_URL") from None
        if resp.status_code == 404:
            raise NotFound(resp.json().get("detail", f"{path} not found") if resp.content else f"{path} not found")
        if resp.status_code >= 400:
            detail = resp.json().get("detail", resp.text) if resp.headers.get("content-type", "").startswith(
                "application/json") else resp.text[:200]
            raise InstallRefused(f"the marketplace refused {path}: {detail}")
        return resp.json() if "json" in resp.headers.get("content-type", "") else resp.content

    def _ensure_pinned(self) -> str:
        factory = self.kernel.factory
        pinned = trust.pinned_key(factory, self.marketplace)
        if self.market_key:
            trust.pin(factory, self.marketplace, self.market_key)  # refuses a different pinned key
            return self.market_key
        if pinned:
            return pinned
        # trust on first use: pin the key the marketplace presents now, refuse any other later
        key = self._get("/api/v1/keys")["marketplace_key"]
        trust.pin(factory, self.marketplace, key)
        return str(key)

    def snapshot(self) -> trust.Snapshot:
        """The marketplace's current signed index, verified against what this shop saw before."""
        self._ensure_pinned()
        return trust.accept_snapshot(self.kernel.factory, self.marketplace, self._get("/snapshot.json"))

    def _row(self, plugin: str) -> InstalledPlugin | None:
        with self.kernel.factory() as s:
            return s.get(InstalledPlugin, plugin)

    # ---- catalog -------------------------------------------------------------------------
    def search(self, query: str = "", category: str = "", page: int = 1) -> dict[str, Any]:
        """Catalog search, with compatibility against this kernel's hook API."""
        return self._get("/api/v1/plugins", q=query, category=category, page=page,  # type: ignore[no-any-return]
                         kernel=hookspecs.HOOK_API_VERSION)

    def info(self, plugin: str) -> dict[str, Any]:
        out = self._get(f"/api/v1/plugins/{plugin}", kernel=hookspecs.HOOK_API_VERSION)
        row = self._row(plugin)
        out["installed"] = row.version if row else None
        return out  # type: ignore[no-any-return]

    def installed(self) -> list[InstalledPlugin]:
        from sqlalchemy import select

        with self.kernel.factory() as s:
            return list(s.scalars(select(InstalledPlugin).order_by(InstalledPlugin.plugin)))

    # ---- verify --------------------------------------------------------------------------
    def plan(self, plugin: str, version: str = "", *, allow_same: bool = False) -> InstallPlan:
        """Fetch and verify a release, run every check; nothing is installed yet."""
        market_key = self._ensure_pinned()
        snap = self.snapshot()
        version = version or snap.latest(plugin) or ""
        if not version:
            raise NotFound(f"{plugin} has no installable release in the marketplace index; "
                           "see `comptoir plugins search`")
        if (plugin, version) in snap.blocked:
            raise InstallRefused(f"{plugin} {version} is blocked by the marketplace; do not install it")
        listed = snap.releases.get((plugin, version))
        if listed is None:
            raise InstallRefused(f"{plugin} {version} is not in the marketplace's signed index "
                                 f"(version {snap.version}); refusing an unlisted release")
        row = self._row(plugin)
        if row is not None:
            if Version(version) < Version(row.version):
                raise InstallRefused(f"refusing to downgrade {plugin} from {row.version} to {version} (a replay of "
                                     f"an older release?); use `comptoir plugins rollback {plugin}` to go back")
            if Version(version) == Version(row.version) and not allow_same:
                raise InstallRefused(f"{plugin} {version} is already installed")
        doc = self._get(f"/api/v1/plugins/{plugin}/releases/{version}")
        sha = str(doc["sha256"])
        if sha != listed["sha256"]:
            raise UntrustedRelease(f"{plugin} {version}: the release's sha256 differs from the signed index")
        try:
            verify_bytes(market_key, countersign_message(plugin, version, sha, doc["vendor"]["name"],
                                                         doc["vendor"]["public_key"]),
                         doc["market_signature"], what=f"{plugin} {version} marketplace counter-signature")
            ReleaseSignature(plugin, version, sha, doc["vendor"]["key_id"], doc["vendor_signature"]).verify(
                doc["vendor"]["public_key"], plugin=plugin, version=version, sha256=sha)
        except SignatureInvalid as exc:
            raise UntrustedRelease(exc.message) from None
        tmp = Path(tempfile.mkdtemp(prefix="comptoir-install-"))
        wheel = tmp / Path(doc["filename"]).name
        data = self._download(doc["url"])
        got = hashlib.sha256(data).hexdigest()
        if got != sha:  # checked before the file is even opened as a zip
            raise UntrustedRelease(f"{plugin} {version}: the downloaded file's sha256 {got[:12]}… is not "
                                   f"the signed {sha[:12]}… (tampered in transit or on the mirror)")
        wheel.write_bytes(data)
        try:
            info = inspect_wheel(wheel)
        except WheelInvalid as exc:
            raise UntrustedRelease(f"{plugin} {version}: {exc.message}") from None
        m = info.manifest
        try:
            impls = check_sources(info.sources, plugin)  # the hooks, read without importing the code
        except HookSignatureError as exc:
            raise UntrustedRelease(exc.message) from None
        if any(i.hook == "migrations_location" for i in impls) and self._sandbox(info.manifest) is not None:
            raise InstallRefused(f"{plugin} {version} brings its own database tables, whose migrations would run "
                                 f"in the shop's process; it can only be installed once the operator trusts it "
                                 f"(COMPTOIR_TRUSTED_PLUGINS={plugin})")
        if (m.id, m.version) != (plugin, version):
            raise UntrustedRelease(f"the file for {plugin} {version} carries {m.id} {m.version}")
        self._check_compatible(m)
        rights = m.requested_rights()
        approved = set(row.approved_rights) if row else set()
        creds = self.kernel.services.get("credentials")
        if creds is not None:
            pending = creds.pending_rights(plugin, m)
        else:
            pending = [r for r in rights if r not in approved]
        return InstallPlan(plugin, version, m, wheel, sha, rights, pending, row.version if row else "", info.top_level)

    def _download(self, url: str) -> bytes:
        data = self._get(url)
        return data if isinstance(data, bytes) else json.dumps(data).encode()

    def _check_compatible(self, m: Manifest) -> None:
        if not m.supports_api(hookspecs.HOOK_API_VERSION):
            raise InstallRefused(f"{m.id} {m.version} needs kernel hook API {m.kernel_api}; this shop runs "
                                 f"{hookspecs.HOOK_API_VERSION}; install a release made for it or upgrade the shop")
        host = self.kernel.host
        for other in host.records.values():
            if other.name == m.id:
                continue
            shared = set(other.manifest.exclusive_slots) & set(m.exclusive_slots)
            if shared:
                raise InstallRefused(f"{m.id} claims the exclusive slot {sorted(shared)[0]!r}, held by "
                                     f"{other.name!r}; uninstall {other.name} first (one plugin per slot)")
        missing = [r for r in m.requires if r not in host.records]
        if missing:
            raise InstallRefused(f"{m.id} needs the plugin(s) {', '.join(missing)}; install them first")

    # ---- install -------------------------------------------------------------------------
    def install(self, plugin: str, version: str = "", *, approve: bool | Iterable[str] = False,
                actor: str = ACTOR) -> InstallPlan:
        """Install (or upgrade to) ``version`` (latest when empty), enable it live."""
        return self.execute(self.plan(plugin, version), approve=approve, actor=actor)

    def execute(self, plan: InstallPlan, *, approve: bool | Iterable[str] = False,
                actor: str = ACTOR) -> InstallPlan:
        """Install a verified :class:`InstallPlan` (the admin saw its rights), enable it live."""
        try:
            self._apply(plan, approve, actor)
        finally:
            shutil.rmtree(plan.wheel.parent, ignore_errors=True)
        return plan

    def upgrade(self, plugin: str, *, approve: bool | Iterable[str] = False, actor: str = ACTOR) -> InstallPlan:
        """Install the latest release over the current one, keeping it for rollback."""
        row = self._row(plugin)
        if row is None:
            raise NotFound(f"{plugin} is not installed from the marketplace; install it first")
        latest = self.snapshot().latest(plugin)
        if latest is None or Version(latest) <= Version(row.version):
            raise InstallRefused(f"{plugin} {row.version} is the latest release; nothing to upgrade")
        return self.install(plugin, latest, approve=approve, actor=actor)

    def _approve(self, plan: InstallPlan, approve: bool | Iterable[str]) -> list[str]:
        if approve is True:
            return list(plan.rights)
        given = set(approve) if approve else set()
        missing = [r for r in plan.pending_rights if r not in given]
        if missing:
            raise RightsApprovalNeeded(plan.plugin, missing)
        return list(plan.rights)

    def _apply(self, plan: InstallPlan, approve: bool | Iterable[str], actor: str) -> None:
        approved = self._approve(plan, approve)
        target = loader.version_dir(self.plugin_dir, plan.plugin, plan.version)
        loader.unpack(plan.wheel, target)
        host = self.kernel.host
        old = self._row(plan.plugin)
        old_rec = host.records.get(plan.plugin)
        was_enabled = bool(old_rec and old_rec.enabled)
        try:
            rec = loader.record_for(target, plan.plugin)
            if old_rec is not None:
                host.forget(plan.plugin)
            loader.unload([*plan.top_level, *(old.top_level if old else [])], plugin=plan.plugin)
            self._register(plan.plugin, target, rec)
            creds = self.kernel.services.get("credentials")
            if creds is not None and approved:
                creds.grant(plan.plugin, approved, actor, version=plan.version)
            # the pointer moves before enable persists the state: another process that sees
            # the new state must find the new code
            loader.set_current(self.plugin_dir, plan.plugin, plan.version)
            host.enable(plan.plugin)
        except Exception as exc:
            # leave the shop as it was: previous version back in place, new files gone
            host.forget(plan.plugin)
            loader.unload(plan.top_level, target)
            shutil.rmtree(target, ignore_errors=True)
            if old is not None:
                loader.set_current(self.plugin_dir, plan.plugin, old.version)
                self._load_version(plan.plugin, old.version, enable=was_enabled)
            else:
                (self.plugin_dir / plan.plugin / loader.CURRENT).unlink(missing_ok=True)
            if isinstance(exc, ComptoirError):
                raise
            raise InstallRefused(f"{plan.plugin} {plan.version} failed to start: {type(exc).__name__}: {exc}; "
                                 "the shop is unchanged") from None
        receipt = self._report_install(plan)
        with self.kernel.factory() as s, s.begin():
            row = s.get(InstalledPlugin, plan.plugin) or InstalledPlugin(plugin=plan.plugin, version=plan.version)
            previous = row.version if old is not None else ""
            row.version, row.previous_version, row.sha256 = plan.version, previous, plan.sha256
            row.marketplace, row.top_level = self.marketplace, list(plan.top_level)
            row.approved_rights, row.approved_by, row.updated_at = approved, actor, utcnow()
            row.receipt = receipt or row.receipt
            s.add(row)
        self._prune(plan.plugin, keep={plan.version, old.version if old else ""})
        log.info("installed %s %s from %s", plan.plugin, plan.version, self.marketplace)

    def _migrate(self, plugin: str, obj: Any) -> None:
        """Run the plugin's own Alembic branch when it declares one (before it serves)."""
        fn = getattr(obj, "migrations_location", None)
        if fn is None or getattr(fn, "comptoir_impl", None) is None:
            return
        import inspect

        kwargs = {"ctx": self.kernel.host.context(plugin)} if "ctx" in inspect.signature(fn).parameters else {}
        location = fn(**kwargs)
        if location:
            from comptoir.kernel.installer import migrations

            migrations.upgrade(self.kernel.engine, plugin, str(location))

    def _report_install(self, plan: InstallPlan) -> str:
        """Tell the marketplace (install counts; the receipt lets this shop review). Best effort."""
        try:
            resp = self.client.post(f"/api/v1/plugins/{plan.plugin}/installs",
                                    json={"version": plan.version, "shop_id": self.shop_id})
            return str(resp.json().get("receipt", "")) if resp.status_code == 201 else ""
        except (httpx.HTTPError, ValueError):
            return ""

    def _prune(self, plugin: str, keep: set[str]) -> None:
        folder = self.plugin_dir / plugin
        for child in folder.iterdir():
            if child.is_dir() and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def _sandbox(self, manifest: Manifest) -> Any:
        """The sandbox manager when this plugin must run there (third-party code, by default)."""
        sandbox = self.kernel.services.get("sandbox")
        if sandbox is None or os.environ.get("COMPTOIR_SANDBOX", "untrusted") == "off":
            return None
        return sandbox if sandbox.should_sandbox(manifest, "installed") else None

    def _register(self, plugin: str, folder: Path, rec: Any) -> None:
        """Make the code in ``folder`` the plugin's: in the sandbox (a worker process, started
        at enable) or, for plugins the operator trusts, in process after a signature check
        of the live object and its own migrations."""
        sandbox = self._sandbox(rec.manifest)
        if sandbox is not None:
            sandbox.add(rec.manifest, folder, loader.entry_value(folder, plugin), enable=False)
            return
        obj = rec.loader()
        check_plugin(obj, plugin)
        self.kernel.host.add(obj, rec.manifest, source="installed")
        self._migrate(plugin, obj)

    def _load_version(self, plugin: str, version: str, *, enable: bool) -> None:
        folder = loader.version_dir(self.plugin_dir, plugin, version)
        self._register(plugin, folder, loader.record_for(folder, plugin))
        if enable:
            self.kernel.host.enable(plugin)

    # ---- rollback / uninstall -----------------------------------------------------------------
    def rollback(self, plugin: str) -> str:
        """Go back to the version installed before the last upgrade (kept on disk). Live."""
        row = self._row(plugin)
        if row is None or not row.previous_version:
            raise InstallRefused(f"{plugin} has no previous version to roll back to")
        prev, cur = row.previous_version, row.version
        folder = loader.version_dir(self.plugin_dir, plugin, prev)
        if not folder.is_dir():
            raise InstallRefused(f"{plugin} {prev} is no longer on disk ({folder}); reinstall it instead")
        try:  # a rollback is a local recovery: it works offline, but never back to a blocked version
            blocked = (plugin, prev) in self.snapshot().blocked
        except InstallRefused as exc:
            log.warning("rollback of %s without the marketplace index: %s", plugin, exc.message)
            blocked = False
        if blocked:
            raise InstallRefused(f"{plugin} {prev} has been blocked by the marketplace since; it cannot be restored")
        host = self.kernel.host
        host.forget(plugin)
        loader.unload(row.top_level, loader.version_dir(self.plugin_dir, plugin, cur))
        loader.set_current(self.plugin_dir, plugin, prev)
        self._load_version(plugin, prev, enable=True)  # a rollback is to get a working plugin back now
        with self.kernel.factory() as s, s.begin():
            r = s.get(InstalledPlugin, plugin)
            r.version, r.previous_version, r.updated_at = prev, cur, utcnow()  # type: ignore[union-attr]
            s.add(r)
        return prev

    def _drop_tables(self, plugin: str) -> bool:
        """Run the plugin's own downgrades (in-process plugins only: they alone have tables)."""
        rec = self.kernel.host.records.get(plugin)
        fn = getattr(rec.obj, "migrations_location", None) if rec is not None and rec.source == "installed" else None
        if fn is None or getattr(fn, "comptoir_impl", None) is None:
            return False
        import inspect

        kwargs = {"ctx": self.kernel.host.context(plugin)} if "ctx" in inspect.signature(fn).parameters else {}
        location = fn(**kwargs)
        if not location:
            return False
        from comptoir.kernel.installer import migrations

        migrations.drop(self.kernel.engine, plugin, str(location))
        return True

    def audit(self) -> list[str]:
        """Disable every installed version the marketplace has blocked since it was installed
        (and say so in the journal). Run it from a periodic job or `comptoir plugins audit`."""
        snap = self.snapshot()
        disabled = []
        for row in self.installed():
            if (row.plugin, row.version) in snap.blocked:
                rec = self.kernel.host.records.get(row.plugin)
                if rec is not None and rec.enabled:
                    self.kernel.host.disable(row.plugin)
                self.kernel.host.journal.record(row.plugin, "installer", 0, "blocked",
                                                f"{row.plugin} {row.version} was blocked by the marketplace; disabled")
                disabled.append(f"{row.plugin} {row.version}")
        return disabled

    def review(self, plugin: str, rating: int, text: str = "") -> dict[str, Any]:
        """Rate an installed plugin on the marketplace (the install receipt proves the install)."""
        row = self._row(plugin)
        if row is None or not row.receipt:
            raise NotFound(f"{plugin} was not installed from {self.marketplace}; only installers may review it")
        resp = self.client.post(f"/api/v1/plugins/{plugin}/reviews",
                                json={"receipt": row.receipt, "rating": rating, "text": text})
        if resp.status_code != 201:
            raise InstallRefused(f"the marketplace refused the review: {resp.json().get('detail', resp.text)}")
        return resp.json()  # type: ignore[no-any-return]

    def uninstall(self, plugin: str, *, data: str = "keep", export_to: Path | None = None,
                  actor: str = ACTOR) -> dict[str, Any]:
        """Remove code, hooks, settings and grants. ``data``: keep | export | delete the
        plugin's storage folder (``export`` writes a zip to ``export_to`` first)."""
        if data not in ("keep", "export", "delete"):
            raise InstallRefused("data must be keep, export or delete")
        row = self._row(plugin)
        if row is None:
            raise NotFound(f"{plugin} is not installed from the marketplace")
        host = self.kernel.host
        dependants = [r.name for r in host.records.values() if plugin in r.manifest.requires and r.name != plugin]
        if dependants:
            raise InstallRefused(f"{', '.join(dependants)} need {plugin}; uninstall them first")
        storage = self.kernel.settings.data_dir / "plugins" / plugin
        out: dict[str, Any] = {"plugin": plugin, "version": row.version, "data": data}
        if data == "export":
            dest = export_to or (self.kernel.settings.home / "exports" / f"{plugin}-{row.version}.zip")
            out["export"] = str(_export(storage, dest, {"plugin": plugin, "version": row.version,
                                                         "settings": host.records[plugin].settings
                                                         if plugin in host.records else {}}))
        dropped = self._drop_tables(plugin) if data == "delete" else False
        out["tables_dropped"] = dropped
        host.forget(plugin)  # disables first: its hooks stop serving now (a sandbox worker stops)
        sandbox = self.kernel.services.get("sandbox")
        if sandbox is not None:
            getattr(sandbox, "plugins", {}).pop(plugin, None)
        loader.unload(row.top_level, loader.version_dir(self.plugin_dir, plugin, row.version))
        shutil.rmtree(self.plugin_dir / plugin, ignore_errors=True)
        if data in ("export", "delete"):
            shutil.rmtree(storage, ignore_errors=True)
        creds = self.kernel.services.get("credentials")
        if creds is not None:
            creds.revoke(plugin, None, actor)
        with self.kernel.factory() as s, s.begin():
            s.execute(delete(PluginState).where(PluginState.name == plugin))  # type: ignore[arg-type]
            s.execute(delete(InstalledPlugin).where(InstalledPlugin.plugin == plugin))  # type: ignore[arg-type]
            # other processes (web workers) notice plugin changes through this counter
            if s.get(KernelCounter, "plugins") is None:
                s.add(KernelCounter(name="plugins", value=1))
            else:
                s.execute(update(KernelCounter).where(KernelCounter.name == "plugins")  # type: ignore[arg-type]
                          .values(value=KernelCounter.value + 1))
        return out


def _export(storage: Path, dest: Path, meta: dict[str, Any]) -> Path:
    """Zip the plugin's storage folder with a JSON note of its settings (open formats)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("plugin.json", json.dumps(meta, indent=2, default=str))
        if storage.is_dir():
            for f in sorted(storage.rglob("*")):
                if f.is_file():
                    zf.write(f, f"storage/{f.relative_to(storage)}")
    return dest


__all__ = ["Installer", "InstallPlan", "InstallRefused", "RightsApprovalNeeded", "StaleIndex", "UntrustedRelease"]
