"""A demo shop: a realistic coffee-and-tea catalog, stock in a warehouse and two
stores, customers, and a few months of orders placed through the real checkout."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Callable

from sqlalchemy import func, select, update

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Customer, CustomerAddress, Order, Product, Variant
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import stock
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.catalog import VariantInput, create_product, ensure_category, ensure_location
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.types import Address

Progress = Callable[[int], None]

CATALOG: dict[str, tuple[list[str], list[str], list[tuple[str, int, int]]]] = {
    # category: (origins / styles, nouns, variants as (label, price cents, grams))
    "Coffee": (["Ethiopia Yirgacheffe", "Colombia Huila", "Brazil Cerrado", "Kenya Nyeri", "Guatemala Antigua",
                "Peru Cajamarca", "Rwanda Gakenke", "Costa Rica Tarrazú", "Honduras Copán", "Sumatra Mandheling",
                "Mexico Chiapas", "Burundi Kayanza"],
               ["espresso roast", "filter roast", "decaf", "single origin"],
               [("250 g", 990, 270), ("1 kg", 3290, 1050)]),
    "Tea": (["Darjeeling", "Assam", "Sencha", "Gyokuro", "Earl Grey", "Rooibos", "Oolong Tie Guan Yin",
             "Pu-erh", "Jasmine pearls", "Lapsang souchong", "Genmaicha", "Chai"],
            ["first flush", "loose leaf", "organic", "reserve"],
            [("100 g", 890, 120), ("250 g", 1890, 280)]),
    "Brewing": (["V60", "Chemex", "AeroPress", "French press", "Moka pot", "Cold brew jar", "Gooseneck kettle",
                 "Hand grinder", "Scale", "Tea infuser"],
                ["classic", "glass", "steel", "travel"],
                [("standard", 2990, 600)]),
    "Mugs & cups": (["Stoneware", "Porcelain", "Enamel", "Double-wall glass", "Ceramic"],
                    ["mug", "espresso cup", "latte bowl", "tumbler"],
                    [("white", 1490, 350), ("charcoal", 1590, 350)]),
    "Chocolate": (["Madagascar 70%", "Ecuador 85%", "Venezuela 72%", "Milk hazelnut", "Dark orange"],
                  ["bar", "drinking chocolate"],
                  [("100 g", 590, 110)]),
}
FIRST = ["Ada", "Louis", "Chloé", "Hugo", "Inès", "Jules", "Léa", "Nathan", "Manon", "Lucas", "Camille", "Arthur",
         "Sarah", "Paul", "Zoé", "Gabriel", "Emma", "Raphaël", "Alice", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia"]
CITIES = [("75011", "Paris", "FR"), ("69002", "Lyon", "FR"), ("13001", "Marseille", "FR"), ("33000", "Bordeaux", "FR"),
          ("1000", "Bruxelles", "BE"), ("59000", "Lille", "FR"), ("44000", "Nantes", "FR"), ("10115", "Berlin", "DE")]


def is_seeded(kernel: Kernel) -> bool:
    with kernel.factory() as s:
        return bool(s.scalar(select(func.count()).select_from(Product)))


def seed_catalog(kernel: Kernel, *, products: int = 120, rng: random.Random, progress: Progress | None = None) -> int:
    """Create up to ``products`` products with variants and stock; returns how many."""
    made = 0
    with transaction(kernel.factory) as s:
        wh = ensure_location(s, "WH-PARIS", "Paris warehouse", city="Paris", priority=1)
        marais = ensure_location(s, "ST-MARAIS", "Le Marais store", kind="store", city="Paris", priority=20)
        lyon = ensure_location(s, "ST-LYON", "Lyon store", kind="store", city="Lyon", priority=30,
                               ships_online=False)
        names = [(cat, f"{origin} {noun}") for cat, (origins, nouns, _) in CATALOG.items()
                 for origin in origins for noun in nouns]
        rng.shuffle(names)
        for cat_name, title in names[:products]:
            cat = ensure_category(s, cat_name)
            _, _, variants = CATALOG[cat_name]
            base = f"{cat.slug[:3].upper()}-{made + 1:04d}"
            product = create_product(
                s, title, [VariantInput(sku=f"{base}-{i}", title=label, price_amount=price + rng.randint(0, 4) * 50,
                                        weight_grams=grams) for i, (label, price, grams) in enumerate(variants)],
                category_id=cat.id, description=f"{title}, selected by our buyers. Roasted or packed in Paris.",
                attributes={"origin": title.split(" ")[0], "organic": rng.random() < 0.3})
            for vid in s.scalars(select(Variant.id).where(Variant.product_id == product.id)):
                stock.receive(s, vid, wh.id or 0, rng.randint(20, 200))
                if rng.random() < 0.6:
                    stock.receive(s, vid, marais.id or 0, rng.randint(1, 15))
                if rng.random() < 0.5:
                    stock.receive(s, vid, lyon.id or 0, rng.randint(1, 15))
            made += 1
            if progress:
                progress(1)
    return made


def seed_customers(kernel: Kernel, *, customers: int = 60, rng: random.Random,
                   progress: Progress | None = None) -> list[tuple[int, Address]]:
    out = []
    with transaction(kernel.factory) as s:
        for i in range(customers):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            postal, city, country = rng.choice(CITIES)
            c = Customer(email=f"{first.lower()}.{last.lower()}{i}@example.com".replace("é", "e").replace("ï", "i")
                         .replace("è", "e").replace("ë", "e"), name=f"{first} {last}",
                         marketing_consent=rng.random() < 0.6)
            s.add(c)
            s.flush()
            addr = Address(name=c.name, line1=f"{rng.randint(1, 120)} rue du Commerce", postal_code=postal,
                           city=city, country=country)
            s.add(CustomerAddress(customer_id=c.id or 0, name=addr.name, line1=addr.line1, postal_code=postal,
                                  city=city, country=country, is_default=True))
            out.append((c.id or 0, addr))
            if progress:
                progress(1)
    return out


def seed_orders(kernel: Kernel, customers: list[tuple[int, Address]], *, orders: int = 200, rng: random.Random,
                progress: Progress | None = None, days: int = 120) -> int:
    """Place orders through the real checkout, then spread them over the last ``days``."""
    svc = checkout_service(kernel)
    with kernel.factory() as s:
        skus = list(s.scalars(select(Variant.sku)))
        emails = dict(s.execute(select(Customer.id, Customer.email)).all())
    favourites = {cid: rng.sample(skus, k=min(6, len(skus))) for cid, _ in customers}
    placed = 0
    for _ in range(orders):
        cid, addr = rng.choice(customers)
        with transaction(kernel.factory) as s:
            cart = create_cart(s, "EUR", customer_id=cid, email=emails[cid])
            for sku in rng.sample(favourites[cid] if rng.random() < 0.7 else skus, k=rng.randint(1, 3)):
                add_item(s, cart, sku=sku, quantity=rng.randint(1, 2))
            token = cart.token
        try:
            quote = svc.shipping_quotes(token, addr)[0]
            method = rng.choice([m.id for m in svc.payment_methods(token)])
            result = svc.place(CheckoutRequest(cart_token=token, email=emails[cid], address=addr,
                                               shipping_quote_id=quote.id, payment_method_id=method,
                                               customer_id=cid))
        except Exception:  # out of stock on a popular item: a real shop sees that too
            continue
        when = utcnow() - timedelta(days=rng.uniform(0, days))
        with transaction(kernel.factory) as s:
            s.execute(update(Order).where(Order.id == result.order_id).values(placed_at=when))
        placed += 1
        if progress:
            progress(1)
    return placed


def mark_some_paid(kernel: Kernel, rng: random.Random, share: float = 0.8) -> int:
    from comptoir.kernel.services.orders import OrderService

    svc = OrderService(kernel)
    with kernel.factory() as s:
        ids = list(s.scalars(select(Order.id).where(Order.status == "placed")))
    done = 0
    for oid in ids:
        if rng.random() < share:
            svc.mark_paid(oid or 0, actor="demo")
            done += 1
    return done
