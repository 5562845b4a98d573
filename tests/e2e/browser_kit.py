"""Driving Debian's Chromium with Playwright: launching it, saving screenshots, and a layout check
that finds text which overlaps other text, is cut off, or makes the page scroll sideways."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("SHIPYARD_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


def chromium_path() -> str | None:
    """Debian's Chromium (the test command installs it), or SHIPYARD_TEST_CHROMIUM."""
    given = os.environ.get("SHIPYARD_TEST_CHROMIUM")
    return given or shutil.which("chromium") or shutil.which("chromium-browser")


async def screenshot(page: Page, name: str) -> Path:
    """The whole page as test-artifacts/screenshots/<name>.png."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    return path


# For every visible piece of text: its line boxes, clipped to what its scrolling or clipping
# ancestors show. Text clipped by a box that cannot scroll is cut off; line boxes of two different
# texts that intersect overlap; anything past the right edge makes the page scroll sideways.
_LAYOUT_PROBLEMS = r"""
() => {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) {
    problems.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${vw}px window`);
  }
  const describe = (node) => {
    const parent = node.parentElement;
    const text = node.textContent.trim().slice(0, 40);
    return `"${text}" in <${parent.tagName.toLowerCase()} class="${parent.className}">`;
  };
  const visibleArea = (el) => {
    let box = {left: -1e9, top: -1e9, right: 1e9, bottom: 1e9}, cut = null;
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const r = a.getBoundingClientRect();
      box = {left: Math.max(box.left, r.left), top: Math.max(box.top, r.top),
             right: Math.min(box.right, r.right), bottom: Math.min(box.bottom, r.bottom)};
      const scrolls = ["auto", "scroll"].includes(s.overflowX) || ["auto", "scroll"].includes(s.overflowY);
      if (!scrolls && !cut) cut = a;
    }
    return {box, cut};
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const parent = node.parentElement;
    const style = getComputedStyle(parent);
    const hidden = parent.closest("[hidden], .sr-only, details:not([open]) > :not(summary)");
    if (style.visibility === "hidden" || hidden) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const {box, cut} = visibleArea(parent);
    for (const r of range.getClientRects()) {
      if (r.width < 1 || r.height < 1) continue;
      const shown = {left: Math.max(r.left, box.left), top: Math.max(r.top, box.top),
                     right: Math.min(r.right, box.right), bottom: Math.min(r.bottom, box.bottom)};
      const whole = shown.right - shown.left >= r.width - 1 && shown.bottom - shown.top >= r.height - 1;
      const partly = shown.right > shown.left && shown.bottom > shown.top;
      if (!whole && cut && partly) problems.push(`cut off: ${describe(node)}`);
      if (shown.right - shown.left < 1 || shown.bottom - shown.top < 1) continue;
      if (shown.right > vw + 1) problems.push(`past the right edge: ${describe(node)}`);
      texts.push({node, r: shown});
    }
  }
  const slack = 1.5;
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      if (a.node === b.node) continue;
      const across = a.r.left < b.r.right - slack && b.r.left < a.r.right - slack;
      if (across && a.r.top < b.r.bottom - slack && b.r.top < a.r.bottom - slack) {
        problems.push(`overlap: ${describe(a.node)} and ${describe(b.node)}`);
      }
    }
  }
  return [...new Set(problems)].slice(0, 20);
}
"""


async def layout_problems(page: Page) -> list[str]:
    """What the layout check found on the page as it is now (nothing, when all is well)."""
    found: list[str] = await page.evaluate(_LAYOUT_PROBLEMS)
    return found
