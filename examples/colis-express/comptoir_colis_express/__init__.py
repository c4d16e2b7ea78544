"""Colis Express, a Comptoir plugin."""
