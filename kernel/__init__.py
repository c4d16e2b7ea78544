"""Comptoir kernel: the small core and the plugin contracts."""
