"""Generated contract files are checked in; they must match what the code produces."""

import pytest

from services.contracts import generate


@pytest.mark.parametrize("name", sorted(generate.GENERATED))
def test_checked_in_contract_is_up_to_date(name: str) -> None:
    checked_in = (generate.HERE / name).read_text()
    assert checked_in == generate.GENERATED[name](), (
        f"schemas/{name} is out of date: run `python -m services.contracts.generate`"
    )


def test_constraints_are_json_schema_keywords() -> None:
    # A bound written as pydantic's "ge"/"le" instead of "minimum"/"maximum" means a
    # validator hid it from the schema: clients and fuzzers would not see the limit.
    import json

    for name in ("openapi.json", "json/command.schema.json"):
        text = json.dumps(json.loads((generate.HERE / name).read_text()))
        for raw in ('"ge":', '"le":', '"gt":', '"lt":'):
            assert raw not in text, f"{name} has a raw {raw} constraint"
