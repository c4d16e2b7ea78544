"""auth of the web app."""
