"""Version 6: console sessions are tokens of their own (services/web/session.py). Signing
in to the web console with an API token issues a short-lived token for the same person,
recorded with the token it was opened with (parent_id): the browser never holds the
long-lived credential, signing out revokes the session on the server, and revoking a
token revokes the sessions opened with it in the same transaction."""

from __future__ import annotations

from services.schema.migration import Migration

EVENTS = Migration(
    version=6,
    database="events",
    description="registrum_tokens.parent_id: console sessions and the token each came from",
    statements=(
        "ALTER TABLE registrum_tokens ADD COLUMN IF NOT EXISTS parent_id text",
        "CREATE INDEX IF NOT EXISTS registrum_tokens_parent ON registrum_tokens (parent_id)"
        " WHERE parent_id IS NOT NULL",
    ),
)
