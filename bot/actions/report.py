"""A person's onboarding record, told as lines of the domain's responses and a next step.

Pure logic over the backend's answer (GET /v1/me/onboarding); status.py turns it into a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

EXPIRY_WARNING = dt.timedelta(days=60)


@dataclass
class Report:
    lines: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    next_intents: list[str] = field(default_factory=list)

    def add(self, response: str, **values: str) -> None:
        self.lines.append((response, values))


def formatted(day: str | None) -> str:
    return dt.date.fromisoformat(day).strftime("%d.%m.%Y") if day else ""


def status_report(record: dict[str, Any], today: dt.date) -> Report:
    report = Report()
    report.add("utter_status_intro")
    if record.get("pesel_assigned_on"):
        report.add("utter_status_pesel", date=formatted(record["pesel_assigned_on"]))
    if record.get("ukr_status") in ("active", "lost"):
        report.add(f"utter_status_ukr_{record['ukr_status']}")
    profile = record.get("trusted_profile") or {}
    state, expires_on = profile.get("state", "none"), profile.get("expires_on")
    if state == "active" and expires_on and dt.date.fromisoformat(expires_on) - today <= EXPIRY_WARNING:
        state = "expiring"
    report.add(f"utter_status_profile_{state}", date=formatted(expires_on))
    contacts = "set" if record.get("ikp_contact_details_set") else "missing"
    report.add(f"utter_status_ikp_contacts_{contacts}")
    _add_next_step(report, record.get("ukr_status"), state, contacts)
    return report


def _add_next_step(report: Report, ukr_status: str | None, profile: str, contacts: str) -> None:
    """The one thing to do first, most urgent first."""
    if ukr_status == "lost":
        report.add("utter_status_next_ukr")
    elif profile in ("none", "expired"):
        report.add("utter_status_next_new_profile")
        report.next_intents.append("get_trusted_profile")
    elif profile == "pending_confirmation":
        report.add("utter_status_next_confirm_profile")
        report.next_intents.append("get_trusted_profile")
    elif profile == "expiring":
        report.add("utter_status_next_extend_profile")
        report.next_intents.append("get_trusted_profile")
    elif contacts == "missing":
        report.add("utter_status_next_ikp_contacts")
        report.next_intents.append("ikp_login")
    else:
        report.add("utter_status_next_all_done")
