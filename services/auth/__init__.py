"""Identity and access: who acts (API tokens, OIDC JWTs), what they may do (grants as
events, roles, permissions), and the one check every entrypoint goes through."""
