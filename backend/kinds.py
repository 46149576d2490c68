"""The closed sets of values the backend stores and answers with, defined once for the database
models (backend/models.py, plain strings in the database) and the API's schemas (backend/schemas.py)."""

from typing import Literal

Language = Literal["uk", "pl", "en", "ru"]
TicketStatus = Literal["open", "assigned", "closed"]
Author = Literal["user", "staff", "bot"]
Role = Literal["agent", "admin"]
NotificationChannel = Literal["email", "sms"]
NotificationStatus = Literal["pending", "sent", "failed"]
