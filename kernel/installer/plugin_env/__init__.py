"""Alembic environment for a plugin's own tables (env.py is loaded by Alembic, never imported)."""
