"""api of the web app."""
