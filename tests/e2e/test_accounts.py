"""The account forms end to end: Rasa, the action server and the backend with its demo data.

The one-time code is read where a person would find it: the backend's development mailbox.
"""

import json

import httpx
import pytest

from common.dev import REPO_ROOT
from devstack.project import RASA_TOKEN
from scripts import mailbox

GUIDES = REPO_ROOT / "bot" / "actions" / "guides.json"

CHECK_STATUS = {
    "uk": "перевірте, будь ласка, мій статус",
    "pl": "sprawdź mój status",
    "en": "can you check my status?",
    "ru": "проверьте мой статус",
}
# A demo person (backend/README.md) per language, with the status lines their record gives.
PEOPLE = {
    "uk": (
        "85070312345",
        "olena.kovalenko@example.org",
        [
            ("utter_status_pesel", "20.03.2022"),
            ("utter_status_ukr_active", ""),
            ("utter_status_profile_expiring", "10.01.2027"),
            ("utter_status_ikp_contacts_missing", ""),
            ("utter_status_next_extend_profile", ""),
        ],
    ),
    "pl": (
        "04312609878",
        "andrii.melnyk@example.org",
        [
            ("utter_status_pesel", "02.04.2022"),
            ("utter_status_ukr_active", ""),
            ("utter_status_profile_expired", "01.08.2026"),
            ("utter_status_ikp_contacts_set", ""),
            ("utter_status_next_new_profile", ""),
        ],
    ),
    "en": (
        "78112304563",
        "iryna.shevchenko@example.org",
        [
            ("utter_status_pesel", "11.01.2023"),
            ("utter_status_ukr_active", ""),
            ("utter_status_profile_pending_confirmation", ""),
            ("utter_status_ikp_contacts_missing", ""),
            ("utter_status_next_confirm_profile", ""),
        ],
    ),
    "ru": (
        "01250812344",
        "kateryna.lysenko@example.org",
        [
            ("utter_status_pesel", "18.05.2022"),
            ("utter_status_ukr_active", ""),
            ("utter_status_profile_active", "01.05.2028"),
            ("utter_status_ikp_contacts_set", ""),
            ("utter_status_next_all_done", ""),
        ],
    ),
}
NOBODY = "65063007894"  # a valid PESEL of nobody in the demo data


def tracker_slots(stack, sender: str) -> dict:
    url = f"{stack.ports.rasa_url}/conversations/{sender}/tracker"
    return httpx.get(url, params={"token": RASA_TOKEN}).json()["slots"]


def seen_ids(stack, address: str) -> set[int]:
    return {m["id"] for m in mailbox.messages(stack.ports.backend_url, address)}


def status_text(chat, language: str, lines: list[tuple[str, str]]) -> str:
    texts = [chat.text_of("utter_status_intro", language)]
    texts += [chat.text_of(name, language).format(date=date) for name, date in lines]
    return "\n".join(texts)


@pytest.mark.parametrize("language", ["uk", "pl", "en", "ru"])
def test_a_person_checks_their_status_with_a_code_from_their_mailbox(stack, conversation, language):
    pesel, address, lines = PEOPLE[language]
    chat = conversation(language)
    seen = seen_ids(stack, address)
    chat.expect(CHECK_STATUS[language], "utter_ask_check_status_form_pesel", language=language)
    chat.expect(pesel, "utter_ask_verification_code", language=language)
    code = mailbox.new_code(stack.ports.backend_url, address, seen)
    [answer] = chat.say(code)
    assert answer["text"] == status_text(chat, language, lines)
    assert answer["buttons"][-1]["payload"] == "/greet"


def test_a_wrong_pesel_is_asked_again_with_its_reason_then_a_person_is_offered(conversation):
    chat = conversation("uk")
    chat.expect(CHECK_STATUS["uk"], "utter_ask_check_status_form_pesel", language="uk")
    chat.expect(
        "85070312346", "utter_invalid_pesel_checksum", "utter_ask_check_status_form_pesel", language="uk"
    )
    chat.expect(
        "8507031234", "utter_invalid_pesel_format", "utter_ask_check_status_form_pesel", language="uk"
    )
    [*_, last] = chat.expect("85130312344", "utter_too_many_tries", language="uk")
    assert "/human_handoff" in [b["payload"] for b in last["buttons"]]


def test_an_unknown_pesel_gets_the_same_answer_and_a_wrong_code_counts_down(conversation):
    chat = conversation("en")
    chat.expect(CHECK_STATUS["en"], "utter_ask_check_status_form_pesel", language="en")
    chat.expect(NOBODY, "utter_ask_verification_code", language="en")
    wrong = chat.text_of("utter_code_wrong", "en")
    asked = chat.text_of("utter_ask_verification_code", "en")
    for attempts_left in (2, 1):
        said = "\n\n".join(m["text"] for m in chat.say("000000"))
        assert said == f"{wrong.format(attempts_left=attempts_left)}\n\n{asked}"
    chat.expect("000000", "utter_code_locked", language="en")


