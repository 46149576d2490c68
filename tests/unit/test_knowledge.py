import copy

import pytest
import yaml

from knowledge import build

LANGUAGES = build.LANGUAGES


@pytest.fixture(scope="module")
def knowledge() -> build.Knowledge:
    return build.load()


def test_knowledge_has_no_problems(knowledge):
    assert knowledge.problems == []


def test_generated_files_are_current():
    assert build.main(["--check"]) == 0


def test_every_faq_of_the_intent_contract_exists(knowledge):
    contract = {
        "what_is_ikp",
        "ikp_features",
        "ikp_cost",
        "what_is_pesel",
        "what_is_trusted_profile",
        "mojeikp_app",
        "ikp_language",
        "contact_details",
        "visit_history",
        "helpdesk_location",
        "children_account",
        "pz_validity",
        # added 2026-12
        "health_insurance",
        "status_2026",
        "travel_abroad",
        "diia_mobywatel",
        "cukr_card",
        "office_visit",
        "family_doctor",
        "prescription_code",
        "phone_changed",
        "find_my_pesel",
    }
    assert set(knowledge.faq) == contract


def test_every_task_intent_starts_a_guide(knowledge):
    starts = build.intent_to_guide(knowledge.guides)
    assert starts == {
        "get_pesel": "get_pesel",
        "get_trusted_profile": "get_trusted_profile",
        "ikp_login": "ikp_login",
        "forgot_username": "forgot_username",
        "forgot_password": "forgot_password",
    }


def test_a_missing_language_is_reported(knowledge):
    broken = copy.deepcopy(knowledge)
    del broken.faq["ikp_cost"]["answer"]["ru"]
    assert "faq/ikp_cost.yml answer: the ru text is missing" in build.validate(broken)


def test_a_missing_source_is_reported(knowledge):
    broken = copy.deepcopy(knowledge)
    broken.guides["get_pesel"]["sources"] = []
    broken.faq["ikp_cost"]["sources"] = ["https://example.gov.pl/not-in-the-registry"]
    problems = build.validate(broken)
    assert "guides/get_pesel.yml: needs at least one source URL" in problems
    assert any(p.startswith("faq/ikp_cost.yml: source https://example.gov.pl/") for p in problems)


def _registry_problems(tmp_path, **entry):
    source = {"url": "https://www.gov.pl/web/gov/zaloz-profil-zaufany", "publisher": "gov.pl"}
    source |= {"kind": "official", "as_of": "2026-03", "basis": "test"} | entry
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump([{k: v for k, v in source.items() if v is not None}]), encoding="utf-8")
    return build.load_sources(path)[1]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"as_of": None}, "as_of Field required"),
        ({"as_of": "recently"}, "needs the date of the source"),
        ({"url": "http://www.gov.pl/web/gov/x"}, "must be https"),
        ({"url": "https://pacjent.gov.pl./krok-4"}, "trailing dot"),
        ({"url": "https://www.wroclaw.pl/"}, "is a homepage"),
        ({"kind": "hobby"}, "kind Input should be"),
        ({"verified": {"date": "2026-12-01"}}, "verified.by Field required"),
    ],
)
def test_a_source_without_a_date_or_a_proper_page_is_refused(tmp_path, entry, problem):
    problems = _registry_problems(tmp_path, **entry)
    assert any(problem in p for p in problems), problems


def test_a_message_over_600_characters_is_refused(knowledge):
    broken = copy.deepcopy(knowledge)
    broken.faq["ikp_cost"]["answer"]["pl"] = "Słowo " * 100
    problems = build.length_problems(broken)
    assert any(p.startswith("utter_faq/ikp_cost: ") and "more than 600" in p for p in problems), problems


def test_a_long_channel_notice_is_refused_too(knowledge):
    broken = copy.deepcopy(knowledge)
    broken.channel_texts["notices"]["too_fast"]["en"] = "Wait. " * 120
    assert any(p.startswith("channels.yml notices too_fast") for p in build.length_problems(broken))


def test_every_message_sent_fits_600_characters(knowledge):
    assert build.length_problems(knowledge) == []


def test_a_branch_to_an_unknown_guide_is_reported(knowledge):
    broken = copy.deepcopy(knowledge)
    broken.guides["forgot_password"]["steps"][0]["branch"] = "no_such_guide"
    assert any("'no_such_guide' is not a guide" in p for p in build.validate(broken))


def test_stale_output_is_detected(tmp_path, monkeypatch):
    stale = tmp_path / "generated_responses.yml"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(build, "RESPONSES_FILE", stale)
    assert build.main(["--check"]) == 1
    assert stale.read_text(encoding="utf-8") == "# old\n"


def test_every_response_has_one_variation_per_language(knowledge):
    responses = build.Renderer(knowledge).render()
    for name, variations in responses.items():
        languages = [v["condition"][0]["value"] for v in variations]
        assert languages == list(LANGUAGES), name


def test_guide_steps_carry_numbered_header_and_navigation_buttons(knowledge):
    responses = build.Renderer(knowledge).render()
    total = len(knowledge.guides["forgot_password"]["steps"])
    first = responses["utter_forgot_password_step_1"][2]  # en
    assert first["text"].startswith(f"Step 1 of {total}")
    assert [b["payload"] for b in first["buttons"]] == ["/affirm", "/deny", "/greet"]
    stuck = responses["utter_forgot_password_stuck_2"][0]
    assert "/forgot_username" in [b["payload"] for b in stuck["buttons"]]


