"""Flat-rate and weight-band shipping."""
