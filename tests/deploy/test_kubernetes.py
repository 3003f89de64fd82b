"""deploy/kubernetes: the manifests parse, and their probes, ports and grace agree with the
shipped config and the contract (probes on /livez and /readyz, grace above graceful_timeout)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboard.hooks.discovery import load_installed_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document and document.get("kind") != "Kustomization":
                found[document["kind"]] = document
    return found


@pytest.fixture(scope="module")
def container(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.fixture(scope="module")
def configmap_toml(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return tomllib.loads(objects["ConfigMap"]["data"]["resilience.toml"])


def shipped() -> dict[str, Any]:
    return tomllib.loads((ROOT / "config" / "resilience.toml").read_text(encoding="utf-8"))


def test_every_kind_is_there(objects: dict[str, dict[str, Any]]) -> None:
    assert set(objects) == {"Deployment", "Service", "ConfigMap", "Secret",
                            "PodDisruptionBudget"}
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS.glob("*.yaml")
                                    if p.name != "kustomization.yaml")


def test_the_configmap_toml_is_a_valid_config(configmap_toml: dict[str, Any],
                                              tmp_path: Path) -> None:
    settings = load_installed_settings(data=configmap_toml,
                             env={"DATABASE_URL": "postgresql+psycopg://u:p@db/mes",
                                  "DASHBOARD__DASHBOARD__RUNTIME_DIR": str(tmp_path)})
    assert settings.server.bind.startswith("0.0.0.0:")
    assert settings.logging.format == "json"
    assert "url" not in configmap_toml["database"], "the database URL comes from the Secret"


def test_probes_hit_livez_and_readyz_with_timeouts_that_fit(
        container: dict[str, Any], configmap_toml: dict[str, Any]) -> None:
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    startup = container["startupProbe"]
    assert liveness["httpGet"]["path"] == "/livez"
    assert startup["httpGet"]["path"] == "/livez"
    assert readiness["httpGet"]["path"] == "/readyz"
    for probe in (liveness, readiness, startup):
        assert probe["httpGet"]["port"] == "http"
        assert 1 <= probe["timeoutSeconds"] <= probe["periodSeconds"]
    for config in (shipped(), configmap_toml):
        # gunicorn restarts a silent worker after [server].timeout; the kubelet must not kill
        # the whole pod first.
        assert (liveness["periodSeconds"] * liveness["failureThreshold"]
                > config["server"]["timeout"])
    # a draining pod leaves the Service well before its grace runs out
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= 15


def test_termination_grace_exceeds_prestop_plus_graceful_timeout(
        objects: dict[str, dict[str, Any]], container: dict[str, Any],
        configmap_toml: dict[str, Any]) -> None:
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = int(command[1])
    assert pre_stop >= 1
    for config in (shipped(), configmap_toml):
        assert pod["terminationGracePeriodSeconds"] > pre_stop + config["server"][
            "graceful_timeout"]


def test_ports_agree_with_the_bind(objects: dict[str, dict[str, Any]],
                                   container: dict[str, Any],
                                   configmap_toml: dict[str, Any]) -> None:
    port = int(configmap_toml["server"]["bind"].rsplit(":", 1)[1])
    assert port == int(shipped()["server"]["bind"].rsplit(":", 1)[1])
    [http] = [p for p in container["ports"] if p["name"] == "http"]
    assert http["containerPort"] == port
    [service_port] = objects["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    annotations = objects["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)


def test_config_from_the_configmap_and_secrets_from_the_secret(
        objects: dict[str, dict[str, Any]], container: dict[str, Any],
        configmap_toml: dict[str, Any]) -> None:
    args = container["args"]
    config_path = Path(args[args.index("--config") + 1])
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(config_path.parent)]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    assert config_path.name in objects["ConfigMap"]["data"]

    secret = objects["Secret"]
    token_env = configmap_toml["plugins"]["recovery"]["admin_token_env"]
    assert set(secret["stringData"]) == {"DATABASE_URL", token_env}
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                   if "valueFrom" in e}
    for name in ("DATABASE_URL", token_env):
        assert from_secret[name] == {"name": secret["metadata"]["name"], "key": name}


def test_disruption_budget_and_service_select_the_pods(
        objects: dict[str, dict[str, Any]]) -> None:
    deployment = objects["Deployment"]["spec"]
    labels = deployment["template"]["metadata"]["labels"]
    for selector in (objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                     objects["Service"]["spec"]["selector"], deployment["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    assert 1 <= objects["PodDisruptionBudget"]["spec"]["minAvailable"] < deployment["replicas"]
