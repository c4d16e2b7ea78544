"""Known secrets fed through every path never come out: logs, journal rows, error
messages, plugin-visible objects and CLI output are searched for them."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptoir.kernel.cli.base import cli
from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.errors import BrokerError
from comptoir.kernel.errors import PluginError
from comptoir.kernel.hookspecs.markers import hookimpl
from comptoir.kernel.runtime import Kernel

from .conftest import add_plugin, manifest

LEAKY = "sk_live_LEAKCANARY_93f1c0de"
LEAKY2 = "pa55w0rd-CANARY-77aa"


class Leaky:
    """A careless plugin: logs the raw secret and puts it in an exception."""

    @hookimpl
    def shipping_quotes(self, ctx, shipment):  # type: ignore[no-untyped-def]
        value = ctx.credentials.raw("svc")
        ctx.log.warning("using key %s for %s", value, shipment)
        raise RuntimeError(f"provider rejected key {value}")


def test_secrets_do_not_leak_through_runtime_paths(ck: Kernel, echo_server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    m = manifest("leaky", accounts={"svc": {"kind": "api_key", "provider": "echo", "hosts": [echo_server],
                                             "raw_access": True}})
    ck.host.add(Leaky(), m)
    ck.host.enable("leaky", persist=False)
    svc = ck.services["credentials"]
    svc.grant("leaky", m.requested_rights(), "admin")
    svc.store.create_account("leaky", "svc", kind="api_key", config={"inject": "query", "param": "key"})
    svc.store.put("leaky", "svc", "api_key", LEAKY, cas=0)
    ctx = ck.host.context("leaky")

    outputs: list[str] = []
    # 1. a hook that logs and raises with the secret
    with pytest.raises(PluginError) as err:
        ck.host.call_one("leaky", "shipping_quotes", shipment=None)
    outputs.append(err.value.message)
    ck.host.call("shipping_quotes", shipment=None)  # broadcast: swallowed, journaled
    # 2. brokered calls: fine, failing, and unreachable (httpx error text holds the URL)
    ctx.http.get(f"http://{echo_server}/ok", account="svc")
    ctx.http.get(f"http://{echo_server}/fail", account="svc")
    port = int(echo_server.rsplit(":", 1)[1])
    svc.grant("leaky", ["host:127.0.0.1:1"], "admin")
    with pytest.raises(BrokerError) as berr:
        ctx.http.get("http://127.0.0.1:1/closed", account="svc")
    outputs.append(berr.value.message)
    outputs.append(repr(ctx.credentials.accounts()))
    # 3. what was persisted
    journal = ck.host.journal.entries(plugin="leaky", limit=100)
    outputs.append(json.dumps([(e.hook, e.error, e.detail) for e in journal], default=str))
    outputs.append(json.dumps(audit.entries(ck.factory, limit=1000), default=str))
    outputs.append(caplog.text)
    outputs.append(" ".join(r.getMessage() for r in caplog.records))
    assert journal and any(e.outcome == "error" for e in journal)
    assert "using key [secret]" in caplog.text  # the plugin's own log line went through, masked
    assert port and any("[secret]" in o for o in outputs)  # the redaction did happen somewhere
    for text in outputs:
        assert LEAKY not in text


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {"COMPTOIR_HOME": str(tmp_path / "cli-home"), "COMPTOIR_DATABASE_URL": url, "COMPTOIR_JOURNAL": "1"}


@pytest.mark.slow
def test_cli_paths(tmp_path: Path, sqlite_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, sqlite_url)

    def run(*args: str, input: str | None = None) -> str:
        result = runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)
        assert result.exit_code in (0, 1, 2), result.output
        return result.output

    out = [run("credentials", "set", "carrier-x", "contract", "--provider", "acme", "--inject", "header",
               "--header", "X-Key", input=f"{LEAKY}\n{LEAKY}\n")]
    assert "stored as version 1" in out[0] and "…" in out[0]
    out.append(run("credentials", "set", "carrier-x", "login", "--kind", "basic", "--username", "shop",
                   input=f"{LEAKY2}\n{LEAKY2}\n"))
    out.append(run("credentials", "list"))
    assert "carrier-x" in out[-1] and "contract" in out[-1]
    out.append(run("keys", "status"))
    assert "primary KEK version: 1" in out[-1]
    out.append(run("keys", "rotate"))
    assert "KEK version 2 is now primary" in out[-1] and "2 data keys rewrapped" in out[-1]
    out.append(run("plugins", "grant", "carrier-x", "orders:read", "account:contract"))
    out.append(run("plugins", "rights", "carrier-x"))
    assert "account:contract" in out[-1]
    out.append(run("plugins", "revoke", "carrier-x", "orders:read"))
    out.append(run("audit", "list", "--limit", "100"))
    assert "secret.write" in out[-1] and "keys.rotate" in out[-1]
    out.append(run("audit", "verify"))
    assert "intact" in out[-1]
    out.append(run("credentials", "delete", "carrier-x", "login", "--destroy"))
    for text in out:
        assert LEAKY not in text and LEAKY2 not in text
        assert LEAKY[-6:] not in text  # never more than the last 4 characters


def test_cli_detects_tampering_and_reports_sealed(tmp_path: Path, sqlite_url: str) -> None:
    from sqlalchemy import create_engine, text

    runner = CliRunner()
    env = _env(tmp_path, sqlite_url)
    runner.invoke(cli, ["plugins", "grant", "some-plugin", "orders:read"], env=env, catch_exceptions=False)
    assert runner.invoke(cli, ["keys", "status"], env=env).exit_code == 0  # first use creates the keyring
    engine = create_engine(sqlite_url)
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER cred_audit_no_update"))
        c.execute(text("UPDATE cred_audit SET actor = 'someone-else'"))
    engine.dispose()
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1 and "TAMPERED" in result.output
    (tmp_path / "cli-home" / "master.key").unlink()
    result = runner.invoke(cli, ["keys", "status"], env=env)
    assert result.exit_code == 2 and "SEALED" in result.output
