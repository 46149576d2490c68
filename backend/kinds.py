"""The closed sets of values the backend stores and answers with, defined once for the database
models (backend/models.py, plain strings in the database) and the API's schemas (backend/schemas.py)."""

from typing import Literal

from common.languages import Language as Language  # the bot's languages, defined once

TicketStatus = Literal["open", "assigned", "closed"]
Author = Literal["user", "staff", "bot"]
Role = Literal["agent", "admin"]
NotificationChannel = Literal["email", "sms"]
NotificationStatus = Literal["pending", "sent", "failed"]
