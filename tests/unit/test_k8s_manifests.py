"""deploy/k8s: every manifest is valid Kubernetes (offline schemas of kubernetes-validate), every
service has readiness and liveness probes on its real health endpoint, and the Rasa router routes
like the scale test's nginx (deploy/scale/nginx.conf.template)."""

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.30.0"
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


def documents() -> list[dict]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


def workloads() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] in WORKLOADS}


def test_every_manifest_is_valid_kubernetes():
    docs = documents()
    assert len(docs) >= 15
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


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
