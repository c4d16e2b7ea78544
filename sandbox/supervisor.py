"""Kernel side of one sandboxed plugin: its worker, calls with deadlines, supervision.

``SandboxedPlugin.call`` sends a hook call and waits for the answer, serving the
worker's context calls (data, brokered HTTP) in the meantime. Anything that breaks the
contract — no answer before the deadline, a crash, an oversized or malformed frame —
kills the worker's process group and counts as a failure. The worker is restarted on
the next call — at once after a first failure, then after a backoff that doubles with
each further consecutive failure; after ``max_failures`` in a row the plugin is
disabled, with the reason kept for the admin and the CLI. A plugin that merely raises is not a sandbox failure: the host's own
circuit breaker handles that, as for an in-process plugin.
"""
from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comptoir.kernel.errors import PluginError, ScopeDenied
from comptoir.kernel.hookspecs import all_specs, policy_of
from comptoir.sandbox import wire
from comptoir.sandbox.broker import serve_context_call
from comptoir.sandbox.spawn import WorkerProcess

if TYPE_CHECKING:
    from comptoir.kernel.context import PluginContext
    from comptoir.kernel.manifest import Manifest
    from comptoir.sandbox.manager import SandboxManager

log = logging.getLogger("comptoir.sandbox")
_SPECS = all_specs()
SIDE_EFFECT_GRACE = 3
CPU_CHECK_EVERY = 256  # calls between two looks at the worker's CPU time


@dataclass(frozen=True)
class SandboxLimits:
    """Per-worker limits. ``call_timeout_s`` overrides the hook's own budget when set."""

    memory_bytes: int = 768 * 1024 * 1024
    cpu_seconds: int = 600  # cumulative over the worker's life; the per-call deadline is the real bound
    open_files: int = 256
    file_bytes: int = 64 * 1024 * 1024
    processes: int = 64
    max_in: int = 8 * 1024 * 1024  # kernel → worker frame
    max_out: int = 4 * 1024 * 1024  # worker → kernel frame
    call_timeout_s: float | None = None
    start_timeout_s: float = 10.0
    max_failures: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    namespaces: bool = True

    def rlimits(self) -> dict[str, int]:
        return {"memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds, "open_files": self.open_files,
                "file_bytes": self.file_bytes, "processes": self.processes}


def _one_line(text: str) -> str:
    """A plugin's log line stays one line: it cannot forge entries of the kernel's log."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class SandboxUnavailable(PluginError):
    """The plugin's worker is restarting (backoff) or the plugin was disabled."""


class SandboxFailure(PluginError):
    """The worker broke the contract: timeout, crash or protocol violation."""


class PluginRaised(PluginError):
    """The plugin's own code raised inside the worker."""

    def __init__(self, message: str, *, plugin: str, hook: str | None, kind: str) -> None:
        super().__init__(message, plugin=plugin, hook=hook)
        self.kind = kind


@dataclass
class WorkerStatus:
    state: str = "stopped"  # stopped | running | backoff | disabled
    pid: int | None = None
    layers: list[dict[str, Any]] = field(default_factory=list)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    starts: int = 0
    failures: int = 0  # consecutive sandbox failures
    total_failures: int = 0
    last_error: str = ""
    disabled_reason: str = ""
    next_start_at: float = 0.0
    start_ms: float = 0.0


