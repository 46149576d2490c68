# The Rasa server (Rasa Open Source 3.6.21, Python 3.10) with the project's custom NLU components
# and the trained model. Train first (make train), then build from the repository root:
#   docker build -f deploy/k8s/images/rasa.Dockerfile -t …/rasa:1.0.0 .
# (Not built on the development machine, which has no container runtime: check before use.)
FROM python:3.10-slim
WORKDIR /app
COPY bot/requirements.txt bot/constraints.txt bot/
RUN pip install --no-cache-dir -r bot/requirements.txt -c bot/constraints.txt
COPY bot/components bot/components
# The masking tracker store (bot/endpoints.yml) and the masking rules it shares with the services.
COPY bot/masking_tracker_store.py bot/
# `rasa` with the project's fixes to Rasa's internals (its docstring says which).
COPY bot/rasa_server.py bot/rasa_internals.py bot/incremental_tracker.py bot/
COPY common/__init__.py common/logs.py common/pii.py common/
COPY bot/credentials.yml bot/config.yml bot/
COPY bot/models/current.tar.gz bot/models/current.tar.gz
# The tracker-table Job (rasa.yaml) runs `python -m tracker_admin` with the same image.
COPY bot/tracker_admin.py bot/
RUN useradd --uid 10001 rasa
USER 10001
WORKDIR /app/bot
ENTRYPOINT ["python", "-m", "rasa_server"]
