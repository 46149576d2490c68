"""The website widget in a real headless Chromium against the whole stack: the demo page, another
site embedding it, Ukrainian and Polish, buttons, reloads, two tabs, the keyboard, a phone-sized
screen, hostile text and a restart of the channel service.

What the bot says is compared with bot/domain/generated_responses.yml. Every test has a browser
context of its own, so a session (and a conversation) of its own.
"""

import html
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect

from channels.texts import notice, widget_labels
from tests.support.responses import bot_responses

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "artifacts"
# Rasa on two shared cores can take a while, above all for the first message of a conversation.
REPLY_TIMEOUT_MS = 45_000
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

pytestmark = pytest.mark.browser

# The contrast of an element's text with the first opaque background behind it (WCAG formula),
# walking out of the shadow root through its host.
CONTRAST = """(element, pseudo) => {
  const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
  const background = (node) => {
    for (; node; node = node.parentElement || node.getRootNode().host || null) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const luminance = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const a = luminance(rgb(getComputedStyle(element, pseudo).color));
  const b = luminance(background(element));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture(scope="module")
def responses() -> dict:
    return bot_responses()


@pytest.fixture(scope="module")
def other_site(stack) -> Iterator[str]:
    """Another website (another origin) with the widget's tag; its query string becomes the tag's
    data attributes: /?lang=pl&position=left → data-lang="pl" data-position="left"."""
    script = f"{stack.ports.channels_url}/widget.js"

    class SitePage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qsl(urlsplit(self.path).query)
            attributes = "".join(f' data-{html.escape(k)}="{html.escape(v)}"' for k, v in query)
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>A city's page for newcomers</title></head>"
                "<body><h1>Welcome to the city</h1><p>Opening hours of the town hall …</p>"
                f'<script src="{script}"{attributes} async></script></body></html>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SitePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def open_page(chromium: Browser, stack) -> Iterator[Callable[..., Page]]:
    """A page in a fresh browser context (a new visitor); a JavaScript error anywhere fails the test."""
    contexts = []
    errors: list[str] = []

    def open_page(url: str | None = None, init_script: str | None = None, **context_options) -> Page:
        context = chromium.new_context(**{"locale": "uk-UA", **context_options})
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url or stack.ports.channels_url)
        return page

    expect.set_options(timeout=REPLY_TIMEOUT_MS)
    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


class Widget:
    """The widget on a page, found the way assistive technology finds it: by roles and names."""

    def __init__(self, page: Page, language: str) -> None:
        self.page = page
        self.labels = widget_labels(language)
        # "Open chat", or "Open chat (new message)": names match by substring
        self.launcher = page.get_by_role("button", name=self.labels["open"])
        self.dialog = page.get_by_role("dialog", name=self.labels["title"])
        self.input = page.get_by_role("textbox", name=self.labels["placeholder"])
        self.status = page.get_by_role("status")
        self.messages = page.locator(".message")
        self.bot = page.locator('.message[data-author="bot"] .text')
        self.mine = page.locator('.message[data-author="user"] .text')

    def open(self) -> None:
        self.launcher.click()
        expect(self.dialog).to_be_visible()

    def say(self, text: str) -> int:
        """Sends `text`; returns how many bot messages there were before, once it shows as sent."""
        before = self.bot.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.mine.last).to_have_text(text)
        return before

    def press(self, title: str) -> int:
        before = self.bot.count()
        self.button(title).click()
        expect(self.mine.last).to_have_text(title)
        return before

    def button(self, title: str) -> Locator:
        return self.dialog.get_by_role("button", name=title, exact=True)

    def expect_reply(self, before: int, text: str) -> None:
        """The first bot message after the `before` ones says `text`."""
        expect(self.bot.nth(before)).to_have_text(text)

    def transcript(self) -> list[list[str]]:
        """[id, author, text] of every message on the page, in order."""
        return self.messages.evaluate_all(
            "items => items.map(m => [m.dataset.id, m.dataset.author, m.querySelector('.text').textContent])"
        )


def said(responses: dict, name: str, language: str) -> str:
    [variation] = [v for v in responses[name] if v["condition"][0]["value"] == language]
    return variation["text"]


def test_a_conversation_in_ukrainian_and_polish_with_a_button_survives_a_reload(open_page, responses):
    page = open_page(locale="uk-UA", viewport={"width": 1280, "height": 860})
    widget = Widget(page, "uk")  # the browser's language
    widget.open()
    expect(widget.input).to_be_focused()

    widget.expect_reply(widget.say("Привіт"), said(responses, "utter_greet", "uk"))
    widget.expect_reply(widget.press("Отримати PESEL"), said(responses, "utter_get_pesel_step_1", "uk"))
    # a clear Polish message: the bot answers in Polish from then on
    polish = widget.say("Dzień dobry, jak mogę dostać numer PESEL?")
    widget.expect_reply(polish, said(responses, "utter_get_pesel_step_1", "pl"))
    expect(widget.button("▶️ Dalej")).to_be_visible()
    # only the latest answer keeps its buttons
    expect(widget.button("Отримати PESEL")).to_have_count(0)
    before = widget.transcript()

    page.reload()
    # the panel was open, so it opens again, with the whole conversation and nothing twice
    expect(widget.dialog).to_be_visible()
    expect(widget.messages).to_have_count(len(before))
    # shown without being read out again, then the log is live as before
    expect(widget.dialog.get_by_role("log")).to_have_attribute("aria-live", "polite")
    assert widget.transcript() == before
    ids = [int(message_id) for message_id, _, _ in before]
    assert ids == sorted(set(ids))

    # and it goes on where it was
    widget.expect_reply(widget.press("▶️ Dalej"), said(responses, "utter_get_pesel_step_2", "pl"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "widget.png")


def test_another_site_embeds_it_with_its_own_language_position_and_colour(open_page, other_site, responses):
    # An http page of another site has no crypto.randomUUID (only secure pages do): here it is
    # taken away, so the fallback makes the session id.
    page = open_page(
        f"{other_site}?lang=pl&position=left&color=%237a1f5c",
        init_script="delete Crypto.prototype.randomUUID",
        locale="uk-UA",
        viewport={"width": 1200, "height": 800},
    )
    widget = Widget(page, "pl")  # data-lang wins over the browser's Ukrainian
    expect(widget.launcher).to_be_visible()
    assert widget.launcher.bounding_box()["x"] < 200
    assert widget.launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 92)"

    widget.open()
    assert widget.dialog.bounding_box()["x"] < 200
    widget.expect_reply(widget.say("Cześć"), said(responses, "utter_greet", "pl"))
    widget.expect_reply(widget.press("Uzyskaj numer PESEL"), said(responses, "utter_get_pesel_step_1", "pl"))
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    assert UUID4.fullmatch(page.evaluate("localStorage.getItem('onboarding-chat:session')"))


def test_keyboard_only(open_page, responses):
    page = open_page(locale="uk-UA")
    widget = Widget(page, "uk")
    expect(widget.launcher).to_be_visible()
    tab_to(widget.launcher, "Tab")  # past the demo page's snippet (a scrollable, focusable box)
    assert_focus_is_visible(widget.launcher)
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")
    expect(widget.dialog).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()
    page.keyboard.type("Привіт")
    page.keyboard.press("Enter")
    widget.expect_reply(0, said(responses, "utter_greet", "uk"))

    # back from the text field into the menu's buttons
    forgot = widget.button("Забули пароль")
    tab_to(forgot, "Shift+Tab")
    assert_focus_is_visible(forgot)
    page.keyboard.press("Enter")
    expect(widget.mine.last).to_have_text("Забули пароль")
    widget.expect_reply(1, said(responses, "utter_forgot_password_step_1", "uk"))
    # the pressed button went with the old menu; the focus went back to the text field
    expect(widget.input).to_be_focused()

    page.keyboard.press("Escape")
    expect(widget.dialog).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")


def tab_to(element: Locator, key: str, presses: int = 8) -> None:
    """Presses `key` until `element` has the focus."""
    for _ in range(presses):
        element.page.keyboard.press(key)
        if element.evaluate("e => e.matches(':focus')"):
            break
    expect(element).to_be_focused()


def assert_focus_is_visible(element: Locator) -> None:
    ring = element.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).boxShadow]")
    assert ring[0] != "none" and "6px" in ring[1], ring


@pytest.mark.parametrize(
    "color", [None, "#ffd400", "#767676"], ids=["default colour", "a light colour", "a middle grey"]
)
def test_roles_live_region_and_contrast(open_page, other_site, responses, color):
    query = "?lang=en" + (f"&color={color.replace('#', '%23')}" if color else "")
    page = open_page(other_site + query, locale="en-GB")
    widget = Widget(page, "en")
    panel_id = widget.launcher.get_attribute("aria-controls")
    widget.open()
    expect(widget.dialog).to_have_attribute("id", panel_id)
    log = widget.dialog.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    widget.expect_reply(widget.say("Hi"), said(responses, "utter_greet", "en"))
    # the author is read out with every message
    expect(page.locator(".message .who").first).to_have_text(f"{widget.labels['you']}: ")

    readable = {
        "launcher's icon": widget.launcher,
        "title": widget.dialog.get_by_role("heading", name=widget.labels["title"]),
        "close": widget.dialog.get_by_role("button", name=widget.labels["close"]),
        "my message": widget.mine.last,
        "bot's message": widget.bot.last,
        "a button": widget.button("Get a PESEL number"),
        "send": widget.dialog.get_by_role("button", name=widget.labels["send"]),
        "text field": widget.input,
    }
    contrasts = {name: element.evaluate(CONTRAST, None) for name, element in readable.items()}
    contrasts["placeholder"] = widget.input.evaluate(CONTRAST, "::placeholder")
    assert all(ratio >= 4.5 for ratio in contrasts.values()), contrasts


def test_on_a_phone_the_chat_fills_the_screen(open_page, responses):
    phone = {"width": 390, "height": 844}
    page = open_page(locale="pl-PL", viewport=phone, is_mobile=True, has_touch=True, device_scale_factor=2)
    widget = Widget(page, "pl")
    widget.launcher.tap()
    expect(widget.dialog).to_be_visible()
    assert widget.dialog.bounding_box() == {"x": 0, "y": 0, **phone}
    expect(widget.launcher).to_be_hidden()

    widget.expect_reply(widget.say("Cześć"), said(responses, "utter_greet", "pl"))
    before = widget.bot.count()
    widget.button("Zaloguj się do IKP").tap()
    widget.expect_reply(before, said(responses, "utter_ikp_login_step_1", "pl"))
    composer = widget.input.bounding_box()
    assert composer["y"] + composer["height"] <= phone["height"]
    page.screenshot(path=ARTIFACTS / "widget-phone.png")

    widget.dialog.get_by_role("button", name=widget.labels["close"]).tap()
    expect(widget.dialog).to_be_hidden()
    expect(widget.launcher).to_be_visible()


def test_html_in_messages_is_shown_as_text_and_never_runs(open_page):
    page = open_page(locale="en-GB")
    widget = Widget(page, "en")
    widget.open()
    hostile = (
        '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
        '<a href="javascript:window.pwned=3">click</a><b>bold?</b>'
    )
    widget.say(hostile)
    widget.say("details at https://example.org/help?a=1. not javascript:window.pwned=4")

    assert page.evaluate("window.pwned") is None
    assert page.locator(".message img, .message script, .message b").count() == 0
    links = page.locator('.message[data-author="user"] a')
    expect(links).to_have_count(1)  # only the http(s) address
    expect(links).to_have_attribute("href", "https://example.org/help?a=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer")


def test_messages_and_the_handoff_appear_at_once_in_another_tab(open_page, stack, responses):
    page = open_page(locale="uk-UA")
    widget = Widget(page, "uk")
    widget.open()
    # the same site in a second tab: the same session, and the panel opens there too
    other_tab = page.context.new_page()
    other_tab.goto(stack.ports.channels_url)
    other = Widget(other_tab, "uk")
    expect(other.dialog).to_be_visible()

    widget.say("Привіт")
    expect(other.mine.last).to_have_text("Привіт")
    other.expect_reply(0, said(responses, "utter_greet", "uk"))

    other.say("хочу поговорити з людиною")
    expect(widget.status).to_have_text(widget.labels["handoff"])
    expect(other.status).to_have_text(other.labels["handoff"])
    widget.expect_reply(1, said(responses, "utter_handoff_opened", "uk"))
    assert widget.transcript() == other.transcript()


def test_a_reply_while_the_chat_is_closed_shows_as_unread(open_page, responses):
    page = open_page(locale="uk-UA")
    widget = Widget(page, "uk")
    widget.open()
    widget.input.fill("Привіт")
    widget.input.press("Enter")
    page.keyboard.press("Escape")  # before the bot answers

    unread = f"{widget.labels['open']} ({widget.labels['unread']})"
    expect(page.get_by_role("button", name=unread, exact=True)).to_be_visible()
    widget.launcher.click()
    widget.expect_reply(0, said(responses, "utter_greet", "uk"))
    expect(page.get_by_role("button", name=widget.labels["open"], exact=True)).to_have_attribute(
        "aria-expanded", "true"
    )


def test_a_notice_of_the_service_is_shown_once_and_is_in_no_history(open_page, responses):
    """What the service says while its database is unreachable comes on the socket only (a
    "notice" frame, tests/faults/test_database.py): here the browser's route of the socket puts one
    there, between the service's own frames."""
    page = open_page(locale="uk-UA")
    routes = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()  # everything else goes both ways as it is
        routes.append(route)

    page.route_web_socket(re.compile(r"/widget/ws"), through)
    page.reload()
    widget = Widget(page, "uk")
    widget.open()
    widget.expect_reply(widget.say("Привіт"), said(responses, "utter_greet", "uk"))

    text = notice("outage_send_again", "uk")
    routes[-1].send(json.dumps({"type": "notice", "text": text}))
    expect(page.locator('.message[data-author="system"] .text')).to_have_text(text)
    [*stored, shown] = widget.transcript()
    assert [author for _, author, _ in stored] == ["user", "bot"] and shown == [None, "system", text]

    page.reload()
    expect(widget.dialog).to_be_visible()
    expect(widget.messages).to_have_count(2)  # the history holds what was stored
    widget.expect_reply(widget.press("Отримати PESEL"), said(responses, "utter_get_pesel_step_1", "uk"))


# Last: it restarts the channel service.
def test_after_a_restart_of_the_service_it_reconnects_and_goes_on(open_page, stack, responses):
    page = open_page(locale="uk-UA")
    widget = Widget(page, "uk")
    widget.open()
    widget.expect_reply(widget.say("Привіт"), said(responses, "utter_greet", "uk"))

    stack.stop("channels")
    try:
        expect(widget.status).to_have_text(widget.labels["reconnecting"])
    finally:
        stack.start("channels")  # the other tests of the session need it
    expect(page.locator(".status")).to_be_empty()  # connected again; the status is gone

    widget.expect_reply(widget.press("Отримати PESEL"), said(responses, "utter_get_pesel_step_1", "uk"))
    ids = [int(message_id) for message_id, _, _ in widget.transcript()]
    assert ids == sorted(set(ids)) and len(ids) == 4
