"""Custom actions of the onboarding bot (rasa-sdk): walkthroughs, fallback, session start.

Importing the package masks personal data in every log handler the action server has set up
(rasa-sdk's debug log prints slot values and the latest message)."""

from common.logs import mask_every_handler

mask_every_handler()
