"""One list of languages (common/languages.py), read by every place that lists them."""

import json
import re
from typing import get_args

from backend.kinds import Language as BackendLanguage
from channels.console.routes import _console_script
from channels.web.routes import asset
from common.languages import CONSOLE_LANGUAGES, DEFAULT_LANGUAGE, LANGUAGES, NAMES, language_or_default


def test_the_list_its_type_and_names_agree() -> None:
    assert get_args(BackendLanguage) == LANGUAGES
    assert set(NAMES) == set(LANGUAGES)
    assert DEFAULT_LANGUAGE in LANGUAGES
    assert set(CONSOLE_LANGUAGES) <= set(LANGUAGES)


def test_language_or_default_reads_codes_and_locales() -> None:
    assert language_or_default("PL-pl") == "pl"
    assert language_or_default("en_GB") == "en"
    assert language_or_default("de") == DEFAULT_LANGUAGE
    assert language_or_default(None, default="") == ""


def test_the_widget_gets_the_languages_default_first() -> None:
    script = asset("widget.js").body.decode()
    [injected] = re.findall(r"var LANGUAGES = (\[[^\]]*\]);", script)
    languages = json.loads(injected)
    assert languages[0] == DEFAULT_LANGUAGE
    assert sorted(languages) == sorted(LANGUAGES)
    assert "/*LANGUAGES*/" not in script


def test_the_console_gets_the_staff_languages() -> None:
    script = _console_script().decode()
    [injected] = re.findall(r"const LANGUAGES = (\[[^\]]*\]);", script)
    assert json.loads(injected) == list(CONSOLE_LANGUAGES)
