"""Demo data: fictional people in every onboarding state, and the two staff users (python -m backend.demo).

Idempotent: each run brings the same rows to the same values, nothing is duplicated.
"""

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.kinds import Role
from backend.migrate import upgrade_to_head
from backend.models import Account, Onboarding, Person, StaffUser
from backend.security import hash_password, verify_password
from common.db import make_engine, make_session_factory
from common.logs import configure_logging

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    pesel: str
    email: str
    phone: str
    pesel_assigned_on: date
    ukr_status: str
    trusted_profile_state: str
    trusted_profile_expires_on: date | None
    ikp_contact_details_set: bool
    username: str | None


PEOPLE = [
    DemoPerson("Olena", "Kovalenko", "85070312345", "olena.kovalenko@example.org", "+48600100001",
               date(2022, 3, 20), "active", "active", date(2027, 1, 10), False, "olena_k85"),
    DemoPerson("Andrii", "Melnyk", "04312609878", "andrii.melnyk@example.org", "+48600100002",
               date(2022, 4, 2), "active", "expired", date(2026, 8, 1), True, "andrii.melnyk"),
    DemoPerson("Iryna", "Shevchenko", "78112304563", "iryna.shevchenko@example.org", "+48600100003",
               date(2023, 1, 11), "active", "pending_confirmation", None, False, "iryna_sh"),
    DemoPerson("Taras", "Bondarenko", "90021501237", "taras.bondarenko@example.org", "+48600100004",
               date(2024, 6, 5), "active", "none", None, False, None),
    DemoPerson("Kateryna", "Lysenko", "01250812344", "kateryna.lysenko@example.org", "+48600100005",
               date(2022, 5, 18), "active", "active", date(2028, 5, 1), True, "kate_lys"),
    DemoPerson("Mykola", "Hnatiuk", "44051401458", "mykola.hnatiuk@example.org", "+48600100006",
               date(2022, 3, 28), "lost", "expired", date(2025, 3, 28), False, "mykola_h"),
]  # fmt: skip


def upsert_person(session: Session, demo: DemoPerson) -> None:
    person = session.scalar(select(Person).where(Person.pesel == demo.pesel))
    if person is None:
        person = Person(pesel=demo.pesel)
        session.add(person)
    person.first_name, person.last_name = demo.first_name, demo.last_name
    person.email, person.phone = demo.email, demo.phone
    if person.onboarding is None:
        person.onboarding = Onboarding()
    onboarding = person.onboarding
    onboarding.pesel_assigned_on = demo.pesel_assigned_on
    onboarding.ukr_status = demo.ukr_status
    onboarding.trusted_profile_state = demo.trusted_profile_state
    onboarding.trusted_profile_expires_on = demo.trusted_profile_expires_on
    onboarding.ikp_contact_details_set = demo.ikp_contact_details_set
    if demo.username is not None:
        session.flush()
        upsert_account(session, person, demo.username)


def upsert_account(session: Session, person: Person, username: str) -> None:
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        account = Account(username=username)
        session.add(account)
    account.person_id = person.id
    account.email = person.email or ""


def upsert_staff(session: Session, username: str, role: Role, password: str) -> None:
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    new = staff is None
    if staff is None:
        staff = StaffUser(username=username)
        session.add(staff)
    staff.role = role
    # Rehash only when the password changed: hashing is slow on purpose.
    if new or not verify_password(staff.password_hash, password):
        staff.password_hash = hash_password(password)


def load(session: Session, settings: Settings) -> None:
    for demo in PEOPLE:
        upsert_person(session, demo)
    upsert_staff(session, "admin", "admin", settings.staff_admin_password)
    upsert_staff(session, "agent", "agent", settings.staff_agent_password)
    session.commit()


def main() -> None:
    settings = Settings()
    configure_logging(settings.backend_log_level)
    engine = make_engine(settings.database_url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        load(session, settings)
    engine.dispose()
    logger.info("Demo data loaded: %d people, staff users admin and agent", len(PEOPLE))


if __name__ == "__main__":
    main()
