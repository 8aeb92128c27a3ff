"""Generated contract files are checked in; they must match what the code produces."""

import pytest

from services.contracts import generate


@pytest.mark.parametrize("name", sorted(generate.GENERATED))
def test_checked_in_contract_is_up_to_date(name: str) -> None:
    checked_in = (generate.HERE / name).read_text()
    assert checked_in == generate.GENERATED[name](), (
        f"schemas/{name} is out of date: run `python -m services.contracts.generate`"
    )
