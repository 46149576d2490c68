"""The analytics page with the keyboard only (Tab, Enter, Space) in Chromium: choose a period,
then reach and open every chart's table. Signed in through the API: the walk-through is the page's."""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from test_console import AGENT, CONSOLE_HEADER

from channels.console.guard import SESSION_COOKIE

MAX_TABS = 200  # far more stops than the page has: a focus trap or a lost element fails, not hangs


@pytest.fixture
def page(stack, chromium: Browser) -> Iterator[Page]:
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE_HEADER, timeout=30) as client:
        client.post("/console/api/session", json=AGENT).raise_for_status()
        token = client.cookies[SESSION_COOKIE]
    context = chromium.new_context(locale="en-GB")
    context.add_cookies(
        [{"name": SESSION_COOKIE, "value": token, "url": f"{stack.ports.channels_url}/console"}]
    )
    expect.set_options(timeout=30_000)
    yield context.new_page()
    context.close()


def focused(page: Page) -> dict:
    return page.evaluate(
        "() => { const e = document.activeElement, parent = e.parentElement;"
        " return {tag: e.tagName.toLowerCase(), text: e.textContent.trim(),"
        " open: !!(parent && parent.open)}; }"
    )


def tab_to(page: Page, wanted) -> dict:
    """Tab until `wanted(focused element)`; fails past MAX_TABS stops."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        element = focused(page)
        if wanted(element):
            return element
    pytest.fail("not reached with Tab")


def test_choose_a_period_and_open_every_table_with_the_keyboard_only(stack, page):
    page.goto(f"{stack.ports.channels_url}/console/analytics?lang=en")
    expect(page.locator("#period-shown")).to_contain_text("Period:")

    tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Last 7 days")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{stack.ports.channels_url}/console/analytics?lang=en&days=7")
    summaries = page.locator("summary")
    total = summaries.count()
    assert total >= 6  # one per chart with data, and the tables of the period's figures

    for number in range(total):
        tab_to(page, lambda e: e["tag"] == "summary" and not e["open"])
        page.keyboard.press("Enter" if number % 2 == 0 else "Space")  # either opens a table
    expect(page.locator("details[open]")).to_have_count(total)
    expect(page.locator("details[open] table").first).to_be_visible()
