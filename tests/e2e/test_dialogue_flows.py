"""Conversations over HTTP with the real Rasa server and action server, in each language."""

import httpx
import pytest

MESSAGES = {
    "uk": {
        "pesel": "підкажіть, як отримати номер песель",
        "faq": "скільки коштує користування ikp?",
        "stuck": "не виходить",
        "switch": "пиши польською",
    },
    "pl": {
        "pesel": "jak mogę dostać numer PESEL?",
        "faq": "czy konto pacjenta jest płatne?",
        "stuck": "nie działa mi to",
        "switch": "napisz po angielsku",
    },
    "en": {
        "pesel": "how can I get a PESEL number?",
        "faq": "do I have to pay for the patient account?",
        "stuck": "it doesn't work",
        "switch": "please answer in Russian",
    },
    "ru": {
        "pesel": "как получить номер песель?",
        "faq": "сколько стоит пользоваться ikp?",
        "stuck": "не получается",
        "switch": "пиши на украинском",
    },
}
SWITCH_TARGET = {"uk": "pl", "pl": "en", "en": "ru", "ru": "uk"}


@pytest.mark.parametrize("language", ["uk", "pl", "en", "ru"])
def test_a_pesel_walkthrough_in_each_language(conversation, responses, language):
    chat = conversation(language)
    said = MESSAGES[language]
    chat.expect(said["pesel"], "utter_get_pesel_step_1", language=language)
    chat.expect("/affirm", "utter_get_pesel_step_2", language=language)
    chat.expect(said["stuck"], "utter_get_pesel_stuck_2", language=language)
    chat.expect("/affirm", "utter_get_pesel_step_2", language=language)
    chat.expect(said["faq"], "utter_faq/ikp_cost", "utter_offer_continue", language=language)
    chat.expect("/affirm", "utter_get_pesel_step_2", language=language)
    steps = sum(1 for name in responses if name.startswith("utter_get_pesel_step_"))
    for step in range(3, steps + 1):
        chat.expect("/affirm", f"utter_get_pesel_step_{step}", language=language)
    # the guide's end, then "did this help?" (once for this topic)
    messages = chat.expect("/affirm", "utter_get_pesel_done", "utter_ask_feedback", language=language)
    assert "/get_trusted_profile" in [b["payload"] for b in messages[0]["buttons"]]
    assert [b["payload"] for b in messages[-1]["buttons"]] == [
        '/feedback{"helpful":"yes"}',
        '/feedback{"helpful":"no"}',
    ]


@pytest.mark.parametrize("language", ["uk", "pl", "en", "ru"])
def test_an_explicit_language_switch(conversation, language):
    chat = conversation(language)
    target = SWITCH_TARGET[language]
    chat.expect(MESSAGES[language]["switch"], "utter_language_switched", language=target)
    # short messages keep the conversation's new language
    chat.expect("ok", "utter_menu", language=target)


def test_the_channel_hint_sets_the_first_language_and_short_messages_keep_it(conversation):
    chat = conversation("pl")
    chat.expect("/greet", "utter_greet", language="pl")
    chat.expect("ok", "utter_menu", language="pl")


def test_the_reply_follows_the_language_of_a_clear_message(conversation):
    chat = conversation("uk")
    chat.expect(
        "I forgot my trusted profile password, what should I do?",
        "utter_forgot_password_step_1",
        language="en",
    )


def test_forgot_username_inside_a_password_reset_then_back(conversation, responses):
    chat = conversation("en")
    chat.expect("/forgot_password", "utter_forgot_password_step_1", language="en")
    chat.expect("/affirm", "utter_forgot_password_step_2", language="en")
    chat.expect("/deny", "utter_forgot_password_stuck_2", language="en")
    chat.expect("/forgot_username", "utter_forgot_username_step_1", language="en")
    steps = sum(1 for name in responses if name.startswith("utter_forgot_username_step_"))
    for step in range(2, steps + 1):
        chat.expect("/affirm", f"utter_forgot_username_step_{step}", language="en")
    chat.expect("/affirm", "utter_forgot_username_done", "utter_forgot_password_resume", language="en")
    chat.expect("/forgot_password", "utter_forgot_password_step_2", language="en")


def test_a_greeting_offers_the_menu_and_a_language_choice(conversation):
    chat = conversation("ru")
    [greeting] = chat.expect("/greet", "utter_greet", language="ru")
    payloads = [b["payload"] for b in greeting["buttons"]]
    assert {
        "/get_pesel",
        "/get_trusted_profile",
        "/ikp_login",
        "/forgot_username",
        "/forgot_password",
    } <= set(payloads)
    assert "/switch_language" in payloads
    [choice] = chat.expect("/switch_language", "utter_choose_language", language="ru")
    assert len(choice["buttons"]) == 4
    chat.expect(choice["buttons"][1]["payload"], "utter_language_switched", language="pl")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("привіт", "greet"),
        ("jak założyć profil zaufany", "get_trusted_profile"),
        ("I forgot my username", "forgot_username"),
        ("забыл пароль от профиля", "forgot_password"),
        ("хочу поговорити з людиною", "human_handoff"),
        ("what is IKP?", "faq/what_is_ikp"),
        ("czy IKP jest darmowe", "faq/ikp_cost"),
    ],
)
def test_model_parse_produces_the_contract_intent_names(stack, text, intent):
    parse = httpx.post(f"{stack.ports.rasa_url}/model/parse", json={"text": text}, timeout=30).json()
    name = parse["intent"].get("full_retrieval_intent_name") or parse["intent"]["name"]
    assert name == intent


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("my login is anna.k_90", {("username", "anna.k_90")}),
        ("мій логін: oksana_m92", {("username", "oksana_m92")}),
        ("mój PESEL 90010112345", {("pesel", "90010112345")}),
        ("пошта olena.k@gmail.com", {("email", "olena.k@gmail.com")}),
        # Shaped like a username (letters, dots), but an address: no entity.
        ("pacjent.gov.pl nie działa", set()),
    ],
)
def test_model_parse_extracts_the_contract_entities(stack, text, entities):
    parse = httpx.post(f"{stack.ports.rasa_url}/model/parse", json={"text": text}, timeout=30).json()
    found = {(e["entity"], e["value"]) for e in parse["entities"] if e["entity"] != "language"}
    assert found == entities


def test_the_conversation_survives_empty_and_huge_messages(conversation):
    chat = conversation("en")
    # A greeting after each, so that each bad message starts the fallback afresh.
    for text in ["   ", "x" * 20_000, "\u0000\u0001", "<script>alert(1)</script>"]:
        assert chat.say(text), repr(text[:20])
        chat.expect("/greet", "utter_greet", language="en")


def test_two_unreadable_messages_in_a_row_offer_a_person_and_the_bot_goes_on(conversation):
    chat = conversation("en")
    chat.expect("/nlu_fallback", "utter_ask_rephrase", language="en")
    [offer] = chat.expect("/nlu_fallback", "utter_default", language="en")
    assert [b["payload"] for b in offer["buttons"]] == ["/human_handoff", "/greet"]
    chat.expect("how do I get a PESEL number?", "utter_get_pesel_step_1", language="en")
