"""The sandbox worker: ``python -I -B -m comptoir.sandbox.worker <fd>``.

Started by the kernel with a clean environment and one inherited descriptor, the RPC
socket. It reads its configuration (the first frame), confines itself
(:mod:`comptoir.sandbox.isolation`), and only then imports the plugin's code, answers
``hello`` with the hooks the plugin implements and the layers it got, and serves hook
calls until the kernel says ``bye`` or the socket closes.
"""
from __future__ import annotations

import importlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

# Imported before confinement so the worker's own code never depends on what Landlock
# leaves readable; the plugin's imports happen after.
import pluggy._decorators as _pluggy_decorators

from comptoir.kernel import hookspecs
from comptoir.kernel.hookspecs.markers import PROJECT
from comptoir.sandbox import isolation, wire
from comptoir.sandbox.channel import Channel, SandboxContext

_IMPL_ATTR = f"{PROJECT}_impl"


def _load_plugin(code_path: str, entry: str) -> Any:
    if code_path:
        sys.path.insert(0, code_path)
    module_name, _, attr = entry.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    if isinstance(obj, type):
        obj = obj()
    return obj


def _hooks_of(obj: Any) -> dict[str, dict[str, Any]]:
    """Every hook implementation on ``obj``: hook name → attribute, argument names, order."""
    specs = hookspecs.all_specs()
    found: dict[str, dict[str, Any]] = {}
    for attr in dir(obj):
        if attr.startswith("__"):
            continue
        fn = getattr(obj, attr, None)
        opts = getattr(fn, _IMPL_ATTR, None)
        if opts is None or not callable(fn):
            continue
        name = opts.get("specname") or attr
        argnames, _ = _pluggy_decorators.varnames(fn)
        found[name] = {"attr": attr, "args": list(argnames), "known": name in specs,
                       "tryfirst": bool(opts.get("tryfirst")), "trylast": bool(opts.get("trylast")),
                       "wrapper": bool(opts.get("wrapper") or opts.get("hookwrapper"))}
    return found


def _error(exc: BaseException) -> dict[str, Any]:
    err: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    for extra in ("plugin", "scope"):
        value = getattr(exc, extra, None)
        if isinstance(value, str):
            err[extra] = value
    return err


class Worker:
    def __init__(self, channel: Channel, config: dict[str, Any]) -> None:
        self.channel = channel
        self.config = config
        self.obj: Any = None
        self.hooks: dict[str, dict[str, Any]] = {}
        self.ctx = SandboxContext(channel, config["plugin"], config.get("settings") or {},
                                  Path(config["data_dir"]))

    def call(self, message: dict[str, Any]) -> None:
        cid = message.get("id")
        hook = message.get("hook")
        if "settings" in message:
            self.ctx.settings = dict(message["settings"] or {})
        info = self.hooks.get(hook) if isinstance(hook, str) else None
        if info is None:
            self.channel.send({"t": "result", "id": cid, "ok": False,
                               "error": {"type": "LookupError", "message": f"plugin has no hook {hook!r}"}})
            return
        try:
            kwargs = wire.decode(message.get("args") or {})
            kwargs["ctx"] = self.ctx
            fn = getattr(self.obj, info["attr"])
            value = fn(*[kwargs.get(a) for a in info["args"]])
            reply = {"t": "result", "id": cid, "ok": True, "value": wire.encode(value)}
        except (SystemExit, KeyboardInterrupt):
            raise
        except wire.ProtocolError:
            raise  # the stream is out of step: end the worker, the kernel restarts it
        except BaseException as exc:  # the plugin's failure is reported, the worker lives on
            reply = {"t": "result", "id": cid, "ok": False, "error": _error(exc)}
        try:
            self.channel.send(reply)
        except wire.ProtocolError as exc:  # e.g. an answer over the size limit
            self.channel.send({"t": "result", "id": cid, "ok": False, "error": _error(exc)})

    def serve(self) -> None:
        while True:
            message = self.channel.recv()
            kind = message["t"]
            if kind == "call":
                self.call(message)
            elif kind == "bye":
                return
            else:
                raise wire.ProtocolError(f"unexpected {kind!r} message")


def main(argv: list[str]) -> int:
    fd = int(argv[1])
    sock = socket.socket(fileno=fd)
    config = wire.recv(sock, max_frame=1024 * 1024)
    if config.get("t") != "init":
        return 2
    data_dir = config["data_dir"]
    os.makedirs(os.path.join(data_dir, ".tmp"), exist_ok=True)
    os.chdir(data_dir)
    # The plugin's whole environment: its own home and temp folder, nothing inherited.
    os.environ.clear()
    os.environ.update({"HOME": data_dir, "TMPDIR": os.path.join(data_dir, ".tmp"), "LANG": "C.UTF-8",
                       "PATH": "/usr/bin:/bin"})
    layers = isolation.apply_all(sock_fd=fd, limits=config.get("limits") or {},
                                 read_only=list(config.get("read_only") or []), read_write=[data_dir],
                                 use_namespaces=bool(config.get("namespaces", True)))
    channel = Channel(sock, max_in=int(config["max_in"]), max_out=int(config["max_out"]))
    worker = Worker(channel, config)
    try:
        if config.get("entry"):
            worker.obj = _load_plugin(config.get("code_path", ""), config["entry"])
            worker.hooks = _hooks_of(worker.obj)
    except BaseException as exc:
        channel.send({"t": "fatal", "error": _error(exc), "layers": [x.as_dict() for x in layers]})
        return 1
    channel.send({"t": "hello", "pid": os.getpid(), "hooks": worker.hooks,
                  "layers": [x.as_dict() for x in layers]})
    try:
        worker.serve()
    except wire.PeerClosed:
        return 0
    return 0


if __name__ == "__main__":
    # os._exit, not sys.exit: a thread the plugin left running must not keep the worker alive
    os._exit(main(sys.argv))
