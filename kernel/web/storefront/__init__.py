"""storefront of the web app."""
