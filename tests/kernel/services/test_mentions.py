"""Mentions collected into customer records: the real Mastodon, Bluesky and Google plugins
against their local fakes, idempotent re-collection, failure isolation, concurrent
collectors on SQLite and PostgreSQL, handles, voice figures and influence labels."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select, text

import comptoir_bluesky.plugin as bluesky_module
import comptoir_google_reviews.plugin as google_module
import comptoir_mastodon.plugin as mastodon_module
from comptoir.kernel.db import make_engine, read_only, transaction
from comptoir.kernel.domain import Customer, CustomerSocialHandle, SocialCursor, SocialMention
from comptoir.kernel.errors import Conflict, NotFound, ValidationFailed
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.jobs import maintenance
from comptoir.kernel.migrate import upgrade
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import mentions
from comptoir.kernel.types import Mention
from comptoir.sdk import manifest_from_pyproject
from comptoir.sdk.testing import build_test_kernel
from plugins.bluesky.tests.fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from plugins.google_reviews.tests.fake_google import LOCATION, TOKEN, FakeGoogle
from plugins.mastodon.tests.conftest import connect as connect_mastodon
from plugins.mastodon.tests.fake_mastodon import FakeMastodon
from tests.conftest import build_kernel
from tests.plugins.kernel_fixtures import manifest

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime.now(timezone.utc)


def _manifest(folder: str) -> Any:
    return manifest_from_pyproject(ROOT / "plugins" / folder / "pyproject.toml")


def _customer(kernel: Kernel, email: str, name: str = "") -> int:
    with transaction(kernel.factory) as s:
        c = Customer(email=email, name=name)
        s.add(c)
        s.flush()
        return c.id or 0


def _rows(kernel: Kernel) -> list[SocialMention]:
    with read_only(kernel.factory) as s:
        rows = list(s.scalars(select(SocialMention).order_by(SocialMention.network, SocialMention.remote_id)))
        s.expunge_all()  # detached before read_only's rollback would expire them
        return rows


# ---- the real plugins against their fakes -------------------------------------------
@pytest.fixture
def fakes() -> Iterator[tuple[FakeMastodon, FakeBluesky, FakeGoogle]]:
    servers = (FakeMastodon().start(), FakeBluesky().start(), FakeGoogle().start())
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def social_shop(tmp_path: Path, fakes: tuple[FakeMastodon, FakeBluesky, FakeGoogle]) -> Iterator[Kernel]:
    """A shop with the three first-party social plugins, connected the way an admin does."""
    masto, sky, google = fakes
    k = build_test_kernel(tmp_path / "shop", plugins=[(mastodon_module, _manifest("mastodon")),
                                                      (bluesky_module, _manifest("bluesky")),
                                                      (google_module, _manifest("google_reviews"))])
    connect_mastodon(k, masto)
    creds = k.services["credentials"]
    creds.store.create_account("bluesky", "app_password", kind="api_key", provider="bluesky")
    creds.store.put("bluesky", "app_password", "api_key", APP_PASSWORD)
    creds.grant("bluesky", [f"host:127.0.0.1:{sky.port}", "raw:app_password"], "admin")
    k.host.configure("bluesky", {"service": sky.url, "handle": HANDLE, "timeout_s": 2})
    creds.store.create_account("google-reviews", "google", kind="oauth2", provider="google",
                               config={"client_id": "x.apps.googleusercontent.com",
                                       "token_url": "https://oauth2.googleapis.com/token"})
    creds.store.put("google-reviews", "google", "access_token", TOKEN)
    creds.grant("google-reviews", [f"host:127.0.0.1:{google.port}"], "admin")
    k.host.configure("google-reviews", {"api_base": google.url, "location": LOCATION,
                                        "reviews_url": "https://g.page/r/atelier/review"})
    yield k
    k.close()


def _review(google: FakeGoogle, rid: str, stars: str, name: str, comment: str, at: datetime) -> None:
    when = at.isoformat().replace("+00:00", "Z")
    google.reviews.append({"name": f"{LOCATION}/reviews/{rid}", "reviewId": rid, "starRating": stars,
                           "comment": comment, "createTime": when, "updateTime": when,
                           "reviewer": {"displayName": name}})


def test_collect_from_the_real_plugins_links_customers(social_shop: Kernel,
                                                       fakes: tuple[FakeMastodon, FakeBluesky, FakeGoogle]) -> None:
    masto, sky, google = fakes
    lea = _customer(social_shop, "lea@example.com", "Léa")
    zoe = _customer(social_shop, "zoe@example.com", "Zoé")
    marie = _customer(social_shop, "marie@example.com", "Marie Curie")
    mentions.add_handle(social_shop.factory, lea, "mastodon", "@Lea@Piaille.fr", actor="owner@shop.test")
    mentions.add_handle(social_shop.factory, zoe, "bluesky", "zoe.bsky.social")
    mentions.add_handle(social_shop.factory, marie, "google", "Marie Curie")
    masto.mention("lea@piaille.fr", "<p>Love the <b>mug</b> from @shop</p>", NOW - timedelta(hours=3),
                  display_name="Léa", followers=12400)
    masto.mention("someone@mastodon.social", "<p>@shop hello</p>", NOW - timedelta(hours=2))
    for i in range(3):
        sky.notify("zoe.bsky.social", "mention", f"@atelier great tea #{i}", NOW - timedelta(days=i + 1),
                   display_name="Zoé", followers=300)
    sky.notify("zoe.bsky.social", "like", "liked", NOW, display_name="Zoé", followers=300)  # dropped: not a mention
    _review(google, "r1", "FIVE", "Marie Curie", "Parfait", NOW - timedelta(days=2))
    _review(google, "r2", "ONE", "Grumpy", "Colis en retard", NOW - timedelta(days=1))

    report = mentions.collect(social_shop)

    by_plugin = {p.plugin: p for p in report.plugins}
    assert sorted(by_plugin) == ["bluesky", "google-reviews", "mastodon"] and not report.failed
    assert [(by_plugin[p].fetched, by_plugin[p].new, by_plugin[p].linked)
            for p in ("mastodon", "bluesky", "google-reviews")] == [(2, 2, 1), (3, 3, 3), (2, 2, 1)]
    rows = {(r.network, r.author_key): r for r in _rows(social_shop)}
    assert len(_rows(social_shop)) == 7
    lea_row = rows[("mastodon", "lea@piaille.fr")]
    assert (lea_row.customer_id, lea_row.linked_by, lea_row.kind, lea_row.author_followers) == (lea, "handle",
                                                                                                "mention", 12400)
    assert lea_row.text == "Love the mug from @shop" and lea_row.plugin == "mastodon" and lea_row.author_name == "Léa"
    assert rows[("mastodon", "someone@mastodon.social")].customer_id is None
    assert rows[("google", "marie curie")].rating == 5 and rows[("google", "marie curie")].customer_id == marie
    assert rows[("google", "grumpy")].customer_id is None

    voices = mentions.voices(social_shop.factory, [lea, zoe, marie])
    assert voices[lea].label == "influencer" and voices[lea].mentions == 1
    assert voices[zoe].label == "ambassador" and voices[zoe].positive_recent == 3 and voices[zoe].followers == 300
    assert (voices[marie].reviews, voices[marie].average_rating, voices[marie].label) == (1, 5.0, "")

    # a second collection asks from the cursor on and stores nothing twice
    before = len(masto.requests) + len(sky.requests) + len(google.requests)
    again = mentions.collect(social_shop)
    assert again.total("new") == 0 and again.total("updated") == 0 and len(_rows(social_shop)) == 7
    assert len(masto.requests) + len(sky.requests) + len(google.requests) > before
    with read_only(social_shop.factory) as s:
        since = s.scalar(select(SocialCursor.since).where(SocialCursor.plugin == "google-reviews"))
    assert since is not None and mentions._utc(since) == NOW - timedelta(days=1)  # the latest review stored

    # an edited review comes back with the same id: the stored one is updated
    google.reviews[0].update(starRating="FOUR", comment="Parfait, mais cher",
                             updateTime=NOW.isoformat().replace("+00:00", "Z"))
    edited = mentions.collect(social_shop, plugins=["google-reviews"])
    assert (edited.total("new"), edited.total("updated")) == (0, 1)
    marie_row = next(r for r in _rows(social_shop) if r.remote_id == "r1")
    assert (marie_row.rating, marie_row.text, marie_row.customer_id) == (4, "Parfait, mais cher", marie)


def test_a_failing_plugin_does_not_stop_the_others(social_shop: Kernel,
                                                   fakes: tuple[FakeMastodon, FakeBluesky, FakeGoogle]) -> None:
    masto, sky, google = fakes
    masto.mention("fan@mastodon.social", "<p>@shop</p>", NOW)
    sky.notify("fan.bsky.social", "mention", "@atelier", NOW)
    _review(google, "r1", "FIVE", "Ana", "Top", NOW)
    masto.tokens.clear()  # the merchant revoked the app on the instance

    report = mentions.collect(social_shop)

    assert [p.plugin for p in report.failed] == ["mastodon"]
    assert "The access token is invalid" in report.failed[0].error
    assert report.total("new") == 2 and {r.network for r in _rows(social_shop)} == {"bluesky", "google"}
    social_shop.host.journal.flush()
    assert social_shop.host.journal.entries(plugin="mastodon", outcome="error")
    cursors = {c["plugin"]: c for c in mentions.cursors(social_shop.factory)}
    assert "access token" in cursors["mastodon"]["last_error"] and cursors["mastodon"]["since"] is None
    assert cursors["bluesky"]["last_error"] == ""


# ---- a test collector ----------------------------------------------------------------
class Collector:
    """Answers the mentions it holds; ``barrier`` makes two collectors fetch before either stores."""

    def __init__(self, items: list[Mention], barrier: threading.Barrier | None = None) -> None:
        self.items = items
        self.barrier = barrier
        self.since: list[str] = []
        self.fail = False

    @hookimpl
    def social_collect_mentions(self, ctx: Any, since: str) -> list[Mention]:
        self.since.append(since)
        if self.fail:
            raise RuntimeError("network down")
        if self.barrier is not None:
            self.barrier.wait(timeout=5)
        return list(self.items)


def _mention(i: int, **kw: Any) -> Mention:
    values: dict[str, Any] = {"network": "testnet", "remote_id": f"m{i}", "author_handle": f"@fan{i}",
                              "text": f"hello {i}", "url": f"https://testnet.example/m{i}",
                              "at": (NOW - timedelta(minutes=i)).isoformat(), **kw}
    return Mention(**values)


def _with_collector(kernel: Kernel, plugin: Collector, name: str = "collector") -> Kernel:
    kernel.host.add(plugin, manifest(name, capabilities=["social"]))
    kernel.host.enable(name, persist=False)
    return kernel


def test_concurrent_collectors_never_duplicate(tmp_path: Path, db_url: str) -> None:
    """Two processes (two kernels, own engines) collect the same mentions at the same time."""
    barrier = threading.Barrier(2)
    items = [_mention(i) for i in range(40)]
    kernels = [_with_collector(build_kernel(tmp_path / f"k{n}", db_url, discover=False, default_enabled=()).boot(),
                               Collector(items, barrier)) for n in range(2)]
    reports: list[mentions.CollectReport] = []
    try:
        threads = [threading.Thread(target=lambda k=k: reports.append(mentions.collect(k))) for k in kernels]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(reports) == 2 and not any(r.failed for r in reports)
        assert sum(r.total("new") for r in reports) == 40  # each row inserted by exactly one of them
        with read_only(kernels[0].factory) as s:
            assert s.scalar(select(func.count()).select_from(SocialMention)) == 40
    finally:
        for k in kernels:
            k.close()


def test_scheduled_collection_is_spaced_across_processes(tmp_path: Path, db_url: str) -> None:
    first, second = Collector([_mention(1)]), Collector([_mention(1)])
    a = _with_collector(build_kernel(tmp_path / "a", db_url, discover=False, default_enabled=()).boot(), first)
    b = _with_collector(build_kernel(tmp_path / "b", db_url, discover=False, default_enabled=()).boot(), second)
    try:
        assert mentions.collect_due(a).total("new") == 1
        skipped = mentions.collect_due(b)  # the other process's turn is not due yet
        assert [p.skipped for p in skipped.plugins] == [True] and second.since == []
        assert mentions.collect(b, due_only=True, every_s=0).plugins[0].skipped is False
        assert second.since == [(NOW - timedelta(minutes=1)).isoformat()]  # from the cursor the first one moved
    finally:
        a.close()
        b.close()


def test_the_maintenance_job_collects_when_due(kernel: Kernel) -> None:
    plugin = Collector([_mention(1), _mention(2)])
    assert "mentions_queued" not in maintenance(kernel)  # no collector: nothing to queue
    _with_collector(kernel, plugin)
    assert maintenance(kernel)["mentions_queued"] == 1  # runs on the job pool, not in this round
    deadline = time.monotonic() + 10
    while len(_rows(kernel)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_rows(kernel)) == 2
    assert "mentions_queued" not in maintenance(kernel)  # not due again for mentions_every_s
    assert plugin.since == [""]


def test_email_links_now_or_when_the_customer_signs_up(kernel: Kernel) -> None:
    ada = _customer(kernel, "ada@example.com")
    plugin = Collector([_mention(1, author_email="ADA@example.com", kind="review", rating=5),
                        _mention(2, author_email="bob@example.com")])
    _with_collector(kernel, plugin)
    mentions.add_handle(kernel.factory, ada, "testnet", "@fan1")  # the e-mail wins over a handle anyway
    report = mentions.collect(kernel)
    rows = {r.remote_id: r for r in _rows(kernel)}
    assert (rows["m1"].customer_id, rows["m1"].linked_by) == (ada, "email") and rows["m2"].customer_id is None
    assert report.total("linked") == 1
    bob = _customer(kernel, "bob@example.com")
    assert mentions.link_pending(kernel.factory) == 1  # what every collection runs at its end
    assert next(r for r in _rows(kernel) if r.remote_id == "m2").customer_id == bob


def test_handles_link_unlink_and_conflict(kernel: Kernel) -> None:
    _with_collector(kernel, Collector([_mention(1), _mention(2, author_handle="@FAN1 ")]))
    mentions.collect(kernel)
    ada, bob = _customer(kernel, "ada@example.com"), _customer(kernel, "bob@example.com")
    added = mentions.add_handle(kernel.factory, ada, "TestNet", "@fan1", actor="owner@shop.test")
    assert (added["network"], added["handle"], added["linked"]) == ("testnet", "fan1", 2)
    assert mentions.add_handle(kernel.factory, ada, "testnet", "fan1")["linked"] == 0  # idempotent
    with pytest.raises(Conflict, match="already belongs to customer"):
        mentions.add_handle(kernel.factory, bob, "testnet", "@fan1")
    with pytest.raises(NotFound):
        mentions.add_handle(kernel.factory, 999_999, "testnet", "@someone")
    for bad_network, bad_handle in (("no spaces", "x"), ("testnet", "@"), ("testnet", "a\x00b")):
        with pytest.raises(ValidationFailed):
            mentions.add_handle(kernel.factory, ada, bad_network, bad_handle)
    assert [h["handle"] for h in mentions.handles(kernel.factory, ada)] == ["fan1"]
    assert mentions.remove_handle(kernel.factory, ada, "testnet", "@FAN1") == 2
    assert {r.customer_id for r in _rows(kernel)} == {None}
    with pytest.raises(NotFound):
        mentions.remove_handle(kernel.factory, ada, "testnet", "fan1")


def test_voice_labels_and_the_sql_filter_agree(kernel: Kernel) -> None:
    ids = {name: _customer(kernel, f"{name}@example.com") for name in ("amb", "grumpy", "old", "star", "quiet")}
    items = []
    for i in range(3):
        items.append(_mention(10 + i, author_email="amb@example.com", at=(NOW - timedelta(days=10 * i)).isoformat()))
        items.append(_mention(20 + i, author_email="grumpy@example.com", kind="review", rating=2))
        items.append(_mention(30 + i, author_email="old@example.com", at=(NOW - timedelta(days=100 + i)).isoformat()))
    items.append(_mention(23, author_email="grumpy@example.com", kind="review", rating=4))
    items.append(_mention(40, author_email="star@example.com", author_followers=mentions.INFLUENCER_FOLLOWERS))
    items.append(_mention(50, author_email="quiet@example.com", kind="review", rating=3))
    _with_collector(kernel, Collector(items))
    mentions.collect(kernel)
    v = mentions.voices(kernel.factory, ids.values())
    assert {name: v[cid].label for name, cid in ids.items()} == {
        "amb": "ambassador", "grumpy": "", "old": "", "star": "influencer", "quiet": ""}
    assert (v[ids["grumpy"]].reviews, v[ids["grumpy"]].average_rating, v[ids["grumpy"]].positive_recent) == (4, 2.5, 1)
    assert v[ids["old"]].mentions == 3 and v[ids["old"]].positive_recent == 0
    for label in mentions.INFLUENCE_LABELS:
        with read_only(kernel.factory) as s:
            found = set(s.scalars(select(Customer.id).where(mentions.with_label(label))))
        assert found == {cid for cid, voice in v.items() if voice.label == label}
    with pytest.raises(ValidationFailed):
        mentions.with_label("celebrity")


def test_malformed_mentions_are_skipped_and_counted(kernel: Kernel) -> None:
    _with_collector(kernel, Collector([
        _mention(1, rating=9), _mention(2, kind="like"), _mention(3, at="yesterday"), _mention(4, network="Bad Net"),
        _mention(5, url="javascript:alert(1)", author_followers=-3), _mention(5, text="a duplicate in one answer"),
        _mention(6, at="2026-01-02T03:04:05"),  # no offset: taken as UTC
    ]))
    report = mentions.collect(kernel)
    assert (report.total("fetched"), report.total("rejected"), report.total("new")) == (7, 4, 2)
    rows = {r.remote_id: r for r in _rows(kernel)}
    assert rows["m5"].url == "" and rows["m5"].author_followers is None and rows["m5"].text == "hello 5"
    assert mentions._utc(rows["m6"].at) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_a_plugin_that_raises_is_journaled_and_others_go_on(kernel: Kernel) -> None:
    bad, good = Collector([_mention(1)]), Collector([_mention(2, network="othernet")])
    bad.fail = True
    _with_collector(kernel, bad, "bad-collector")
    _with_collector(kernel, good, "good-collector")
    report = mentions.collect(kernel)
    assert [(p.plugin, p.new, bool(p.error)) for p in report.plugins] == [("bad-collector", 0, True),
                                                                          ("good-collector", 1, False)]
    assert "network down" in report.plugins[0].error
    kernel.host.journal.flush()
    assert kernel.host.journal.entries(plugin="bad-collector", outcome="error")


def test_page_filters(kernel: Kernel) -> None:
    ada = _customer(kernel, "ada@example.com")
    _with_collector(kernel, Collector([_mention(1, author_email="ada@example.com", kind="review", rating=5),
                                       _mention(2, kind="reply"), _mention(3, network="othernet")]))
    mentions.collect(kernel)
    f = kernel.factory
    assert mentions.mention_page(f, customer_id=ada)[1] == 1
    assert [m["remote_id"] for m in mentions.mention_page(f, network="testnet")[0]] == ["m1", "m2"]
    assert [m["remote_id"] for m in mentions.mention_page(f, linked=False)[0]] == ["m2", "m3"]
    assert [m["remote_id"] for m in mentions.mention_page(f, kind="review")[0]] == ["m1"]
    items, total = mentions.mention_page(f, limit=1, offset=1)
    assert total == 3 and [m["remote_id"] for m in items] == ["m2"]
    assert "author_email" not in items[0]
    assert mentions.networks(f) == ["othernet", "testnet"]


def test_migration_moves_the_legacy_handles(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    try:
        upgrade(engine, "0007_dashboard_layout")
        with engine.begin() as c:
            for i, handles in enumerate(["mastodon:@Lea@piaille.fr, bluesky:lea.bsky.social", "",
                                         "mastodon:lea@piaille.fr,junk"]):
                c.execute(text("INSERT INTO customer (email, name, phone, password_hash, marketing_consent, "
                               "segment, social_handles, created_at) VALUES (:e, '', '', '', 0, '', :h, "
                               "'2026-01-01 00:00:00')"), {"e": f"c{i}@example.com", "h": handles})
        upgrade(engine)
        with engine.connect() as c:
            rows = c.execute(select(CustomerSocialHandle.customer_id, CustomerSocialHandle.network,
                                    CustomerSocialHandle.handle).order_by(CustomerSocialHandle.id)).all()
        assert [tuple(r) for r in rows] == [(1, "mastodon", "lea@piaille.fr"), (1, "bluesky", "lea.bsky.social")]
    finally:
        engine.dispose()


# ---- the command line ----------------------------------------------------------------
def _cli(monkeypatch: pytest.MonkeyPatch, kernel: Kernel | None, args: list[str], tmp_path: Path) -> int:
    from comptoir.kernel.cli import base, main

    monkeypatch.setenv("COMPTOIR_HOME", str(tmp_path / "cli-home"))
    monkeypatch.delenv("COMPTOIR_DATABASE_URL", raising=False)
    if kernel is not None:  # the command runs on this prepared shop (and closes it, as it would its own)
        monkeypatch.setattr(base, "open_kernel", lambda **kw: kernel)
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_collect_prints_counts_and_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(monkeypatch, None, ["social", "collect"], tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no enabled plugin collects mentions") and len(err.strip().splitlines()) == 1

    k = build_test_kernel(tmp_path / "shop", demo=False)
    bad = Collector([])
    bad.fail = True
    _with_collector(k, Collector([_mention(1), _mention(2, kind="review", rating=5)]), "good-collector")
    _with_collector(k, bad, "bad-collector")
    assert _cli(monkeypatch, k, ["social", "collect"], tmp_path) == 1
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("good", "bad"))}
    assert lines["good-collector"][1:] == ["2", "2", "0", "0", "0", "ok"]
    assert " ".join(lines["bad-collector"][1:]) == ("0 0 0 0 0 failed: plugin 'bad-collector' failed in "
                                                    "social_collect_mentions: network down")
    assert "2 new, 0 updated, 0 linked to customers; 1 plugin(s) failed" in out


def test_cli_lists_mentions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    k = build_test_kernel(tmp_path / "shop", demo=False)
    _with_collector(k, Collector([_mention(1, text="Lovely\nmug"), _mention(2, kind="review", rating=4)]))
    mentions.collect(k)
    assert _cli(monkeypatch, k, ["social", "mentions", "--limit", "1"], tmp_path) == 0
    out = capsys.readouterr().out
    assert "Lovely mug" in out and "1 of 2" in out and "★" not in out
