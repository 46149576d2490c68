# The project's own services on Python 3.11: backend, channel service, action server (rasa-sdk).
# Build from the repository root:  docker build -f deploy/k8s/images/app.Dockerfile -t …/app:1.0.0 .
# (Not built on the development machine, which has no container runtime: check before use.)
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY backend backend
COPY common common
COPY channels channels
RUN pip install --no-cache-dir .
# The channel service reads and deletes from Rasa's tracker store with bot/tracker_admin.py.
COPY bot/tracker_admin.py bot/
# The action server imports bot/actions (and its generated guides.json) from /app/bot.
COPY bot/actions bot/actions
COPY knowledge knowledge
# The console's failures page labels messages with the domain's intents and the training data's
# FAQ answers, and refuses texts of the test sets (channels/learning.py).
COPY bot/domain/core.yml bot/domain/core.yml
COPY bot/data/nlu bot/data/nlu
COPY tests/nlu tests/nlu
RUN useradd --uid 10001 app
USER 10001
