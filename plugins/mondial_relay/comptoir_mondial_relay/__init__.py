"""Mondial Relay: pickup points, labels and tracking through the WSI SOAP service."""
