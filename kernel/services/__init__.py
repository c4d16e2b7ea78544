"""Use cases over a DB session and the plugin host: carts, stock, checkout, orders."""
