"""Teaching the bot from its failures, on the whole stack: staff label a message of the failures
page through the console's API and in real headless Chromium; the label is stored masked with who
and when, audited by the backend, refused for a test-set text, and the labelled group leaves the
list. (make learn and the label rules: tests/unit/test_learning.py.)"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from test_console import ARTIFACTS, audit, console

from channels.learning import REPO_ROOT, nlu_examples
from channels.texts import console_texts
from scripts.learn import read_labels
from tests.support.widget import WidgetClient

CONSONANTS = str.maketrans("0123456789abcdef", "bcdfghjklmnpqrst")


def fail_on(stack, language: str, text: str) -> None:
    """A widget user writes something the bot cannot read, so that the failures page lists it."""
    user = WidgetClient(stack.ports.channels_url, language)
    try:
        user.say(text)  # waits for the bot's answer
    finally:
        user.close()


def nonsense() -> str:
    """Unreadable and unique: no earlier test can have labelled it. Consonants only: a token with
    digits ("807bb8") reads as a typed value, which the model may take for `inform`."""
    unique = uuid.uuid4().hex[:6].translate(CONSONANTS)
    return f"zzkq blorp {unique} vrmph"


def listed(client, text: str) -> list[dict]:
    return [
        failure
        for failure in client.get("/console/api/failures").json()["failures"]
        if failure["text"] == text
    ]


def test_a_label_is_stored_masked_audited_and_takes_the_group_off_the_list(stack):
    text = nonsense()
    fail_on(stack, "pl", text)
    audited_before = len(audit(stack))
    with console(stack) as client:
        page = client.get("/console/api/failures").json()
        assert [failure["language"] for failure in listed(client, text)] == ["pl"]
        values = {label["value"]: label for label in page["labels"]}
        assert {"get_pesel", "faq/what_is_pesel", "new_topic"} <= set(values)
        assert values["faq/what_is_pesel"]["names"]["pl"]

        response = client.post(
            "/console/api/failures/labels", json={"text": text, "language": "pl", "label": "get_pesel"}
        )
        assert response.status_code == 201, response.text
        saved = response.json()
        assert (saved["text"], saved["language"], saved["label"], saved["staff_username"]) == (
            text,
            "pl",
            "get_pesel",
            "agent",
        )
        assert listed(client, text) == []
        assert client.get("/console/api/failures").json()["labelled"] >= 1

        # The page sends a group's masked text; a raw one is masked and normalised all the same.
        raw = client.post(
            "/console/api/failures/labels",
            json={"text": f"{text.upper()}  85070312345", "language": "pl", "label": "inform"},
        )
        assert raw.json()["text"] == f"{text} <pesel>"

    entries = audit(stack)
    new_rows = entries[: len(entries) - audited_before]
    assert [(e["staff_username"], e["action"], e["subject"]) for e in new_rows] == [
        ("agent", "label_failure", "inform"),
        ("agent", "label_failure", "get_pesel"),
    ]
    assert all(row["result"].startswith("pl:") for row in new_rows)
    assert text not in str(entries) and "85070312345" not in str(entries)
    assert new_rows[1]["created_at"][:19] == saved["created_at"][:19]
    stored = {item.text: item for item in read_labels(stack.databases.channels) if text in item.text}
    assert {key: (item.label, item.staff_username) for key, item in stored.items()} == {
        text: ("get_pesel", "agent"),
        f"{text} <pesel>": ("inform", "agent"),
    }


def test_a_test_set_text_an_unknown_label_or_no_session_is_refused(stack):
    dev = next(text for _intent, text in nlu_examples(REPO_ROOT / "tests" / "nlu" / "dev_en.yml"))
    audited_before = len(audit(stack))
    with console(stack) as client:
        refused = client.post(
            "/console/api/failures/labels",
            json={"text": f"  {dev.upper()} ", "language": "en", "label": "greet"},
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "test_set_text"
        assert "tests/nlu/dev_en.yml" in refused.json()["error"]["message"]
        unknown = client.post(
            "/console/api/failures/labels", json={"text": "abc", "language": "en", "label": "pizza"}
        )
        assert unknown.json()["error"]["code"] == "unknown_label"
    with console(stack, credentials=None) as anonymous:
        response = anonymous.post(
            "/console/api/failures/labels", json={"text": "abc", "language": "en", "label": "greet"}
        )
        assert response.status_code == 401
    assert len(audit(stack)) == audited_before  # nothing refused was audited


@pytest.mark.browser
def test_staff_label_a_group_in_a_real_browser_and_it_leaves_the_list(stack, chromium):
    text = nonsense()
    for _ in range(2):  # a group of two same messages
        fail_on(stack, "en", text)
    expect.set_options(timeout=20_000)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        page = context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(f"{stack.ports.channels_url}/console")
        page.get_by_role("button", name="English").click()
        page.get_by_label("Username").fill("agent")
        page.get_by_label("Password").fill("agent-demo-pass")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="What the bot fails on").click()

        row = page.locator("#failures-rows tr").filter(has_text=text)
        expect(row).to_contain_text("2")  # the group: how many times
        choose = row.get_by_role("combobox", name=f"Label of the message: {text}")
        save = row.get_by_role("button", name=f"Save the label of the message: {text}")
        expect(save).to_be_disabled()
        # Readable names, grouped: the bot's topics, its FAQ answers, and new topic.
        texts = console_texts()["en"]
        expect(choose.locator("optgroup")).to_have_count(3)
        expect(choose.locator('option[value="ikp_login"]')).to_have_text(texts["intent_ikp_login"])
        expect(choose.locator('option[value="new_topic"]')).to_have_text(texts["new_topic"])
        choose.select_option(label=texts["intent_ikp_login"])
        page.screenshot(path=ARTIFACTS / "console-label.png", full_page=True)
        save.click()

        expect(row).to_have_count(0)
        expect(page.locator("#failures-status")).to_have_text(
            f"Saved “{text}” as: {texts['intent_ikp_login']}."
        )
        expect(page.locator("#failures-labelled")).to_contain_text(re.compile(r"Labelled before .*: \d+"))
        # Still gone after asking the server again.
        page.get_by_role("button", name="Refresh").click()
        expect(page.locator("#failures-labelled")).to_be_visible()
        expect(page.locator("#failures-rows tr").filter(has_text=text)).to_have_count(0)
    finally:
        context.close()
    assert page_errors == []
    stored = [item for item in read_labels(stack.databases.channels) if item.text == text]
    assert [(item.language, item.label, item.staff_username) for item in stored] == [
        ("en", "ikp_login", "agent")
    ]
