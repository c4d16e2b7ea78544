"""Connecting a plugin's accounts in the admin (and the API), never through the CLI.

The Colissimo plugin is connected the way a merchant does it: its provider addresses
saved on the plugins page (approving the local host they name), both keys typed into
the connect page; its brokered calls to the local Colissimo then carry the keys in
the headers its manifest declares. The keys never appear in a response, the session
cookie, the database outside the encrypted store (journal, audit, settings), or logs.
"""
from __future__ import annotations

import base64
import html
import logging
import re
from typing import Any, Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel import domain
from comptoir.kernel.credentials import audit as audit_log
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.runtime import Kernel
from comptoir.sdk import Address, Money, ShipmentRequest
from plugins.colissimo.tests.conftest import SHOP
from plugins.colissimo.tests.fake_colissimo import API_KEY, OKAPI_KEY, FakeColissimo
from tests.kernel.web.helpers import csrf_of, sign_in, token
from tests.plugins.kernel_fixtures import manifest

LYON = Address(name="Camille Martin", line1="12 rue des Lilas", postal_code="69003", city="Lyon", country="FR",
               email="camille@example.com", phone="0612345678")


class Recorder:
    """Keeps every response body and Set-Cookie the test client saw."""

    def __init__(self, client: TestClient) -> None:
        self.seen: list[str] = []
        client.event_hooks["response"].append(self._keep)

    def _keep(self, response: Any) -> None:
        response.read()
        self.seen.append(response.text)
        self.seen += [_session_text(v) for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
        self.seen.append(str(response.headers.get("location", "")))


def _session_text(cookie: str) -> str:
    """The session cookie is signed, not encrypted: decode its payload to search it."""
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    payload = value.split(".", 1)[0]
    try:
        return base64.b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", "replace")
    except ValueError:
        return cookie


def _database_text(kernel: Kernel) -> str:
    """Every row of every table, as text (the store's ciphertexts are bytes, so they do
    not match a plaintext search; everything else would)."""
    kernel.host.journal.flush()
    out = []
    with kernel.factory() as s:
        for table in domain.metadata.sorted_tables:
            out += [repr(tuple(r)) for r in s.execute(select(table))]
    return "\n".join(out)


def _form(page: str, form_id: str) -> str:
    start = page.index(f'<form id="{form_id}"')
    return page[start:page.index("</form>", start)]


@pytest.fixture
def fake() -> Iterator[FakeColissimo]:
    server = FakeColissimo().start()
    yield server
    server.stop()


def test_colissimo_connected_in_the_admin_makes_labels(client: TestClient, shop: Kernel, fake: FakeColissimo,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shop.host.enable("colissimo")
    seen = Recorder(client)
    sign_in(client, "owner@shop.test")
    plugins = client.get("/admin/plugins").text
    assert 'id="connect-link-colissimo" href="/admin/plugins/colissimo/connect"' in plugins
    assert "api_key: not connected" in plugins

    # 1. provider addresses: the local host needs the admin's approval first
    csrf = csrf_of(client)
    fields = {"csrf": csrf, "set_api_base": fake.url, "set_tracking_base": fake.url, "set_timeout_s": "2",
              **{f"set_{k}": v for k, v in SHOP.items()}}
    asked = client.post("/admin/plugins/colissimo/settings", data=fields, follow_redirects=False)
    right = f"host:127.0.0.1:{fake.port}"
    assert asked.status_code == 200 and f'name="approve_host" value="{right}"' in asked.text
    assert f'value="{fake.url}"' in asked.text  # what the admin typed is kept
    assert "api_base" not in shop.host.records["colissimo"].settings  # nothing saved without approval
    assert not shop.host.rights.allowed("colissimo", right)
    saved = client.post("/admin/plugins/colissimo/settings", data={**fields, "approve_host": right},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert shop.host.records["colissimo"].settings["api_base"] == fake.url
    assert shop.host.rights.allowed("colissimo", right)

    # 2. the connect page: a password field per key, nothing connected yet
    page = client.get("/admin/plugins/colissimo/connect").text
    form = _form(page, "connect-api_key")
    assert 'type="password" name="secret"' in form and 'autocomplete="off"' in form and 'id="save-api_key"' in form
    assert 'id="connect-okapi_key"' in page and "not connected" in page
    for account, value in (("api_key", API_KEY), ("okapi_key", OKAPI_KEY)):
        r = client.post(f"/admin/plugins/colissimo/connect/{account}", data={"csrf": csrf, "secret": value + "\n"},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/plugins/colissimo/connect"
    page = client.get("/admin/plugins/colissimo/connect").text
    state = page[page.index('id="state-api_key"'):]
    assert "connected on" in state and "…abf7" in state  # a masked hint: the last 4 characters
    assert 'id="replace-api_key"' in page and 'id="disconnect-api_key"' in page
    assert "api_key: connected" in client.get("/admin/plugins").text

    # 3. the plugin's brokered calls carry the keys where its manifest says
    s = ShipmentRequest(destination=LYON, weight_grams=700, value=Money(4500, "EUR"))
    quote = [q for q in shop.host.call("shipping_quotes", shipment=s) if q.id.startswith("colissimo:")][0]
    label = shop.host.call_one("colissimo", "shipping_create_label", shipment=s, quote=quote, reference="C1")
    assert label.pdf.startswith(b"%PDF")
    assert fake.requests[-1]["headers"]["apikey"] == API_KEY
    events = shop.host.call_one("colissimo", "shipping_track", tracking_number=label.tracking_number)
    assert [e.status for e in events] == ["label_created"]
    assert fake.requests[-1]["headers"]["x-okapi-key"] == OKAPI_KEY

    # 4. never echoed: responses, cookies, database (journal, audit, settings), logs
    stored = _database_text(shop)
    assert "secret.write" in stored and "http:127.0.0.1" in stored  # the audit and the journal are there
    for value in (API_KEY, OKAPI_KEY):
        assert all(value not in text for text in seen.seen)
        assert value not in stored
        assert value not in caplog.text


def test_bad_addresses_and_keys_are_refused_naming_the_field(client: TestClient, shop: Kernel) -> None:
    shop.host.enable("colissimo")
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client)
    for bad in ("ftp://files.example", "not an address", "https://user:pw@ws.colissimo.fr", "https://[::1]:8000"):
        r = client.post("/admin/plugins/colissimo/settings", data={"csrf": csrf, "set_api_base": bad})
        assert '<div class="flash error" role="status">api_base' in r.text, bad
    assert "api_base" not in shop.host.records["colissimo"].settings
    # the manifest's own host needs no approval (a trusted plugin holds it from its first enable)
    ok = client.post("/admin/plugins/colissimo/settings", data={"csrf": csrf, "set_api_base": "https://ws.colissimo.fr"},
                     follow_redirects=False)
    assert ok.status_code == 303 and shop.host.records["colissimo"].settings["api_base"] == "https://ws.colissimo.fr"
    empty = client.post("/admin/plugins/colissimo/connect/api_key", data={"csrf": csrf, "secret": "  "})
    assert "empty value cannot be connected" in empty.text
    unknown = client.post("/admin/plugins/colissimo/connect/nope", data={"csrf": csrf, "secret": "x" * 20})
    assert "declares no account 'nope'" in html.unescape(unknown.text)
    assert shop.services["credentials"].store.accounts("colissimo") == []


def test_only_changed_addresses_ask_for_approval(client: TestClient, shop: Kernel) -> None:
    """Saving a form re-sends every field: an address left as it was (here the default, on a
    host not granted yet) does not ask again; a changed one does, and a refused approval
    saves nothing."""
    settings = {"api_base": {"type": "url", "default": "https://api.acme.example"}, "note": {"type": "string"}}
    shop.host.add(KeyedPlugin(), manifest("acme-pay", settings=settings, **KEYED))
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client)
    same = client.post("/admin/plugins/acme-pay/settings", follow_redirects=False,
                       data={"csrf": csrf, "set_api_base": "https://api.acme.example", "set_note": "hello"})
    assert same.status_code == 303 and shop.host.records["acme-pay"].settings["note"] == "hello"
    moved = {"csrf": csrf, "set_api_base": "https://sandbox.acme.example:8443/v1", "set_note": "again"}
    asked = client.post("/admin/plugins/acme-pay/settings", data=moved, follow_redirects=False)
    assert asked.status_code == 200 and 'value="host:sandbox.acme.example:8443"' in asked.text
    wrong = client.post("/admin/plugins/acme-pay/settings", data={**moved, "approve_host": "host:evil.example"},
                        follow_redirects=False)
    assert wrong.status_code == 200 and shop.host.records["acme-pay"].settings["note"] == "hello"
    assert not shop.host.rights.allowed("acme-pay", "host:evil.example")
    ok = client.post("/admin/plugins/acme-pay/settings", data={**moved, "approve_host": "host:sandbox.acme.example:8443"},
                     follow_redirects=False)
    assert ok.status_code == 303 and shop.host.rights.allowed("acme-pay", "host:sandbox.acme.example:8443")
    grants = [e["detail"] for e in audit_log.entries(shop.factory, plugin="acme-pay", action="grant")]
    assert {"rights": ["host:sandbox.acme.example:8443"]} in grants


class KeyedPlugin:
    """Asks for its key in clear (raw) and finishes its set-up when connected."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[tuple[str, str, str]] = []

    @hookimpl
    def account_connected(self, ctx: Any, account: str, shop_url: str) -> list[str]:
        key = ctx.credentials.raw(account)  # raises ScopeDenied unless the admin approved raw use
        self.seen.append((account, shop_url, key))
        if self.fail:
            raise ValueError(f"the provider refused the key {key}")
        return [f"webhook registered at {shop_url}/webhooks/{ctx.plugin}", "signing secret kept"]


KEYED = {"scopes": {"accounts": {"key": {"kind": "api_key", "provider": "acme-pay", "raw_access": True,
                                         "inject": "query", "param": "key", "label": "Acme secret key"}}}}


def test_raw_approval_setup_lines_replace_and_disconnect(client: TestClient, shop: Kernel) -> None:
    plugin = KeyedPlugin()
    shop.host.add(plugin, manifest("acme-pay", **KEYED))
    shop.host.enable("acme-pay", persist=False)
    seen = Recorder(client)
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client)
    page = client.get("/admin/plugins/acme-pay/connect").text
    assert "Acme secret key" in page and 'name="approve_raw"' in _form(page, "connect-key")
    assert not shop.host.rights.allowed("acme-pay", "raw:key")

    # without the raw approval the plugin's set-up fails, and says why; the key is stored
    r = client.post("/admin/plugins/acme-pay/connect/key", data={"csrf": csrf, "secret": "sk_first_0123456789",
                                                                  "raw_shown": "1"})
    assert 'id="setup-error"' in r.text and "raw:key" in r.text
    assert shop.host.rights.allowed("acme-pay", "account:key")  # connecting is the approval to use it

    # approved: the plugin reads it, the merchant sees what it set up
    r = client.post("/admin/plugins/acme-pay/connect/key", data={"csrf": csrf, "secret": "sk_second_0123456789",
                                                                  "raw_shown": "1", "approve_raw": "1"})
    assert shop.host.rights.allowed("acme-pay", "raw:key")
    assert plugin.seen[-1] == ("key", "http://testserver", "sk_second_0123456789")
    assert "webhook registered at http://testserver/webhooks/acme-pay" in r.text and "signing secret kept" in r.text
    assert 'id="approve-raw-key" checked' in r.text
    creds = shop.services["credentials"]
    acc = creds.store.account("acme-pay", "key")
    assert acc.config == {"inject": "query", "param": "key"}  # the broker's injection, from the manifest
    rows = creds.store.accounts("acme-pay")[0]["secrets"]["api_key"]
    assert rows["version"] == 2 and rows["hint"] == "…6789"
    audit = [(e["action"], e["actor"]) for e in audit_log.entries(shop.factory, plugin="acme-pay")]
    assert ("grant", "owner@shop.test") in audit and ("secret.write", "owner@shop.test") in audit

    # a failing set-up shows its message, redacted; unticking takes the raw right back
    plugin.fail = True
    r = client.post("/admin/plugins/acme-pay/connect/key", data={"csrf": csrf, "secret": "sk_fourth_0123456789",
                                                                  "raw_shown": "1", "approve_raw": "1"})
    assert "the provider refused the key [secret]" in r.text
    assert 'id="setup-result"' not in client.get("/admin/plugins/acme-pay/connect").text  # shown once
    client.post("/admin/plugins/acme-pay/connect/key", data={"csrf": csrf, "secret": "sk_fifth_0123456789",
                                                             "raw_shown": "1"})
    assert not shop.host.rights.allowed("acme-pay", "raw:key")

    # disconnect: the secret is wiped, the plugin sees no account
    r = client.post("/admin/plugins/acme-pay/connect/key/disconnect", data={"csrf": csrf})
    assert "key disconnected" in r.text and "not connected" in r.text
    assert not shop.host.context("acme-pay").credentials.connected("key")
    for value in ("sk_first_0123456789", "sk_second_0123456789", "sk_fourth_0123456789", "sk_fifth_0123456789"):
        assert all(value not in text for text in seen.seen)
        assert value not in _database_text(shop)
    shop.host.disable("acme-pay", persist=False)


def test_only_staff_who_manage_plugins_connect_and_forms_need_csrf(client: TestClient, shop: Kernel) -> None:
    shop.host.enable("colissimo")
    sign_in(client, "marketing@shop.test")
    csrf = csrf_of(client)
    assert client.get("/admin/plugins/colissimo/connect").status_code == 403
    r = client.post("/admin/plugins/colissimo/connect/api_key", data={"csrf": csrf, "secret": "x" * 20})
    assert r.status_code == 403
    assert client.post("/admin/plugins/colissimo/connect/api_key/disconnect", data={"csrf": csrf}).status_code == 403
    client.post("/admin/logout", data={"csrf": csrf})
    sign_in(client, "manager@shop.test")  # managers manage plugins today, so they connect accounts
    assert client.get("/admin/plugins/colissimo/connect").status_code == 200
    forged = client.post("/admin/plugins/colissimo/connect/api_key", data={"csrf": "forged", "secret": "x" * 20})
    assert forged.status_code == 403
    assert client.post("/admin/plugins/colissimo/connect/api_key", data={"secret": "x" * 20}).status_code == 403
    creds = shop.services["credentials"]
    assert all(a["name"] != "api_key" for a in creds.store.accounts("colissimo"))
    reader = token(shop, "catalog:read")
    h = {"Authorization": f"Bearer {reader}"}
    assert client.get("/api/admin/v1/plugins/colissimo/accounts", headers=h).status_code == 403
    assert client.put("/api/admin/v1/plugins/colissimo/accounts/api_key", headers=h,
                      json={"secret": "x" * 20}).status_code == 403


def test_accounts_through_the_api(client: TestClient, shop: Kernel, owner_token: str, fake: FakeColissimo) -> None:
    shop.host.enable("colissimo")
    h = {"Authorization": f"Bearer {owner_token}"}
    base = "/api/admin/v1/plugins/colissimo"
    listed = client.get(f"{base}/accounts", headers=h).json()
    assert {a["name"]: a["state"] for a in listed["accounts"]} == {"api_key": "not connected",
                                                                   "okapi_key": "not connected"}
    assert client.get(base, headers=h).json()["accounts"] == ["api_key", "okapi_key"]
    r = client.put(f"{base}/accounts/api_key", headers=h, json={"secret": API_KEY})
    body = r.json()
    assert r.status_code == 200 and body["connected"] and body["hint"] == "…abf7" and body["inject"] == "header"
    assert body["setup"] == {"lines": [], "error": ""}  # Colissimo has nothing to set up at the provider
    assert API_KEY not in r.text and API_KEY not in client.get(f"{base}/accounts", headers=h).text
    assert client.put(f"{base}/accounts/nope", headers=h, json={"secret": "x" * 20}).status_code == 404
    assert client.put(f"{base}/accounts/api_key", headers=h, json={"secret": "a\nb"}).json()["field"] == "secret"

    # a url setting naming an unapproved host: 409 naming the field and the right, then approved
    right = f"host:127.0.0.1:{fake.port}"
    refused = client.put(f"{base}/settings", headers=h, json={"settings": {"api_base": fake.url}})
    assert refused.status_code == 409 and refused.json()["field"] == "settings.api_base"
    assert right in refused.json()["detail"]
    bad = client.put(f"{base}/settings", headers=h, json={"settings": {"api_base": "gopher://x"}})
    assert bad.status_code == 422 and bad.json()["field"] == "settings.api_base"
    ok = client.put(f"{base}/settings", headers=h, json={"settings": {"api_base": fake.url}, "approve_hosts": [right]})
    assert ok.status_code == 200 and ok.json()["settings"]["api_base"] == fake.url
    assert shop.host.rights.allowed("colissimo", right)

    gone = client.delete(f"{base}/accounts/api_key", headers=h)
    assert gone.status_code == 200 and gone.json()["state"] == "not connected" and gone.json()["hint"] == ""
    assert client.delete(f"{base}/accounts/okapi_key", headers=h).status_code == 404
    ops = {(m, p) for p, item in client.get("/openapi.json").json()["paths"].items() for m in item}
    assert {("get", f"/api/admin/v1/plugins/{{name}}/accounts"), ("put", "/api/admin/v1/plugins/{name}/accounts/{account}"),
            ("delete", "/api/admin/v1/plugins/{name}/accounts/{account}"),
            ("post", "/api/admin/v1/plugins/{name}/accounts/{account}/oauth")} <= ops


# ---- OAuth 2: Mastodon, against the local instance ----------------------------------------------
def test_mastodon_connected_with_oauth_round_trip(client: TestClient, shop: Kernel) -> None:
    pytest.importorskip("comptoir_mastodon")
    from plugins.mastodon.tests.fake_mastodon import FakeMastodon

    fake = FakeMastodon().start()
    try:
        shop.host.enable("mastodon")
        seen = Recorder(client)
        sign_in(client, "owner@shop.test")
        csrf = csrf_of(client)
        page = client.get("/admin/plugins/mastodon/connect").text
        form = _form(page, "connect-account")
        assert 'name="set_instance" id="set-instance" value="https://mastodon.social"' in form
        assert "Connect with Mastodon" in form and 'id="save-account"' in form

        # the instance is on localhost: the page asks to approve that host first
        start = {"csrf": csrf, "set_instance": fake.url}
        asked = client.post("/admin/plugins/mastodon/connect/account/oauth", data=start, follow_redirects=False)
        right = f"host:127.0.0.1:{fake.port}"
        assert asked.status_code == 200 and f'name="approve_host" value="{right}"' in asked.text
        assert f'value="{fake.url}"' in asked.text and fake.apps == {}

        # approved: the shop registers its app on the instance and sends the admin there
        go = client.post("/admin/plugins/mastodon/connect/account/oauth", data={**start, "approve_host": right},
                         follow_redirects=False)
        assert go.status_code == 303 and go.headers["location"].startswith(fake.url + "/oauth/authorize?")
        q = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", go.headers["location"]))
        assert q["client_id"] in fake.apps and q["code_challenge_method"] == "S256"
        assert q["redirect_uri"] == "http%3A%2F%2Ftestserver%2Fadmin%2Fconnect%2Fcallback"

        # the merchant says no on the instance: the page shows the provider's words
        no = client.get("/admin/connect/callback", params={"state": q["state"], "error": "access_denied",
                                                           "error_description": "The resource owner denied the request."})
        assert "access_denied: The resource owner denied the request." in no.text and 'id="setup-error"' in no.text
        again = client.get("/admin/connect/callback", params={"state": q["state"], "code": "late"})
        assert "unknown, expired or already used" in again.text  # the state was spent

        # then yes: the code is exchanged, the token stored, the plugin's calls carry it
        go = client.post("/admin/plugins/mastodon/connect/account/oauth", data=start, follow_redirects=False)
        q2 = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", go.headers["location"]))
        assert q2["client_id"] == q["client_id"]  # the registered app is reused
        fake.codes["code-from-instance"] = q2["client_id"]
        done = client.get("/admin/connect/callback", params={"state": q2["state"], "code": "code-from-instance"})
        assert "account connected" in done.text and "connected on" in done.text
        token_value = next(iter(fake.tokens))
        assert shop.host.call_one("mastodon", "social_collect_mentions", since="") == []
        assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {token_value}"
        assert all(token_value not in t and fake.apps[q["client_id"]] not in t for t in seen.seen)
        assert token_value not in _database_text(shop)
    finally:
        fake.stop()


def test_oauth_start_through_the_api(client: TestClient, shop: Kernel, owner_token: str) -> None:
    pytest.importorskip("comptoir_mastodon")
    from plugins.mastodon.tests.fake_mastodon import FakeMastodon

    fake = FakeMastodon().start()
    try:
        shop.host.enable("mastodon")
        h = {"Authorization": f"Bearer {owner_token}"}
        url = "/api/admin/v1/plugins/mastodon/accounts/account/oauth"
        right = f"host:127.0.0.1:{fake.port}"
        asked = client.post(url, headers=h, json={"settings": {"instance": fake.url}})
        assert asked.status_code == 409 and right in asked.json()["detail"] and fake.apps == {}
        other = client.post(url, headers=h, json={"settings": {"visibility": "unlisted"}})
        assert other.status_code == 422 and other.json()["field"] == "settings.visibility"
        started = client.post(url, headers=h, json={"settings": {"instance": fake.url}, "approve_hosts": [right]})
        body = started.json()
        assert started.status_code == 200 and body["authorize_url"].startswith(fake.url + "/oauth/authorize?")
        assert body["redirect_uri"] == "http://testserver/admin/connect/callback" and len(fake.apps) == 1
        state = client.get("/api/admin/v1/plugins/mastodon/accounts", headers=h).json()["accounts"][0]
        assert state["state"] == "pending" and not state["connected"]
        assert client.put("/api/admin/v1/plugins/mastodon/accounts/account", headers=h,
                          json={"secret": "x" * 20}).json()["field"] == "account"  # OAuth: no pasted token
    finally:
        fake.stop()
