"""deploy/k8s: every manifest is valid Kubernetes (offline schemas of kubernetes-validate), every
service has readiness and liveness probes on its real health endpoint, and the Rasa router routes
like the scale test's nginx (deploy/scale/nginx.conf.template).

A probe's path is checked against the routes of the program the container runs: the FastAPI apps
(channels, backend) and the action server (rasa_sdk) are built here and asked to route a GET on
it, the router's nginx.conf is read; Rasa's own server, which runs on Python 3.10, is checked in
tests/components/test_k8s_rasa_probes.py. Its port must be one the container declares, and the one
the program listens on."""

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from rasa_sdk.endpoint import create_app as action_server
from rasa_sdk.executor import ActionExecutor
from starlette.applications import Starlette
from starlette.routing import Match

from backend.app import create_app as backend_app
from backend.config import Settings as BackendSettings
from channels.app import create_app as channels_app
from channels.config import Settings as ChannelsSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.30.0"  # the oldest version supported; the newest kubernetes-validate bundles too
WORKLOADS = ("Deployment", "StatefulSet")
# The health endpoints the services really have (devstack/project.py checks the same ones).
HTTP_PROBES = {
    "backend": {"readiness": "/health", "liveness": "/health"},
    "actions": {"readiness": "/health", "liveness": "/health"},
    "channels": {"readiness": "/ready", "liveness": "/health"},
    "channels-telegram": {"readiness": "/ready", "liveness": "/health"},
    "rasa": {"readiness": "/", "liveness": "/"},
    "rasa-router": {"readiness": "/nginx-health", "liveness": "/nginx-health"},
}
EXEC_PROBES = {"postgres": "pg_isready", "redis": "redis-cli"}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
RASA_IMAGE = "registry.example.org/onboarding-helper/rasa:"  # tests/components checks its probes


@dataclass(frozen=True)
class Program:
    """What a container runs, as far as its probes go: the port it listens on, the GET paths it
    answers."""

    port: int
    serves: Callable[[str], bool]


def documents() -> list[dict]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


def workloads() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] in WORKLOADS}


def config_maps() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc["data"] for doc in documents() if doc["kind"] == "ConfigMap"}


def containers() -> list[tuple[str, dict]]:
    """(workload name, container) of every Deployment and StatefulSet."""
    return [
        (name, container)
        for name, workload in workloads().items()
        for container in workload["spec"]["template"]["spec"]["containers"]
    ]


def environment(container: dict) -> dict[str, str]:
    """The container's plain settings: its ConfigMaps', then its own values (secrets left out)."""
    found: dict[str, str] = {}
    for source in container.get("envFrom", []):
        found |= config_maps()[source["configMapRef"]["name"]]
    return found | {env["name"]: env["value"] for env in container.get("env", []) if "value" in env}


def starlette_serves(app: Starlette) -> Callable[[str], bool]:
    """Whether the app routes a GET on the path to a handler, as it would a real request."""

    def serves(path: str) -> bool:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)

    return serves


@cache
def action_server_paths() -> frozenset[str]:
    """The GET paths of rasa_sdk's server with the project's actions (Sanic: one app a process)."""
    executor = ActionExecutor()
    executor.register_package("actions")
    app = action_server(executor)
    return frozenset("/" + route.path for route in app.router.routes if "GET" in route.methods)


def action_server_program(container: dict) -> Program:
    command = container["command"]
    return Program(int(command[command.index("--port") + 1]), action_server_paths().__contains__)


def nginx_program(container: dict, pod: dict) -> Program:
    """nginx with the nginx.conf that the container mounts from a ConfigMap: its exact locations
    that answer by themselves."""
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/nginx/nginx.conf"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    conf = config_maps()[volume["configMap"]["name"]][mount["subPath"]]
    [port] = re.findall(r"listen (\d+);", conf)
    answered = set(re.findall(r"location = (\S+) \{[^}]*return 200", conf))
    return Program(int(port), answered.__contains__)


def program(container: dict, pod: dict) -> Program | None:
    """What the container runs; None for Rasa (tests/components/test_k8s_rasa_probes.py)."""
    command, env = container.get("command", []), environment(container)
    if command[:3] == ["python", "-m", "channels"]:
        port = int(env.get("CHANNELS_PORT", ChannelsSettings().channels_port))
        return Program(port, starlette_serves(channels_app()))
    if command[:3] == ["python", "-m", "backend"]:
        port = int(env.get("BACKEND_PORT", BackendSettings().backend_port))
        return Program(port, starlette_serves(backend_app()))
    if command[:3] == ["python", "-m", "rasa_sdk"]:
        return action_server_program(container)
    if container["image"].startswith("nginx:"):
        return nginx_program(container, pod)
    assert container["image"].startswith(RASA_IMAGE), f"no program known for {container['name']}"
    return None


