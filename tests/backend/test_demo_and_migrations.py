"""The demo data matches the contract's table and loads idempotently; the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api_helpers import bearer, staff_token
from backend.config import Settings
from backend.demo import PEOPLE, load
from backend.models import Account, Base, Onboarding, Person, StaffUser
from backend.security import verify_password

# The contract's table: PESEL -> (PESEL assigned, UKR, Trusted Profile, expires, IKP contacts, username).
CONTRACT = {
    "85070312345": ("2022-03-20", "active", "active", "2027-01-10", False, "olena_k85"),
    "04312609878": ("2022-04-02", "active", "expired", "2026-08-01", True, "andrii.melnyk"),
    "78112304563": ("2023-01-11", "active", "pending_confirmation", None, False, "iryna_sh"),
    "90021501237": ("2024-06-05", "active", "none", None, False, None),
    "01250812344": ("2022-05-18", "active", "active", "2028-05-01", True, "kate_lys"),
    "44051401458": ("2022-03-28", "lost", "expired", "2025-03-28", False, "mykola_h"),
}


def counts(db: Session) -> list[int]:
    return [
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Person, Onboarding, Account, StaffUser)
    ]


def test_loading_twice_changes_nothing(db: Session, settings: Settings) -> None:
    load(db, settings)
    first = counts(db)
    load(db, settings)
    assert counts(db) == first == [6, 6, 5, 2]


def test_staff_passwords_come_from_the_settings(db: Session, settings: Settings) -> None:
    load(db, settings.model_copy(update={"staff_agent_password": "changed-password"}))
    agent = db.scalar(select(StaffUser).where(StaffUser.username == "agent"))
    assert agent is not None and agent.role == "agent"
    assert verify_password(agent.password_hash, "changed-password")
    assert not verify_password(agent.password_hash, "agent-demo-pass")


def test_the_demo_people_are_the_contracts(client: TestClient, db: Session, settings: Settings) -> None:
    load(db, settings)
    token = staff_token(client)
    usernames = dict(
        db.execute(select(Person.pesel, Account.username).join(Account, Account.person_id == Person.id)).all()
    )
    assert {person.pesel for person in PEOPLE} == set(CONTRACT)
    for pesel, (assigned, ukr, state, expires, ikp, username) in CONTRACT.items():
        found = client.post("/v1/staff/lookups", json={"pesel": pesel}, headers=bearer(token)).json()
        onboarding = found["onboarding"]
        assert (onboarding["pesel_assigned_on"], onboarding["ukr_status"]) == (assigned, ukr)
        assert onboarding["trusted_profile"] == {"state": state, "expires_on": expires}
        assert onboarding["ikp_contact_details_set"] is ikp
        assert usernames.get(pesel) == username


def test_the_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
