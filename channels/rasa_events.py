"""The table Rasa 3.6's SQLTrackerStore writes (rasa/core/tracker_store.py, SQLEvent): the columns
this service reads (insights.py) and deletes by (tracker_deletion.py). Rasa owns the table."""

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
