"""Reading a Dagster UI page as a user sees it: metadata tables, images in dialogs, screenshots."""

from __future__ import annotations

import os
import re
import shutil
import struct
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

__all__ = ["Screenshots", "metadata_row", "metadata_table", "open_image", "png_size", "visible_text"]

SCREENSHOTS_ENV = "FLEXSYNC_UI_SCREENSHOTS"  # a folder to copy every screenshot into, to look at them

_TABLE_JS = """
(row) => {
  const table = row.querySelector(':scope > td:nth-child(2) table');
  if (!table) return null;
  const text = (cell) => cell.innerText.trim();
  return {
    headers: [...table.querySelectorAll('th')].map(text),
    rows: [...table.querySelectorAll('tr')]
      .map((tr) => [...tr.querySelectorAll('td')].map(text))
      .filter((cells) => cells.length > 0),
  };
}
"""

_IMAGE_LOADED_JS = """
() => {
  const image = document.querySelector('[role=dialog] img');
  return image && image.complete && image.naturalWidth > 0;
}
"""


def visible_text(page: Page, text: str) -> Locator:
    """``text`` exactly, among the visible elements (Dagster also renders hidden copies to measure names)."""
    return page.get_by_text(text, exact=True).filter(visible=True)


def metadata_row(page: Page, label: str) -> Locator:
    """The row of the metadata panel whose key is ``label``."""
    key = page.locator("td").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator("tr").filter(has=key).last


def metadata_table(page: Page, label: str) -> dict[str, list]:
    """The table shown for metadata ``label``: its header texts and its rows' cell texts."""
    row = metadata_row(page, label)
    expect(row.locator("table").first).to_be_visible()
    table = row.evaluate(_TABLE_JS)
    assert table is not None, f"metadata {label!r} shows no table: {row.inner_text()!r}"
    return table


def open_image(page: Page, label: str) -> tuple[int, int]:
    """Click metadata ``label``'s "[Show Markdown]", wait for its image; its natural (width, height)."""
    metadata_row(page, label).get_by_text("[Show Markdown]").click()
    page.wait_for_function(_IMAGE_LOADED_JS, timeout=30_000)
    image = page.get_by_role("dialog").locator("img").first
    return image.evaluate("(image) => [image.naturalWidth, image.naturalHeight]")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


# Dagster scrolls inside a panel, not the page: the height the page needs to show that panel whole.
_CONTENT_HEIGHT_JS = """
() => {
  const view = document.documentElement.clientHeight;
  const hidden = [...document.querySelectorAll('*')]
    .filter((e) => e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflowY !== 'visible')
    .map((e) => e.scrollHeight - e.clientHeight);
  return view + Math.max(0, ...hidden);
}
"""
MAX_SCREENSHOT_HEIGHT = 4000


class Screenshots:
    """Whole-panel screenshots into ``folder`` (the test's tmp folder), copied to $FLEXSYNC_UI_SCREENSHOTS if set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        copy_to = os.environ.get(SCREENSHOTS_ENV, "").strip()
        self.copy_to = Path(copy_to) if copy_to else None

    def take(self, page: Page, name: str) -> Path:
        """Grow the window to the scrolled panel's height for the shot (a user would scroll), then restore it."""
        path = self.folder / f"{name}.png"
        size = page.viewport_size
        assert size is not None
        height = min(page.evaluate(_CONTENT_HEIGHT_JS), MAX_SCREENSHOT_HEIGHT)
        try:
            if height > size["height"]:
                page.set_viewport_size({"width": size["width"], "height": height})
            page.screenshot(path=path, full_page=True)
        finally:
            page.set_viewport_size(size)
        if self.copy_to is not None:
            self.copy_to.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.copy_to / path.name)
        return path
