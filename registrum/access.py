"""The Client's identity and access methods: who am I, API tokens, and grants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from registrum.transfers import seg

TOKEN_PREFIX = "rgm_"
TOKEN_ID_LENGTH = 12


def token_id(value: str) -> str:
    """The id part (rgm_<12 characters>) of a whole token rgm_<id>_<secret>; any other
    value as given. A token's secret is never needed to name it."""
    head = TOKEN_PREFIX + "x" * TOKEN_ID_LENGTH
    if value.startswith(TOKEN_PREFIX) and len(value) > len(head) and value[len(head)] == "_":
        return value[: len(head)]
    return value


class AccessMethods:
    """Mixed into Client; relies on its transport calls."""

    if TYPE_CHECKING:

        def _call(
            self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
        ) -> Any: ...

        def _rows(self, key: str, path: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def whoami(self) -> dict[str, Any]:
        """The caller the registry authenticated: {subject, display_name, kind (user or
        service), groups, via (token or oidc), credential, grants: [{principal, role,
        scope}]}."""
        return self._call("GET", "/api/v1/whoami")

    # -- tokens ------------------------------------------------------------------------

    def create_token(
        self,
        subject: str,
        *,
        display_name: str | None = None,
        kind: str = "user",
        groups: Iterable[str] = (),
        expires_in_days: int = 90,
        description: str = "",
    ) -> dict[str, Any]:
        """Issues an API token for subject (administrators only). The answer's "token" is
        the secret: shown in this answer and never again. kind "service" is a pipeline's
        account, which may never approve."""
        body = {
            "subject": subject,
            "display_name": display_name,
            "kind": kind,
            "groups": list(groups),
            "expires_in_days": expires_in_days,
            "description": description,
        }
        return self._call("POST", "/api/v1/tokens", body)

    def list_tokens(self, subject: str | None = None) -> dict[str, Any]:
        """{"tokens": [...]} without secrets: every token (or subject's) for
        administrators, one's own for anyone else."""
        return self._rows("tokens", "/api/v1/tokens", {"subject": subject})

    def revoke_token(self, token: str) -> dict[str, Any]:
        """Revokes a token by its id (rgm_... or bare); given a whole token, only its id
        is sent. Returns the token's record."""
        return self._call("DELETE", f"/api/v1/tokens/{seg(token_id(token))}")

    # -- grants ------------------------------------------------------------------------

    def grant(
        self,
        principal: str,
        role: str,
        scope: str = "registry",
        reason: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Gives role (reader, contributor, reviewer, releaser:staging,
        releaser:production, owner) to principal (user:ID or group:NAME) on scope
        (registry, model:NAME or prefix:NAME-PREFIX). Needs ownership of the scope."""
        body = {"principal": principal, "role": role, "scope": scope, "reason": reason}
        return self._call("POST", "/api/v1/grants", {**body, **fields})

    def revoke_grant(
        self,
        principal: str,
        role: str,
        scope: str = "registry",
        reason: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Takes back a role given by grant()."""
        body = {"principal": principal, "role": role, "scope": scope, "reason": reason}
        return self._call("POST", "/api/v1/grants/revoke", {**body, **fields})

    def list_grants(self, principal: str | None = None, as_of: str | None = None) -> dict[str, Any]:
        """{"grants": [...]} in force now (or at as_of, ISO 8601): every grant for the
        registry's owners, one's own and one's groups' for anyone else."""
        return self._rows("grants", "/api/v1/grants", {"principal": principal, "as_of": as_of})
