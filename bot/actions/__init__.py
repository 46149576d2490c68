"""Custom actions of the onboarding bot (rasa-sdk): walkthroughs, fallback, session start.

Importing the package (the action server's start) masks personal data in every log handler the
action server has set up (rasa-sdk's debug log prints slot values and the latest message), and with
APP_ENV=production refuses the development secrets (common/environment.py)."""

import os
from collections.abc import Mapping

from common.environment import app_env, dev_secrets, or_exit, refuse_in_production
from common.logs import mask_every_handler


def check_environment(environ: Mapping[str, str] = os.environ) -> None:
    """Fails the action server's start in production while a secret has its development value."""
    secrets = {name: environ.get(name) for name in ("BACKEND_SERVICE_TOKEN", "SLOT_SEAL_KEY")}
    refuse_in_production(app_env(environ), "The action server", dev_secrets(secrets))


or_exit(check_environment)
mask_every_handler()
