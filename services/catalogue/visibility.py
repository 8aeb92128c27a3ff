"""What a caller may read, as SQL: reads are filtered inside their queries, before paging.

A model is visible to a caller when one of its principals (user:<subject>, group:<name>)
holds a current grant of any role (each includes reading) on the registry, on that model,
or on a prefix of its name. A model the caller may not read is reported as not found, so
its existence does not leak.
"""

from __future__ import annotations

# `{a}` is the access view's schema, `{m}` the alias of the models table, `{p}` the
# parameter holding the caller's principals (text[]).
_VISIBLE = (
    "EXISTS (SELECT 1 FROM {a}.grants g WHERE g.principal = ANY({p}::text[])"
    " AND g.valid_to IS NULL AND (g.scope_kind = 'registry'"
    " OR (g.scope_kind = 'model' AND g.scope_value = {m}.model_id::text)"
    " OR (g.scope_kind = 'prefix' AND starts_with({m}.name, g.scope_value))))"
)


def visible(access: str, models: str, param: str) -> str:
    """A condition on models (an alias of the catalogue's models table) that holds for
    the models the principals in param may read."""
    return _VISIBLE.format(a=access, m=models, p=param)
