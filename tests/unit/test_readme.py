"""The README's configuration table names every setting the server reads."""

from pathlib import Path

from services.settings import Settings

README = Path(__file__).parents[2] / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text()
    missing = [
        f"REGISTRUM_{name.upper()}"
        for name in Settings.model_fields
        if f"`REGISTRUM_{name.upper()}`" not in text
    ]
    assert missing == []
