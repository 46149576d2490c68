"""What the bot says, as the tests expect it: bot/domain/generated_responses.yml, with the values
the stack fills in (the demo portal's name) in place."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from devstack.project import DEMO_PORTAL

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
RESPONSES_FILE = DOMAIN / "generated_responses.yml"


def domain_responses() -> dict[str, list[dict[str, Any]]]:
    """Every response of the bot's domain files, as the action server receives them (unfilled)."""
    responses: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        responses.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return responses


@cache
def bot_responses() -> dict[str, list[dict[str, Any]]]:
    """Every response's variations; `{portal}` filled in as the stack's action server does."""
    text = RESPONSES_FILE.read_text(encoding="utf-8")
    responses: dict[str, list[dict[str, Any]]] = yaml.safe_load(text)["responses"]
    for variations in responses.values():
        for variation in variations:
            if "text" in variation:
                variation["text"] = variation["text"].replace("{portal}", DEMO_PORTAL)
    return responses
