"""deploy/k8s/rasa.yaml: the Rasa servers' probes ask Rasa's own HTTP server (as `rasa run
--enable-api` builds it, with a token) on a path it serves without the token, on the port it is
told to listen on. Here because Rasa runs on Python 3.10; the other services' probes are checked
in tests/unit/test_k8s_manifests.py."""

import asyncio
from functools import cache
from pathlib import Path

import pytest
import rasa.server
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "rasa.yaml"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def rasa_container() -> dict:
    [server] = [
        d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d["kind"] == "StatefulSet"
    ]
    [container] = server["spec"]["template"]["spec"]["containers"]
    return container


@cache
def rasa_app():
    """Rasa's server with an API token (Sanic allows one app of a name per process)."""
    return rasa.server.create_app(auth_token="a-token")


def open_handler(path: str):
    """The handler of a GET on the path in Rasa's server; fails when there is none, or when it
    wants the API token (requires_auth wraps such handlers)."""
    app = rasa_app()
    found = [r.handler for r in app.router.routes if "/" + r.path == path and "GET" in r.methods]
    assert found, f"Rasa's server does not serve GET {path}"
    assert not hasattr(found[0], "__wrapped__"), f"GET {path} needs the API token"
    return found[0]


def test_every_probe_asks_rasa_on_an_open_path_and_the_port_it_listens_on():
    container = rasa_container()
    args = container["args"]
    port = int(args[args.index("--port") + 1])
    declared = {p["name"]: p["containerPort"] for p in container["ports"]}
    probes = [container[kind]["httpGet"] for kind in PROBES]
    for probe in probes:
        assert declared[probe["port"]] == port
        answer = asyncio.run(open_handler(probe["path"])(None))
        assert answer.status == 200


def test_a_path_that_needs_the_token_is_caught():
    with pytest.raises(AssertionError, match="needs the API token"):
        open_handler("/status")