def declared_port(container: dict, port: int | str) -> int:
    """The container port a probe names (by name or number); fails when it declares none such."""
    for declared in container.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return declared["containerPort"]
    raise AssertionError(f"{container['name']} declares no port {port}")


def http_probes(container: dict) -> list[tuple[str, dict]]:
    return [(kind, container[kind]["httpGet"]) for kind in PROBES if "httpGet" in container.get(kind, {})]


@pytest.mark.parametrize("version", [KUBERNETES, kubernetes_validate.latest_version()])
def test_every_manifest_is_valid_kubernetes(version):
    docs = documents()
    assert len(docs) >= 15
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_catches_a_misspelt_field():
    deployment = copy.deepcopy(workloads()["backend"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_every_service_has_probes_on_its_health_endpoint():
    found = workloads()
    assert set(found) == set(HTTP_PROBES) | set(EXEC_PROBES)
    for name, workload in found.items():
        [container] = workload["spec"]["template"]["spec"]["containers"]
        for kind in ("readiness", "liveness"):
            probe = container[f"{kind}Probe"]
            if name in EXEC_PROBES:
                assert probe["exec"]["command"][0] == EXEC_PROBES[name], name
            else:
                assert probe["httpGet"]["path"] == HTTP_PROBES[name][kind], (name, kind)


def test_every_container_has_readiness_and_liveness_probes_on_a_declared_port():
    for name, container in containers():
        assert {"readinessProbe", "livenessProbe"} <= set(container), name
        for kind in PROBES:
            probe = container.get(kind, {})
            for handler in ("httpGet", "tcpSocket"):
                if handler in probe:
                    declared_port(container, probe[handler]["port"])


def test_every_http_probe_asks_its_program_on_a_path_it_serves_and_the_port_it_listens_on():
    checked = unchecked = 0
    for name, workload in workloads().items():
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            probes = http_probes(container)
            found = program(container, pod) if probes else None
            for kind, probe in probes:
                if found is None:  # Rasa: tests/components/test_k8s_rasa_probes.py
                    unchecked += 1
                    continue
                assert found.serves(probe["path"]), (name, kind, probe["path"])
                assert declared_port(container, probe["port"]) == found.port, (name, kind)
                checked += 1
    assert checked >= 10 and unchecked == 3  # Rasa's startup, readiness and liveness probes


@pytest.mark.parametrize(
    ("workload", "path"),
    [("channels", "/healthz"), ("backend", "/ready/now"), ("actions", "/status"), ("rasa-router", "/health")],
)
def test_a_probe_on_a_path_the_program_does_not_serve_is_caught(workload, path):
    pod = workloads()[workload]["spec"]["template"]["spec"]
    found = program(pod["containers"][0], pod)
    assert found is not None and not found.serves(path)


def test_a_probe_on_an_undeclared_port_is_caught():
    container = copy.deepcopy(workloads()["backend"]["spec"]["template"]["spec"]["containers"][0])
    container["readinessProbe"]["httpGet"]["port"] = "metrics"
    with pytest.raises(AssertionError, match="declares no port metrics"):
        declared_port(container, container["readinessProbe"]["httpGet"]["port"])


def test_the_rasa_router_hashes_like_the_scale_test_and_lists_every_rasa_server():
    router = next(
        d for d in documents() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rasa-router"
    )
    conf = router["data"]["nginx.conf"]
    template = (ROOT / "deploy" / "scale" / "nginx.conf.template").read_text(encoding="utf-8")
    for routing in (
        "hash $rasa_conversation consistent;",
        "~^/conversations/(?<id>[^/]+)/  $id;",
        "default  $http_x_conversation_id;",
        "proxy_next_upstream error timeout;",
    ):
        assert routing in conf and routing in template, routing
    replicas = workloads()["rasa"]["spec"]["replicas"]
    servers = re.findall(r"server (rasa-\d+)\.rasa\.onboarding\.svc\.cluster\.local:5005 resolve;", conf)
    assert servers == [f"rasa-{n}" for n in range(replicas)]


def test_rasa_shares_its_tracker_and_lock_stores():
    endpoints = next(
        d for d in documents() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rasa-endpoints"
    )
    config = yaml.safe_load(endpoints["data"]["endpoints.yml"])
    development = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    assert config["tracker_store"]["type"] == development["tracker_store"]["type"]
    assert config["tracker_store"]["dialect"] == "postgresql"
    assert config["lock_store"]["type"] == "redis"


def test_only_the_single_telegram_replica_has_the_bot_token():
    found = workloads()
    holders = {
        name
        for name, workload in found.items()
        for container in workload["spec"]["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if env["name"] == "TELEGRAM_BOT_TOKEN"
    }
    assert holders == {"channels-telegram"}
    assert found["channels-telegram"]["spec"]["replicas"] == 1
    assert found["channels-telegram"]["spec"]["strategy"]["type"] == "Recreate"