class SandboxedPlugin:
    """One plugin, one warm worker, supervised."""

    def __init__(self, manager: "SandboxManager", manifest: "Manifest", code_path: Path, entry: str,
                 limits: SandboxLimits) -> None:
        self.manager = manager
        self.manifest = manifest
        self.name = manifest.id
        self.code_path = code_path
        self.entry = entry
        self.limits = limits
        self.status = WorkerStatus()
        self.proc: WorkerProcess | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._sent_settings: dict[str, Any] | None = None
        self._notify_disable = False
        self._calls = 0

    # ---- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start the worker now (on enable, or to restart after a failure)."""
        with self._lock:
            if self.proc is not None and self.proc.alive:
                return
            t0 = time.perf_counter()
            deadline = time.monotonic() + self.limits.start_timeout_s
            data_dir = self.manager.data_dir(self.name)
            try:
                proc = self.manager.spawn()
            except OSError as exc:
                raise SandboxFailure(f"plugin {self.name!r}: no sandbox worker could be started: {exc}",
                                     plugin=self.name) from None
            try:
                proc.send({"t": "init", "plugin": self.name, "entry": self.entry, "code_path": str(self.code_path),
                           "data_dir": str(data_dir), "read_only": self.manager.read_only_paths(self.code_path),
                           "limits": self.limits.rlimits(), "namespaces": self.limits.namespaces,
                           "max_in": self.limits.max_in, "max_out": self.limits.max_out,
                           "settings": self._settings()}, deadline, self.limits.max_in)
                hello = proc.recv(deadline, self.limits.max_out)
            except (OSError, wire.ProtocolError) as exc:
                proc.kill()
                raise SandboxFailure(f"plugin {self.name!r}: the sandbox worker did not start: {exc}",
                                     plugin=self.name) from None
            if hello.get("t") != "hello":
                proc.kill()
                err = hello.get("error") or {}
                raise SandboxFailure(f"plugin {self.name!r} failed to load in the sandbox: "
                                     f"{err.get('type', '?')}: {str(err.get('message', ''))[:300]}", plugin=self.name)
            self.proc = proc
            self._sent_settings = self._settings()
            st = self.status
            st.state, st.pid, st.starts = "running", proc.pid, st.starts + 1
            st.layers = [dict(x) for x in hello.get("layers", []) if isinstance(x, dict)]
            st.hooks = {str(k): dict(v) for k, v in (hello.get("hooks") or {}).items() if isinstance(v, dict)}
            st.start_ms = (time.perf_counter() - t0) * 1000
            missing = [str(x.get("name")) for x in st.layers if not x.get("applied")]
            if missing:  # said where the merchant looks, never silently skipped
                self.manager.journal(self.name, "degraded", "worker started without: " + ", ".join(missing))
                log.warning("sandboxed plugin %s runs without these isolation layers: %s (see `comptoir sandbox "
                            "report`)", self.name, ", ".join(missing))
            self._calls = 0

    def stop(self) -> None:
        with self._lock:
            if self.proc is not None:
                try:
                    if self.proc.alive:
                        self.proc.send({"t": "bye"}, time.monotonic() + 0.5, self.limits.max_in)
                except (OSError, wire.ProtocolError):
                    pass
                self.proc.kill()
                self.proc = None
            if self.status.state != "disabled":
                self.status.state = "stopped"
            self.status.pid = None

    def reset(self) -> None:
        """Forget past failures (the admin re-enabled the plugin)."""
        with self._lock:
            self.status.failures = 0
            self.status.disabled_reason = ""
            self.status.next_start_at = 0.0
            if self.status.state == "disabled":
                self.status.state = "stopped"

    def _settings(self) -> dict[str, Any]:
        rec = self.manager.kernel.host.records.get(self.name)
        ctx = rec.ctx if rec is not None else None
        return dict(ctx.settings) if ctx is not None else {}

    # ---- calls -----------------------------------------------------------------------
    def _timeout(self, hook: str) -> float:
        if self.limits.call_timeout_s is not None:
            return self.limits.call_timeout_s
        spec = _SPECS.get(hook)
        policy = policy_of(spec) if spec is not None else None
        ms = (policy.timeout_ms if policy is not None else None) or self.manager.kernel.settings.hook_timeout_ms
        # A hook that moves money or parcels is honoured late in process; here a kill would
        # lose the answer of a charge that happened, so it gets three budgets before it.
        return ms * (SIDE_EFFECT_GRACE if policy is not None and policy.side_effects else 1) / 1000

    def _ensure_running(self, hook: str) -> WorkerProcess:
        st = self.status
        if st.state == "disabled":
            raise SandboxUnavailable(f"plugin {self.name!r} was disabled by the sandbox: {st.disabled_reason}",
                                     plugin=self.name, hook=hook)
        if self.proc is not None and self.proc.alive and self.proc.pending():
            # it wrote or died while idle: drain what it said, or notice it is gone
            try:
                while self.proc.pending():
                    self._handle_idle(self.proc.recv(time.monotonic() + 0.2, self.limits.max_out))
            except (OSError, wire.ProtocolError) as exc:
                self._failure(f"worker died or misbehaved between calls: {exc}")
        if self.proc is None or not self.proc.alive:
            wait = st.next_start_at - time.monotonic()
            if wait > 0:
                raise SandboxUnavailable(f"plugin {self.name!r} is restarting after a failure ({st.last_error}); "
                                         f"next try in {wait:.1f} s", plugin=self.name, hook=hook)
            try:
                self.start()
            except SandboxFailure as exc:
                self._failure(exc.message)
                raise
        assert self.proc is not None
        return self.proc

    def _handle_idle(self, message: dict[str, Any]) -> None:
        if message.get("t") != "log":
            raise wire.ProtocolError(f"unexpected {message.get('t')!r} message while idle")
        self._log(message)

    def _log(self, message: dict[str, Any]) -> None:
        level = message.get("level")
        logging.getLogger(f"comptoir.plugin.{self.name}").log(
            level if isinstance(level, int) and 0 <= level <= 50 else logging.INFO,
            "[sandbox] %s", _one_line(str(message.get("msg", ""))[:4000]))

    def call(self, hook: str, args: dict[str, Any], ctx: "PluginContext | None") -> Any:
        """Forward one hook call; raise ``PluginError`` subclasses on any failure."""
        try:
            with self._lock:
                proc = self._ensure_running(hook)
                cid = next(self._ids)
                try:
                    message: dict[str, Any] = {"t": "call", "id": cid, "hook": hook, "args": wire.encode(args)}
                except wire.ProtocolError as exc:
                    raise PluginError(f"cannot send {hook} to sandboxed plugin {self.name!r}: {exc}",
                                      plugin=self.name, hook=hook) from None
                settings = self._settings()
                if settings != self._sent_settings:
                    message["settings"] = wire.encode(settings)
                    self._sent_settings = settings
                timeout = self._timeout(hook)
                deadline = time.monotonic() + timeout
                try:
                    proc.send(message, deadline, self.limits.max_in)
                    while True:
                        reply = proc.recv(deadline, self.limits.max_out)
                        kind = reply.get("t")
                        if kind == "result" and reply.get("id") == cid:
                            break
                        if kind == "ctx":
                            self._serve(proc, reply, ctx, deadline)
                        elif kind == "log":
                            self._log(reply)
                        else:
                            raise wire.ProtocolError(f"unexpected {kind!r} message during {hook}")
                except socket.timeout:
                    self._failure(f"{hook}: no answer within {timeout:g} s; worker killed")
                    raise SandboxFailure(f"plugin {self.name!r} did not answer {hook} within {timeout:g} s",
                                         plugin=self.name, hook=hook) from None
                except (OSError, wire.ProtocolError) as exc:
                    self._failure(f"{hook}: {exc}")
                    raise SandboxFailure(f"plugin {self.name!r} broke the sandbox protocol in {hook}: {exc}",
                                         plugin=self.name, hook=hook) from None
                self.status.failures = 0
                self._calls += 1
                if self._calls % CPU_CHECK_EVERY == 0:
                    self._recycle_if_worn()
        finally:
            # outside the lock: disabling calls back into this plugin (plugin_disabled)
            if self._notify_disable:
                self._notify_disable = False
                self.manager.disable(self.name, self.status.disabled_reason)
        if reply.get("ok"):
            try:
                return wire.decode(reply.get("value"))
            except wire.ProtocolError as exc:
                raise PluginRaised(f"plugin {self.name!r} returned an invalid value from {hook}: {exc}",
                                   plugin=self.name, hook=hook, kind="ProtocolError") from None
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        kind = str(err.get("type", "Error"))
        if kind == "ScopeDenied" and isinstance(err.get("scope"), str):
            raise ScopeDenied(self.name, err["scope"])
        raise PluginRaised(f"{kind}: {str(err.get('message', ''))[:1000]}", plugin=self.name, hook=hook, kind=kind)

    def _serve(self, proc: WorkerProcess, request: dict[str, Any], ctx: "PluginContext | None",
               deadline: float) -> None:
        rid = request.get("id")
        # Undecodable arguments are the worker's fault: ProtocolError, the worker is killed.
        args = wire.decode(request.get("args") or [])
        kwargs = wire.decode(request.get("kwargs") or {})
        if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise wire.ProtocolError("context call arguments must be a list and a dict")
        try:
            if ctx is None:
                raise PluginError(f"plugin {self.name!r} has no context for this call", plugin=self.name)
            value = serve_context_call(self.manager.kernel, ctx, str(request.get("op", "")), args, kwargs)
            answer: dict[str, Any] = {"t": "reply", "id": rid, "ok": True, "value": wire.encode(value)}
        except ScopeDenied as exc:
            answer = {"t": "reply", "id": rid, "ok": False,
                      "error": {"type": "ScopeDenied", "message": exc.message, "plugin": exc.plugin, "scope": exc.scope}}
        except Exception as exc:  # reported to the plugin, redacted; the kernel carries on
            answer = {"t": "reply", "id": rid, "ok": False, "error": {
                "type": type(exc).__name__,
                "message": self.manager.kernel.host.journal.redact(getattr(exc, "message", None) or str(exc))[:500]}}
        try:
            proc.send(answer, deadline, self.limits.max_in)
        except wire.ProtocolError as exc:  # an answer over the frame limit (nothing was sent)
            proc.send({"t": "reply", "id": rid, "ok": False, "error": {"type": "ProtocolError", "message": str(exc)}},
                      deadline, self.limits.max_in)

    def _recycle_if_worn(self) -> None:
        """RLIMIT_CPU counts the worker's whole life: retire it (between calls, not as a
        failure) before a busy but healthy plugin reaches the limit mid-call."""
        if self.proc is None:
            return
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return
        if used_s >= 0.8 * self.limits.cpu_seconds:
            log.info("sandboxed plugin %s: worker used %.0f s of CPU, replacing it", self.name, used_s)
            self.stop()

    def _failure(self, reason: str) -> None:
        """Kill the worker and schedule its restart; disable the plugin after too many."""
        st = self.status
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        st.failures += 1
        st.total_failures += 1
        st.last_error = reason[:500]
        st.pid = None
        # The first failure restarts at once (a worker killed while idle costs no call);
        # a crash loop then waits base, 2×base, 4×base … before each new start.
        delay = 0.0 if st.failures == 1 else min(self.limits.backoff_base_s * (2 ** (st.failures - 2)),
                                                  self.limits.backoff_max_s)
        st.next_start_at = time.monotonic() + delay
        st.state = "backoff"
        self.manager.journal(self.name, "crash", reason)
        log.warning("sandboxed plugin %s failed (%d in a row): %s", self.name, st.failures, reason)
        if st.failures >= self.limits.max_failures:
            st.state = "disabled"
            st.disabled_reason = f"{st.failures} sandbox failures in a row; last: {reason}"[:500]
            self._notify_disable = True