def test_no_cancels_a_form_and_a_question_in_between_is_answered(conversation):
    chat = conversation("pl")
    chat.expect(CHECK_STATUS["pl"], "utter_ask_check_status_form_pesel", language="pl")
    chat.expect(
        "a co to w ogóle jest pesel?",
        "utter_faq/what_is_pesel",
        "utter_ask_check_status_form_pesel",
        language="pl",
    )
    chat.expect("nie", "utter_form_cancelled", language="pl")
    chat.expect("/affirm", "utter_menu", language="pl")  # no form left asking


def test_personal_data_does_not_stay_in_the_slots(stack, conversation):
    pesel, address, _ = PEOPLE["uk"]
    chat = conversation("uk")
    seen = seen_ids(stack, address)
    chat.expect(CHECK_STATUS["uk"], "utter_ask_check_status_form_pesel", language="uk")
    chat.expect(pesel, "utter_ask_verification_code", language="uk")
    slots = tracker_slots(stack, chat.sender)
    assert slots["pesel"] == "•••••••••45"
    chat.say(mailbox.new_code(stack.ports.backend_url, address, seen))
    slots = tracker_slots(stack, chat.sender)
    assert all(
        slots[name] is None for name in ("pesel", "verification_code", "verification_id", "onboarding")
    )


def finish_walkthrough(chat, guide: str, language: str) -> None:
    """From step 2 to the guide's last step (bot/actions/guides.json), then its offer."""
    steps = len(json.loads(GUIDES.read_text(encoding="utf-8"))["guides"][guide]["steps"])
    for step in range(2, steps + 1):
        chat.expect("/affirm", f"utter_{guide}_step_{step}", language=language)
    chat.expect("/affirm", f"utter_{guide}_done", f"utter_offer_{guide_offer(guide)}", language=language)


def guide_offer(guide: str) -> str:
    return {"forgot_username": "username_reminder_form", "forgot_password": "password_reset_form"}[guide]


@pytest.mark.parametrize(
    ("address", "gets_mail"), [("olena.kovalenko@example.org", True), ("nobody@example.org", False)]
)
def test_a_username_reminder_answers_alike_whether_or_not_the_account_exists(
    stack, conversation, address, gets_mail
):
    chat = conversation("ru")
    seen = seen_ids(stack, address)
    chat.expect("забыл имя пользователя", "utter_forgot_username_step_1", language="ru")
    finish_walkthrough(chat, "forgot_username", "ru")
    chat.expect("да", "utter_ask_email", language="ru")
    chat.expect("моя почта olena.kovalenko", "utter_invalid_email", "utter_ask_email", language="ru")
    chat.expect(address, "utter_recovery_requested", language="ru")
    # The worker delivers within a second or two; a reminder to nobody must not appear at all.
    arrived = mailbox.new_messages(stack.ports.backend_url, address, seen, timeout=20 if gets_mail else 5)
    if gets_mail:
        assert any("olena_k85" in message["body"] for message in arrived)
    else:
        assert arrived == []


def test_a_password_reset_is_requested_with_username_and_pesel(stack, conversation):
    chat = conversation("pl")
    seen = seen_ids(stack, "kateryna.lysenko@example.org")
    chat.expect("zapomniałam hasła", "utter_forgot_password_step_1", language="pl")
    finish_walkthrough(chat, "forgot_password", "pl")
    chat.expect("tak", "utter_ask_username", language="pl")
    chat.expect("kate_lys", "utter_ask_password_reset_form_pesel", language="pl")
    chat.expect("01250812344", "utter_recovery_requested", language="pl")
    assert mailbox.new_messages(stack.ports.backend_url, "kateryna.lysenko@example.org", seen)


def test_the_status_check_survives_the_backend_stopping_mid_conversation(stack, conversation):
    pesel, _, _ = PEOPLE["ru"]
    chat = conversation("ru")
    chat.expect(CHECK_STATUS["ru"], "utter_ask_check_status_form_pesel", language="ru")
    chat.expect(pesel, "utter_ask_verification_code", language="ru")
    stack.stop("backend")
    try:
        chat.expect("123456", "utter_account_service_unavailable", "utter_check_status_manual", language="ru")
        chat.expect(CHECK_STATUS["ru"], "utter_ask_check_status_form_pesel", language="ru")
        chat.expect(pesel, "utter_account_service_unavailable", "utter_check_status_manual", language="ru")
    finally:
        stack.start("backend")
    chat.expect(CHECK_STATUS["ru"], "utter_ask_check_status_form_pesel", language="ru")
    chat.expect(pesel, "utter_ask_verification_code", language="ru")


def test_no_personal_data_reaches_the_logs(stack):
    """After every conversation above: no PESEL, e-mail or phone of a demo person in any log."""
    logs = {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in stack.databases.logs.glob("*.log")
    }
    assert set(logs) >= {"backend.log", "actions.log", "rasa.log"}
    secrets = [pesel for pesel, _, _ in PEOPLE.values()] + [address for _, address, _ in PEOPLE.values()]
    secrets += [NOBODY, "+48600100001", "600100001", "nobody@example.org"]
    for name, text in logs.items():
        leaked = [secret for secret in secrets if secret in text]
        assert leaked == [], f"{name} contains {leaked}"
