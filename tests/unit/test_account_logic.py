"""The account forms' pure parts: what a value must look like, and how a record is told."""

import datetime as dt

import pytest

from actions.report import status_report
from actions.validation import (
    Invalid,
    clean_code,
    clean_email,
    clean_pesel,
    clean_username,
)

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize("typed", ["85070312345", "850 703 123 45", "8507-0312-345", " 85070312345 "])
def test_a_valid_pesel_is_accepted_however_it_is_spaced(typed):
    assert clean_pesel(typed, TODAY) == "85070312345"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "utter_invalid_pesel_format"),
        ("8507031234", "utter_invalid_pesel_format"),  # 10 digits
        ("850703123456", "utter_invalid_pesel_format"),  # 12 digits
        ("8507031234a", "utter_invalid_pesel_format"),
        ("мій песель", "utter_invalid_pesel_format"),
        ("85070312346", "utter_invalid_pesel_checksum"),
        ("85130312344", "utter_invalid_pesel_date"),  # month 13, valid check digit
        ("85023012346", "utter_invalid_pesel_date"),  # 30 February
        ("26322212343", "utter_invalid_pesel_date"),  # born 22 Dec 2026: in the future
    ],
)
def test_an_invalid_pesel_is_refused_with_its_reason(typed, reason):
    with pytest.raises(Invalid) as refused:
        clean_pesel(typed, TODAY)
    assert refused.value.response == reason


def test_emails_codes_and_usernames():
    assert clean_email(" Olena.K@Example.org ") == "Olena.K@example.org"
    assert clean_code("482 913") == "482913"
    assert clean_username("olena_k85") == "olena_k85"
    for check, value, reason in [
        (clean_email, "olena.example.org", "utter_invalid_email"),
        (clean_email, "olena@", "utter_invalid_email"),
        (clean_code, "48291", "utter_invalid_code_format"),
        (clean_code, "code 482913", "utter_invalid_code_format"),
        (clean_username, "o k", "utter_invalid_username"),
        (clean_username, "x" * 65, "utter_invalid_username"),
    ]:
        with pytest.raises(Invalid) as refused:
            check(value)
        assert refused.value.response == reason, value


def record(state="active", expires_on="2028-05-01", contacts=True, ukr="active"):
    return {
        "pesel_assigned_on": "2022-03-20",
        "ukr_status": ukr,
        "trusted_profile": {"state": state, "expires_on": expires_on},
        "ikp_contact_details_set": contacts,
    }


def test_a_report_lists_each_part_of_the_record_and_one_next_step():
    report = status_report(record(expires_on="2027-01-10", contacts=False), TODAY)
    assert report.lines == [
        ("utter_status_intro", {}),
        ("utter_status_pesel", {"date": "20.03.2022"}),
        ("utter_status_ukr_active", {}),
        ("utter_status_profile_expiring", {"date": "10.01.2027"}),
        ("utter_status_ikp_contacts_missing", {}),
        ("utter_status_next_extend_profile", {}),
    ]
    assert report.next_intents == ["get_trusted_profile"]


@pytest.mark.parametrize(
    ("person", "profile_line", "next_step", "next_intents"),
    [
        (record(), "utter_status_profile_active", "utter_status_next_all_done", []),
        (
            record(contacts=False),
            "utter_status_profile_active",
            "utter_status_next_ikp_contacts",
            ["ikp_login"],
        ),
        (
            record("expired", "2026-08-01"),
            "utter_status_profile_expired",
            "utter_status_next_new_profile",
            ["get_trusted_profile"],
        ),
        (
            record("none", None),
            "utter_status_profile_none",
            "utter_status_next_new_profile",
            ["get_trusted_profile"],
        ),
        (
            record("pending_confirmation", None),
            "utter_status_profile_pending_confirmation",
            "utter_status_next_confirm_profile",
            ["get_trusted_profile"],
        ),
        (record(ukr="lost"), "utter_status_profile_active", "utter_status_next_ukr", []),
    ],
)
def test_the_most_urgent_next_step_comes_first(person, profile_line, next_step, next_intents):
    report = status_report(person, TODAY)
    names = [name for name, _ in report.lines]
    assert profile_line in names
    assert names[-1] == next_step
    assert report.next_intents == next_intents


def test_a_profile_expiring_in_more_than_sixty_days_is_only_active():
    report = status_report(record(expires_on="2027-01-22"), TODAY)  # 61 days away
    assert ("utter_status_profile_active", {"date": "22.01.2027"}) in report.lines
