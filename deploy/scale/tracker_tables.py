"""Creates the tables of the tracker store named in an endpoints file, before the Rasa servers
start. Run with Rasa's Python in bot/, where Rasa finds the project's own tracker store module:
    cd bot && ../.venv-rasa/bin/python ../deploy/scale/tracker_tables.py ENDPOINTS

Each Rasa server creates its SQL tracker store's tables on start-up when they are missing; two
servers starting together on an empty PostgreSQL database race to create them and one fails.
Creating them once beforehand (here, or a Kubernetes Job: deploy/k8s/) avoids the race.
"""

import os
import sys

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import read_endpoint_config

if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())  # as `rasa run` does: bot/masking_tracker_store.py
    config = read_endpoint_config(sys.argv[1], "tracker_store")
    if config is None:
        sys.exit(f"{sys.argv[1]}: no tracker_store")
    store = TrackerStore.create(config, Domain.empty())
    print(f"tracker store ready: {type(store).__name__}")
