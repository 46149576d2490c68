"""Accessibility audited by a tool: axe-core (npm, pinned in package.json) runs its WCAG 2.1 A and
AA rules in Debian's Chromium over the demo page with the widget closed and open (a step with
buttons, the language menu, a handoff notice) and over every page of the console, in Polish and
English. A violation fails the test with its rule and the elements it found."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from test_console import AGENT, CONSOLE_HEADER, OLENA_PESEL, hand_off, open_ticket_of
from test_console_labels import fail_on, nonsense
from test_widget import Widget

from knowledge.build import load as load_knowledge

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LOCALES = {"pl": "pl-PL", "en": "en-GB"}
# What a person types in each language to reach each state of the widget.
TYPED = {
    "pl": {"hello": "Dzień dobry", "language": "zmień język", "person": "chcę rozmawiać z człowiekiem"},
    "en": {"hello": "Hello", "language": "change the language", "person": "I want to talk to a person"},
}


def violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now: rule, impact, elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at " + ", ".join(" ".join(n["target"]) for n in v["nodes"])
        for v in result["violations"]
    ]


@pytest.fixture
def new_page(chromium: Browser) -> Iterator:
    """A page in a new context; axe's script is put in past the pages' Content-Security-Policy."""
    contexts = []

    def new_page(language: str) -> Page:
        context = chromium.new_context(
            locale=LOCALES[language], bypass_csp=True, viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        return context.new_page()

    expect.set_options(timeout=30_000)
    yield new_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_demo_page_and_the_widget_in_every_state_have_no_wcag_violations(stack, new_page, language):
    page = new_page(language)
    page.goto(stack.ports.channels_url)
    widget = Widget(page, language)
    expect(widget.launcher).to_be_visible()
    found = {"widget closed": violations(page)}

    widget.open()
    widget.say(TYPED[language]["hello"])
    expect(widget.bot.first).to_be_visible()
    pesel = load_knowledge().guides["get_pesel"]["title"][language]
    widget.press(pesel)
    expect(widget.button("▶️ Dalej" if language == "pl" else "▶️ Next")).to_be_visible()
    found["a step with buttons"] = violations(page)

    before = widget.say(TYPED[language]["language"])
    expect(widget.bot.nth(before)).to_be_visible()
    expect(widget.button("Українська")).to_be_visible()
    found["the language menu"] = violations(page)

    widget.say(TYPED[language]["person"])
    expect(page.get_by_text(widget.labels["handoff"])).to_be_visible()
    found["a handoff notice"] = violations(page)
    _hand_back(stack, page)

    assert {state: problems for state, problems in found.items() if problems} == {}


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_console_page_has_no_wcag_violations(stack, new_page, language):
    person = hand_off(stack)
    ticket_id = open_ticket_of(stack, person.conversation_id)
    page = new_page(language)
    try:
        page.goto(f"{stack.ports.channels_url}/console")
        if language == "en":
            page.get_by_role("button", name="English").click()
        sign_in = page.locator("#sign-in-form")
        expect(sign_in).to_be_visible()
        found = {"sign-in": violations(page)}

        page.locator("#username").fill(AGENT["username"])
        page.locator("#password").fill(AGENT["password"])
        page.locator("#sign-in-form button[type=submit]").click()
        entry = page.locator(f'[data-ticket="{ticket_id}"]')
        expect(entry).to_be_visible()
        found["queue"] = violations(page)

        entry.click()
        expect(page.locator("#transcript li").first).to_be_visible()
        found["transcript"] = violations(page)

        page.locator('[data-view="lookup"]').click()
        page.locator("#lookup-pesel").fill(OLENA_PESEL)
        page.locator("#lookup-form button[type=submit]").click()
        expect(page.locator("#lookup-result")).to_be_visible()
        found["lookup"] = violations(page)

        fail_on(stack, language, nonsense())  # a row with its labelling controls
        page.locator('[data-view="failures"]').click()
        expect(page.locator("#failures-view")).to_be_visible()
        expect(page.locator("#failures-rows select").first).to_be_visible()
        found["failures"] = violations(page)
    finally:
        _hand_back_ticket(stack, ticket_id)
        person.close()

    assert {view: problems for view, problems in found.items() if problems} == {}


@pytest.mark.parametrize("language", ["pl", "en"])
def test_the_analytics_page_has_no_wcag_violations(stack, new_page, language):
    """Reached from the console's tab, audited with its tables folded and unfolded."""
    page = new_page(language)
    page.goto(f"{stack.ports.channels_url}/console")
    if language == "en":
        page.get_by_role("button", name="English").click()
    page.locator("#username").fill(AGENT["username"])
    page.locator("#password").fill(AGENT["password"])
    page.locator("#sign-in-form button[type=submit]").click()
    page.locator("#analytics-link").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#period-shown")).to_be_visible()
    found = {"analytics": violations(page)}
    for summary in page.locator("summary").all():
        summary.click()
    expect(page.locator("details:not([open])")).to_have_count(0)
    found["analytics, every table open"] = violations(page)
    assert {view: problems for view, problems in found.items() if problems} == {}


def _hand_back(stack, page: Page) -> None:
    """Leaves no ticket in the queue: hands the widget's conversation back to the bot."""
    session = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.endsWith('session')).map(k => localStorage[k])[0]"
    )
    _hand_back_ticket(stack, open_ticket_of(stack, f"web-{session}"))


def _hand_back_ticket(stack, ticket_id: int) -> None:
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE_HEADER, timeout=30) as client:
        client.post("/console/api/session", json=AGENT).raise_for_status()
        client.post(f"/console/api/tickets/{ticket_id}/hand-back")


def test_the_audit_itself_finds_a_violation(new_page):
    """The auditor is really running: a button without a name and a scrollable region that the
    keyboard cannot reach (the demo page's <pre> before its fix) are reported."""
    page = new_page("en")
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><button></button>'
        '<pre style="overflow:auto;width:5em">' + "x" * 300 + "</pre></main></body></html>"
    )
    found = " ".join(violations(page))
    assert "button-name" in found and "scrollable-region-focusable" in found
