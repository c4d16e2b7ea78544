"""Bluesky (AT Protocol): posts with images and links, mentions and replies."""