def test_answers_end_with_one_sources_line_of_at_most_two_links_official_first(knowledge):
    responses = build.Renderer(knowledge).render()
    en = responses["utter_get_pesel_done"][2]["text"]
    header, *links = en.split("\n\n")[-1].split("\n")
    assert header.startswith("Sources (as of ") or header.startswith("Source (as of ")
    assert 1 <= len(links) <= 2 and all(link.startswith("https://") for link in links)
    assert links[0].startswith("https://www.gov.pl/")
    pl = responses["utter_faq/ikp_cost"][1]["text"]
    assert "Źródła (stan na " in pl or "Źródło (stan na " in pl


def test_the_shown_date_is_the_sources_not_a_check(knowledge):
    urls = knowledge.faq["ikp_cost"]["sources"]
    newest = max((knowledge.sources[u] for u in urls), key=lambda s: s.sort_date)
    en = build.Renderer(knowledge).render()["utter_faq/ikp_cost"][2]["text"]
    assert "checked" not in en
    assert f"(as of {newest.shown_date('en')}):" in en and newest.url in en


def test_rules_outside_guides_and_faq_carry_sources_too(knowledge):
    for name in ("utter_status_next_ukr", "utter_check_status_manual", "utter_status_next_extend_profile"):
        assert knowledge.responses[name]["sources"], name
        text = build.Renderer(knowledge).render()[name][0]["text"]
        assert "https://" in text and "станом на" in text, name


@pytest.mark.parametrize(
    ("language", "text", "found"),
    [
        ("uk", "Увійдіть у свій акаунт на pz.gov.pl", "акаунт"),
        ("ru", "Откройте Интернет-аккаунт пациента", "Интернет-аккаунт пациента"),
        ("uk", "Натисніть «Zaloguj się» (Увійти) і введіть ім'я користувача", "м'я"),
        ("pl", "Kliknij „Dalej” — i gotowe", " — "),
        ("en", "Tap «Dalej» (Next)", "«"),
        ("en", 'Tap "Dalej" (Next)', '"'),
        ("ru", 'Нажмите "Dalej" (Далее)', '"'),
    ],
)
def test_a_forbidden_variant_or_typography_is_reported(knowledge, language, text, found):
    broken = copy.deepcopy(knowledge)
    broken.faq["ikp_cost"]["answer"][language] = text
    problems = build.glossary_problems(broken)
    assert any(p.startswith(f"faq/ikp_cost.yml answer ({language}): {found!r}") for p in problems), problems


def test_the_channel_services_texts_are_checked_too(knowledge):
    broken = copy.deepcopy(knowledge)
    del broken.channel_texts["notices"]["text_only"]["pl"]
    broken.channel_texts["widget"]["title"]["uk"] = "Ваш акаунт"
    assert "channels.yml notices text_only: the pl text is missing" in build.validate(broken)
    assert any(p.startswith("channels.yml widget title (uk)") for p in build.glossary_problems(broken))


def test_a_steps_faq_button_must_be_an_faq_answer(knowledge):
    broken = copy.deepcopy(knowledge)
    broken.guides["get_pesel"]["steps"][0]["faq"] = ["no_such_answer"]
    assert any("faq 'no_such_answer' is not an FAQ answer" in p for p in build.validate(broken))


def test_the_stuck_help_offers_its_faq_answers(knowledge):
    responses = build.Renderer(knowledge).render()
    [variation] = [
        v for v in responses["utter_forgot_password_stuck_5"] if v["condition"][0]["value"] == "en"
    ]
    assert {
        "title": knowledge.faq["phone_changed"]["title"]["en"],
        "payload": "/faq/phone_changed",
    } in variation["buttons"]


def test_the_consoles_texts_are_checked_too(knowledge):
    broken = copy.deepcopy(knowledge)
    del broken.console_texts["texts"]["queue_title"]["en"]
    broken.console_texts["errors"]["network"]["pl"] = "Serwer — nie odpowiada"
    assert "console.yml texts queue_title: the en text is missing" in build.validate(broken)
    assert any(p.startswith("console.yml errors network (pl)") for p in build.glossary_problems(broken))


def test_the_console_is_served_with_its_texts():
    from channels.texts import console_texts

    texts = console_texts()
    assert set(texts) == set(build.CONSOLE_LANGUAGES)
    assert texts["en"]["errors"]["network"] and texts["pl"]["title"] == "Konsola pomocy"


def test_the_models_report_every_problem_of_an_item_at_its_place(knowledge):
    broken = copy.deepcopy(knowledge)
    answer = broken.faq["ikp_cost"]["answer"]
    del answer["ru"], answer["en"]
    answer["de"] = "Antwort"
    broken.guides["get_pesel"]["steps"][1]["branch"] = "no_such_guide"
    [name] = [n for n, r in broken.responses.items() if r.get("buttons")][:1]
    broken.responses[name]["buttons"][0]["label"] = "no_such_label"
    problems = build.validate(broken)
    assert {
        "faq/ikp_cost.yml answer: the en text is missing",
        "faq/ikp_cost.yml answer: the ru text is missing",
        "faq/ikp_cost.yml answer: unknown language 'de'",
        "guides/get_pesel.yml step 2: branch 'no_such_guide' is not a guide",
        f"{name} button 1: unknown label 'no_such_label'",
    } <= set(problems), problems
