"""Mastodon: publish with media (now or scheduled), collect mentions and replies."""
