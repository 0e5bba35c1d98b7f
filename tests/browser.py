"""Open a report in headless Chromium (Debian's `chromium`) through Playwright, as a reader would."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

# Chromium as root in a container needs --no-sandbox; nothing else is asked of the browser.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@dataclass(frozen=True)
class PageView:
    errors: list[str]  # uncaught exceptions and console errors
    requests: list[str]  # every URL the page asked for beyond itself
    images: list[dict]  # per <img>: alt, complete, naturalWidth, naturalHeight
    tables: dict[str, list[list[str]]]  # table id -> rows of cell texts, header row first
    width: int  # the page's scrollable width in CSS pixels: more than the viewport's means sideways scrolling


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Chromium is not installed: run `make system-deps` (Debian's chromium package)")
    return path


def view(html: Path, screenshot: Path) -> PageView:
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            # Offline: any request that leaves the file would fail, and is recorded.
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on(
                "request",
                lambda request: requests.append(request.url) if not request.url.startswith(("file:", "data:")) else None,
            )
            page.goto(html.resolve().as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "all => all.map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"
            )
            width = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=str(screenshot), full_page=True)
            tables = page.eval_on_selector_all(
                "table[id]",
                "all => Object.fromEntries(all.map(t => [t.id, Array.from(t.rows, r => Array.from(r.cells, c => c.innerText))]))",
            )
        finally:
            browser.close()
    return PageView(errors, requests, images, tables, width)
