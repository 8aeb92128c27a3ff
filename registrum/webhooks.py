"""The Client's webhook methods: the delivery log and a test fire (webhooks themselves are
made with MLflow's webhook API, /api/2.0/mlflow/webhooks, or MlflowClient)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registrum.transfers import seg


class WebhookMethods:
    """Mixed into Client; relies on its transport calls."""

    if TYPE_CHECKING:

        def _call(
            self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
        ) -> Any: ...

    def webhook_deliveries(
        self, webhook_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """The delivery log, newest first: each delivery with every attempt
        (administrators)."""
        params = {"webhook_id": webhook_id, "status": status, "limit": limit}
        present = {k: v for k, v in params.items() if v is not None}
        return self._call("GET", "/api/v1/webhooks/deliveries", params=present)

    def test_webhook(self, webhook_id: str, event: str | None = None) -> dict[str, Any]:
        """Sends an example of one of the webhook's events (entity.action; default its
        first) now, and returns what the receiver answered."""
        body: dict[str, Any] = {}
        if event:
            entity, _, action = event.partition(".")
            body["event"] = {"entity": entity, "action": action}
        return self._call("POST", f"/api/2.0/mlflow/webhooks/{seg(webhook_id)}/test", body)
