"""APP_ENV=production in the channel service and the action server (the backend's:
tests/backend/test_production_guard.py), and the action servers' own key for sealed slots."""

import pytest

from actions import check_environment
from actions.sealing import seal, unseal
from channels.config import Settings as ChannelSettings
from common.environment import DEV_SERVICE_TOKEN, ProductionRefused, app_env


def test_an_unknown_app_env_is_refused_not_read_as_development() -> None:
    assert app_env({}) == "development"
    assert app_env({"APP_ENV": " Production "}) == "production"
    with pytest.raises(ProductionRefused, match="APP_ENV='prod'"):
        app_env({"APP_ENV": "prod"})


def test_the_channel_service_refuses_the_development_token_in_production() -> None:
    with pytest.raises(ProductionRefused, match="channel service .* BACKEND_SERVICE_TOKEN"):
        ChannelSettings(app_env="production", backend_service_token=DEV_SERVICE_TOKEN)
    assert ChannelSettings(app_env="production", backend_service_token="real").app_env == "production"
    assert ChannelSettings(app_env="development").backend_service_token == DEV_SERVICE_TOKEN


def test_the_action_server_refuses_each_development_secret_in_production() -> None:
    real = {"APP_ENV": "production", "BACKEND_SERVICE_TOKEN": "real", "SLOT_SEAL_KEY": "real-seal"}
    check_environment(real)
    for name in ("BACKEND_SERVICE_TOKEN", "SLOT_SEAL_KEY"):
        missing = {key: value for key, value in real.items() if key != name}
        with pytest.raises(ProductionRefused, match=f"action server .*: {name} is unset"):
            check_environment(missing)
    check_environment({})  # development: the defaults do


def test_sealed_slots_have_their_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOT_SEAL_KEY", "key-one")
    sealed = seal("jan.kowalski@example.com")
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", "a-rotated-token")
    assert unseal(sealed) == "jan.kowalski@example.com"  # rotating the service token changes nothing
    monkeypatch.setenv("SLOT_SEAL_KEY", "key-two")
    assert unseal(sealed) is None  # only the key that sealed it opens it
