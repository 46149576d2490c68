"""A person's onboarding status as the API shows it."""

from datetime import date

from backend.models import Onboarding, Person
from backend.schemas import OnboardingStatus, TrustedProfile


def trusted_profile_state(onboarding: Onboarding, today: date) -> str:
    # An "active" profile whose expiry date has passed is expired, whether or not the record was updated.
    expires_on = onboarding.trusted_profile_expires_on
    if onboarding.trusted_profile_state == "active" and expires_on is not None and expires_on < today:
        return "expired"
    return onboarding.trusted_profile_state


def onboarding_status(person: Person, today: date) -> OnboardingStatus:
    onboarding = person.onboarding
    if onboarding is None:  # a person on file whose onboarding nobody has recorded yet
        return OnboardingStatus(
            first_name=person.first_name,
            pesel_assigned_on=None,
            ukr_status="none",
            trusted_profile=TrustedProfile(state="none", expires_on=None),
            ikp_contact_details_set=False,
        )
    return OnboardingStatus.model_validate(
        {
            "first_name": person.first_name,
            "pesel_assigned_on": onboarding.pesel_assigned_on,
            "ukr_status": onboarding.ukr_status,
            "trusted_profile": {
                "state": trusted_profile_state(onboarding, today),
                "expires_on": onboarding.trusted_profile_expires_on,
            },
            "ikp_contact_details_set": onboarding.ikp_contact_details_set,
        }
    )
