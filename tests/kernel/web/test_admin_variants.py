"""Admin console, variants of a product: add, edit (page and htmx row), deactivate,
delete when unused, rights and CSRF; the same service rules as the JSON admin API."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Location, Product, StockLevel, StockMove, Variant
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.catalog import VariantInput, create_product, variant_active
from tests.kernel.web.helpers import csrf_of, sign_in, token

HX = {"HX-Request": "true"}


def _product(shop: Kernel) -> tuple[int, str, str]:
    """Product 1: its id, the slug shoppers see, and the SKU of its first variant."""
    with read_only(shop.factory) as s:
        p = s.get(Product, 1)
        assert p is not None and p.active
        sku = s.scalar(select(Variant.sku).where(Variant.product_id == 1).order_by(Variant.id))
        return 1, p.slug, str(sku)


def _variant(shop: Kernel, sku: str) -> Variant | None:
    with read_only(shop.factory) as s:
        v = s.scalars(select(Variant).where(Variant.sku == sku)).first()
        if v is not None:
            s.expunge(v)  # a snapshot the test reads after the session is gone
        return v


def _count(shop: Kernel) -> int:
    with read_only(shop.factory) as s:
        return int(s.scalar(select(func.count()).select_from(Variant)) or 0)


def _warehouse(shop: Kernel) -> int:
    with read_only(shop.factory) as s:
        return int(s.scalar(select(Location.id).where(Location.code == "WH-PARIS")) or 0)


def _signed_in(client: TestClient, email: str = "owner@shop.test") -> str:
    sign_in(client, email)
    return csrf_of(client)


def _add(client: TestClient, csrf: str, pid: int = 1, **fields: str) -> Any:
    return client.post(f"/admin/products/{pid}/variants", data={"csrf": csrf, **fields}, follow_redirects=False)


def test_add_a_variant_with_exact_price_weight_and_initial_stock(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, _, _ = _product(shop)
    page = client.get(f"/admin/products/{pid}").text
    assert 'id="add-variant"' in page and 'name="csrf"' in page and 'id="variants-table"' in page
    wh = _warehouse(shop)
    assert f'name="stock_{wh}"' in page  # the owner may receive stock: the location inputs are offered
    r = _add(client, csrf, sku="TEE-M-BLUE", title="Size M, blue", price="19.9", weight="250", **{f"stock_{wh}": "7"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/products/{pid}#variants"
    v = _variant(shop, "TEE-M-BLUE")
    assert v is not None and v.price_amount == 1990 and v.currency == "EUR" and v.weight_grams == 250
    assert v.title == "Size M, blue" and v.product_id == pid and variant_active(v.attributes)
    with read_only(shop.factory) as s:
        level = s.get(StockLevel, (v.id, wh))
        assert level is not None and level.on_hand == 7
        move = s.scalars(select(StockMove).where(StockMove.variant_id == v.id)).one()
        assert move.quantity == 7 and "owner@shop.test" in move.note
    page = client.get(f"/admin/products/{pid}").text
    assert "variant TEE-M-BLUE added" in page
    row = page.split('id="variant-%d"' % v.id, 1)[1].split("</tr>", 1)[0]
    assert "19.90 €" in row and "250 g" in row and "Paris warehouse: 7" in row and "for sale" in row
    assert '/admin/stock?q=TEE-M-BLUE' in row  # stock is read-only here, edited on the stock page


def test_duplicate_sku_is_refused_naming_the_field(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, _, taken = _product(shop)
    before = _count(shop)
    r = _add(client, csrf, pid, sku=f"  {taken} ", title="again", price="5")
    assert r.status_code == 409
    assert 'data-field="sku"' in r.text and f"sku &#39;{taken}&#39; is already used" in r.text
    assert 'name="sku" required maxlength="100" size="12" value="' in r.text and "aria-invalid=true" in r.text
    assert 'value="again"' in r.text  # what the merchant typed is kept
    assert _count(shop) == before


def test_price_is_parsed_exactly_and_extra_decimals_are_refused(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    before = _count(shop)
    r = _add(client, csrf, sku="PRICE-3DEC", price="19.999")
    assert r.status_code == 422 and 'data-field="price"' in r.text
    assert "price: EUR amounts have at most 2 decimals" in r.text
    for bad, field in (("12,3x", "price"), ("-1", "price"), ("", "price")):
        r = _add(client, csrf, sku="PRICE-BAD", price=bad)
        assert r.status_code == 422 and f'data-field="{field}"' in r.text, bad
    r = _add(client, csrf, sku="WEIGHT-BAD", price="1", weight="1.5")
    assert r.status_code == 422 and 'data-field="weight"' in r.text
    assert _count(shop) == before
    assert _add(client, csrf, sku="PRICE-COMMA", price="0,05").status_code == 303
    v = _variant(shop, "PRICE-COMMA")
    assert v is not None and v.price_amount == 5


def test_edit_on_its_own_page_without_javascript(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, _, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    page = client.get(f"/admin/products/{pid}/variants/{v.id}")
    assert page.status_code == 200 and 'id="variant-form"' in page.text and "<html" in page.text
    r = client.post(f"/admin/products/{pid}/variants/{v.id}", follow_redirects=False,
                    data={"csrf": csrf, "title": "1 kg bag", "price": "24.5", "weight": "1000"})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#variant-{v.id}")
    after = _variant(shop, sku)
    assert after is not None and (after.title, after.price_amount, after.weight_grams) == ("1 kg bag", 2450, 1000)
    r = client.post(f"/admin/products/{pid}/variants/{v.id}", data={"csrf": csrf, "title": "x", "price": "1.001"})
    assert r.status_code == 422 and 'data-field="price"' in r.text and 'value="1.001"' in r.text
    after = _variant(shop, sku)
    assert after is not None and after.price_amount == 2450 and after.title == "1 kg bag"
    assert client.get(f"/admin/products/{pid}/variants/999999").status_code == 404
    assert client.get(f"/admin/products/2/variants/{v.id}").status_code == 404  # not a variant of product 2


def test_inline_edit_swaps_the_row_with_htmx(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, _, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    editing = client.get(f"/admin/products/{pid}/variants/{v.id}", headers=HX).text
    assert editing.lstrip().startswith("<tr")  # a fragment, not a page
    assert "<html" not in editing and f'form="vf-{v.id}" name="price"' in editing and f'id="vf-{v.id}"' in editing
    bad = client.post(f"/admin/products/{pid}/variants/{v.id}", headers={**HX, "X-CSRF-Token": csrf},
                      data={"title": "t", "price": "3.333", "weight": "10"})
    assert bad.status_code == 200 and 'data-field="price"' in bad.text and 'class="editing"' in bad.text
    ok = client.post(f"/admin/products/{pid}/variants/{v.id}", headers={**HX, "X-CSRF-Token": csrf},
                     data={"title": "Tin", "price": "8", "weight": "120"})
    assert ok.status_code == 200 and "<html" not in ok.text
    assert f'id="variant-{v.id}"' in ok.text and "8.00 €" in ok.text and "120 g" in ok.text and "saved" in ok.text
    after = _variant(shop, sku)
    assert after is not None and (after.title, after.price_amount, after.weight_grams) == ("Tin", 800, 120)
    cancel = client.get(f"/admin/products/{pid}/variants/{v.id}/row", headers=HX).text
    assert 'data-action="edit"' in cancel and "<input form" not in cancel


def test_deactivated_variant_is_not_sellable_then_sells_again(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, slug, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    r = client.post(f"/admin/products/{pid}/variants/{v.id}/active", data={"csrf": csrf, "active": "0"},
                    follow_redirects=False)
    assert r.status_code == 303
    off = _variant(shop, sku)
    assert off is not None and not variant_active(off.attributes)
    row = client.get(f"/admin/products/{pid}").text.split(f'id="variant-{v.id}"', 1)[1].split("</tr>", 1)[0]
    assert "not sold" in row and 'data-action="reactivate"' in row
    # shoppers: the shop page and the API no longer offer it, and carts refuse it
    assert f'value="{sku}"' not in client.get(f"/shop/p/{slug}").text
    assert sku not in [x["sku"] for x in client.get(f"/api/v1/products/{slug}").json()["variants"]]
    cart = client.post("/api/v1/carts", json={}).json()["token"]
    refused = client.post(f"/api/v1/carts/{cart}/items", json={"sku": sku})
    assert refused.status_code == 409 and refused.json()["field"] == "sku"
    assert "not for sale" in refused.json()["detail"]
    # reactivated through htmx: the row comes back for sale and the cart takes it
    back = client.post(f"/admin/products/{pid}/variants/{v.id}/active", headers={**HX, "X-CSRF-Token": csrf},
                       data={"active": "1"})
    assert back.status_code == 200 and "for sale" in back.text and 'data-action="deactivate"' in back.text
    assert client.post(f"/api/v1/carts/{cart}/items", json={"sku": sku}).status_code in (200, 201)


def test_a_line_no_longer_sold_can_still_leave_the_cart(client: TestClient, shop: Kernel, owner_token: str) -> None:
    _, _, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    cart = client.post("/api/v1/carts", json={}).json()["token"]
    assert client.post(f"/api/v1/carts/{cart}/items", json={"sku": sku}).status_code in (200, 201)
    h = {"Authorization": f"Bearer {owner_token}"}
    patched = client.patch(f"/api/admin/v1/variants/{v.id}", headers=h, json={"active": False})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert client.put(f"/api/v1/carts/{cart}/items/{sku}", json={"quantity": 2}).status_code == 409
    assert client.put(f"/api/v1/carts/{cart}/items/{sku}", json={"quantity": 0}).status_code == 200


def test_delete_only_an_unused_variant_after_confirming(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    pid, _, used_sku = _product(shop)
    assert _add(client, csrf, pid, sku="TYPO-SKU", price="3").status_code == 303
    typo = _variant(shop, "TYPO-SKU")
    used = _variant(shop, used_sku)
    assert typo is not None and used is not None
    page = client.get(f"/admin/products/{pid}/variants/{typo.id}").text
    assert 'name="confirm" required' in page
    r = client.post(f"/admin/products/{pid}/variants/{typo.id}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and _variant(shop, "TYPO-SKU") is not None  # not confirmed: kept
    r = client.post(f"/admin/products/{pid}/variants/{typo.id}/delete", data={"csrf": csrf, "confirm": "on"},
                    follow_redirects=False)
    assert r.status_code == 303 and _variant(shop, "TYPO-SKU") is None
    # a variant with stock history is kept: the page offers deactivation, the API says why
    page = client.get(f"/admin/products/{pid}/variants/{used.id}").text
    assert "so it stays; deactivate it" in page and 'data-action="delete"' not in page
    h = {"Authorization": f"Bearer {token(shop, 'catalog:write')}"}
    refused = client.delete(f"/api/admin/v1/variants/{used.id}", headers=h)
    assert refused.status_code == 409 and refused.json()["field"] == "variant_id"
    assert "deactivate" in refused.json()["detail"]


def test_roles_read_only_or_refused(client: TestClient, shop: Kernel) -> None:
    pid, _, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    csrf = _signed_in(client, "support@shop.test")  # catalog:read only
    page = client.get(f"/admin/products/{pid}").text
    assert sku in page and 'id="add-variant"' not in page and 'data-action="edit"' not in page
    before = _count(shop)
    assert _add(client, csrf, pid, sku="SUPPORT-1", price="1").status_code == 403
    assert client.post(f"/admin/products/{pid}/variants/{v.id}/active",
                       data={"csrf": csrf, "active": "0"}).status_code == 403
    assert client.post(f"/admin/products/{pid}/variants/{v.id}",
                       data={"csrf": csrf, "title": "x", "price": "1"}).status_code == 403
    assert _count(shop) == before
    unchanged = _variant(shop, sku)
    assert unchanged is not None and variant_active(unchanged.attributes) and unchanged.title == v.title
    client.post("/admin/logout", data={"csrf": csrf})
    # marketing edits the catalog but does not receive stock: a variant yes, its first units no
    csrf = _signed_in(client, "marketing@shop.test")
    page = client.get(f"/admin/products/{pid}").text
    assert 'id="add-variant"' in page and 'name="stock_' not in page
    wh = _warehouse(shop)
    assert _add(client, csrf, pid, sku="MKT-1", price="1", **{f"stock_{wh}": "3"}).status_code == 403
    assert _add(client, csrf, pid, sku="MKT-1", price="1").status_code == 303
    assert _count(shop) == before + 1


def test_forms_without_the_csrf_token_are_refused(client: TestClient, shop: Kernel) -> None:
    _signed_in(client)
    pid, _, sku = _product(shop)
    v = _variant(shop, sku)
    assert v is not None
    before = _count(shop)
    r = client.post(f"/admin/products/{pid}/variants", data={"sku": "NO-CSRF", "price": "1"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post(f"/admin/products/{pid}/variants", data={"csrf": "forged", "sku": "NO-CSRF", "price": "1"})
    assert r.status_code == 403
    assert client.post(f"/admin/products/{pid}/variants/{v.id}/active", data={"active": "0"},
                       headers=HX).status_code == 403
    assert client.post(f"/admin/products/{pid}/variants/{v.id}/delete", data={"confirm": "on"}).status_code == 403
    assert _count(shop) == before
    still = _variant(shop, sku)
    assert still is not None and variant_active(still.attributes)


def test_new_product_page_creates_the_first_variant(client: TestClient, shop: Kernel) -> None:
    csrf = _signed_in(client)
    wh = _warehouse(shop)
    form = {"csrf": csrf, "title": "Linen apron", "category": "Home", "sku": "APRON-1", "variant_title": "One size",
            "price": "34.9", "weight": "180", f"stock_{wh}": "4"}
    assert f'name="stock_{wh}"' in client.get("/admin/products/new").text
    refused = client.post("/admin/products/new", data={**form, "price": "34.905"})
    assert refused.status_code == 422 and 'data-field="price"' in refused.text and 'value="Linen apron"' in refused.text
    r = client.post("/admin/products/new", data=form, follow_redirects=False)
    assert r.status_code == 303
    v = _variant(shop, "APRON-1")
    assert v is not None and (v.price_amount, v.weight_grams, v.title) == (3490, 180, "One size")
    with read_only(shop.factory) as s:
        level = s.get(StockLevel, (v.id, wh))
        assert level is not None and level.on_hand == 4
    again = client.post("/admin/products/new", data={**form, "title": "Linen apron 2"})
    assert again.status_code == 409 and 'data-field="sku"' in again.text


def test_api_and_pages_share_the_rules(client: TestClient, shop: Kernel, owner_token: str) -> None:
    """The JSON API adds, edits, deactivates and deletes through the same service functions."""
    h = {"Authorization": f"Bearer {owner_token}"}
    pid, _, taken = _product(shop)
    dup = client.post(f"/api/admin/v1/products/{pid}/variants", headers=h, json={"sku": taken, "price_amount": 100})
    assert dup.status_code == 409 and dup.json()["field"] == "sku"
    usd = client.post(f"/api/admin/v1/products/{pid}/variants", headers=h,
                      json={"sku": "USD-1", "price_amount": 100, "currency": "USD"})
    assert usd.status_code == 422 and usd.json()["field"] == "currency"
    made = client.post(f"/api/admin/v1/products/{pid}/variants", headers=h,
                       json={"sku": " API-1 ", "price_amount": 1990, "title": "XL"})
    assert made.status_code == 201
    new = next(x for x in made.json()["variants"] if x["sku"] == "API-1")  # trimmed like the page does
    assert new["active"] is True and new["price"] == {"amount": 1990, "currency": "EUR"}
    off = client.patch(f"/api/admin/v1/variants/{new['id']}", headers=h, json={"active": False, "price_amount": 2100})
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["price"]["amount"] == 2100
    admin_view = client.get(f"/api/admin/v1/products/{pid}", headers=h).json()["variants"]
    assert {"sku": "API-1", "active": False}.items() <= next(x for x in admin_view if x["sku"] == "API-1").items()
    assert client.delete(f"/api/admin/v1/variants/{new['id']}", headers=h).status_code == 204
    assert client.delete(f"/api/admin/v1/variants/{new['id']}", headers=h).status_code == 404
    with transaction(shop.factory) as s:
        only = create_product(s, "Single", [VariantInput(sku="SINGLE-1", price_amount=100)])
        single = s.scalar(select(Variant.id).where(Variant.product_id == only.id))
    last = client.delete(f"/api/admin/v1/variants/{single}", headers=h)
    assert last.status_code == 409 and "only variant" in last.json()["detail"]
