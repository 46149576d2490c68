"""The masking policy per audience (common/pii.py): what of a PESEL, an e-mail and a phone number
logs, stored analytics, the staff view and the person's own record keep."""

import logging

from common.logs import PiiMaskingFilter
from common.pii import email_for_record, for_analytics, for_logs, pesel_for_record, pesel_for_staff

PESEL = "85070312345"
EMAIL = "olena.kovalenko@example.org"
TEXT = f"PESEL {PESEL}, e-mail {EMAIL}, phone +48 600 700 800 or 600-700-800"
NOTHING_LEFT = "PESEL <pesel>, e-mail <email>, phone <phone> or <phone>"


def test_logs_keep_only_the_kind_of_each_value() -> None:
    assert for_logs(TEXT) == NOTHING_LEFT
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "said %s", (TEXT,), None)
    PiiMaskingFilter().filter(record)
    assert record.getMessage() == f"said {NOTHING_LEFT}"


def test_stored_analytics_keep_only_the_kind_of_each_value() -> None:
    assert for_analytics(TEXT) == NOTHING_LEFT
    assert for_analytics("no personal data, 3 steps") == "no personal data, 3 steps"


def test_staff_see_the_last_four_digits_of_a_pesel_until_they_reveal_it() -> None:
    assert pesel_for_staff(PESEL) == "•••••••2345"


def test_the_persons_own_record_keeps_two_digits_and_the_first_letter() -> None:
    assert pesel_for_record(PESEL) == "•••••••••45"
    assert email_for_record(EMAIL) == "o•••@example.org"
