"""Copies the console's screenshots, which the browser tests save under
tests/e2e/screenshots/ (git-ignored), into docs/console/ as small PNGs for the README:
the top of each page (the version page whole, for its lineage), in 64 colours.

    .venv/bin/pytest tests/e2e/test_console_browser.py && .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
SHOTS = HERE.parent / "tests" / "e2e" / "screenshots"
PAGES = ("sign-in", "catalogue", "model-after-promotion", "version", "review", "refusal")
HEIGHT = {"version": 2000}  # pixels of height kept; others keep about a screen
SCREEN = 900


def main() -> None:
    target = HERE / "console"
    target.mkdir(exist_ok=True)
    for name in PAGES:
        with Image.open(SHOTS / f"{name}.png") as shot:
            top = shot.crop((0, 0, shot.width, min(shot.height, HEIGHT.get(name, SCREEN))))
            small = top.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
            small.save(target / f"{name}.png", optimize=True)
        print(f"{name}: {(target / f'{name}.png').stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
