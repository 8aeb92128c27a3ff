"""Version 5: webhooks (services/webhooks), in the read database, beside the leases and
relay positions: the webhooks follower writes its deliveries in the same transaction as
its position, fenced by its lease, and all three must be in one database for that.

Webhooks are delivery configuration kept in tables, not events: a secret must be
erasable (deleting a webhook erases its ciphertext), which an immutable log cannot do,
and who made or changed a webhook is kept in its row. The delivery log is append-only in
spirit: a delivery's attempts are rows of their own, never rewritten.
"""

from __future__ import annotations

from services.schema.migration import Migration

READ = Migration(
    version=5,
    database="read",
    description="registrum_webhooks, their deliveries and every attempt",
    statements=(
        """CREATE TABLE IF NOT EXISTS registrum_webhooks (
            webhook_id text PRIMARY KEY,
            name text NOT NULL,
            url text NOT NULL,
            description text,
            events text[] NOT NULL CHECK (cardinality(events) > 0),
            status text NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
            secret bytea,
            after_position bigint NOT NULL,
            created_by text NOT NULL,
            updated_by text NOT NULL,
            creation_timestamp bigint NOT NULL,
            last_updated_timestamp bigint NOT NULL,
            deleted_at timestamptz,
            deleted_by text
        )""",
        """CREATE TABLE IF NOT EXISTS registrum_webhook_deliveries (
            delivery_id uuid PRIMARY KEY,
            seq bigserial NOT NULL UNIQUE,
            webhook_id text NOT NULL REFERENCES registrum_webhooks (webhook_id),
            position bigint NOT NULL,
            event text NOT NULL,
            model_id text NOT NULL,
            model text NOT NULL,
            body bytea NOT NULL,
            status text NOT NULL
                CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            last_status_code integer,
            last_error text,
            test boolean NOT NULL DEFAULT false
        )""",
        # The head of each (webhook, model) queue, found without scanning finished rows.
        "CREATE INDEX IF NOT EXISTS registrum_webhook_deliveries_queue"
        " ON registrum_webhook_deliveries (webhook_id, model_id, seq) WHERE status = 'pending'",
        "CREATE INDEX IF NOT EXISTS registrum_webhook_deliveries_log"
        " ON registrum_webhook_deliveries (webhook_id, seq)",
        """CREATE TABLE IF NOT EXISTS registrum_webhook_attempts (
            delivery_id uuid NOT NULL REFERENCES registrum_webhook_deliveries (delivery_id),
            attempt integer NOT NULL,
            started_at timestamptz NOT NULL,
            duration_ms integer NOT NULL,
            status_code integer,
            error text,
            next_attempt_at timestamptz,
            PRIMARY KEY (delivery_id, attempt)
        )""",
    ),
)
