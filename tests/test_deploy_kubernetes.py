"""deploy/kubernetes: the manifests render, are valid Kubernetes >= 1.27 objects, fit Hotline
(probes, drain, ports, settings, metric names) and the Prometheus rules pass promtool; and
each check fails on a broken copy.

Rendering: ivr/testing/kustomize.py (Debian 12's kubectl 1.20 has too old a kustomize).
Schemas: PyPI's kubernetes-validate (dev extras), strict (unknown fields are errors).
Rules: `promtool` from Debian's prometheus package (scripts/system-deps.sh).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from ivr.config import Settings
from ivr.metrics import Metrics
from ivr.telephony.ari.settings import AriSettings
from ivr.telephony.settings import AgiSettings
from ivr.testing.kustomize import KustomizeError, render

ROOT = Path(__file__).resolve().parents[1]
KUBE = ROOT / "deploy" / "kubernetes"
MONITORING = KUBE / "monitoring"
VERSIONS = ("1.27", kubernetes_validate.latest_version())


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render(KUBE)


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


def validate_all(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        for version in VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool missing: install Debian's prometheus (scripts/system-deps.sh)"
    return path


# Rendering and schemas -------------------------------------------------------------------

def test_the_kustomization_renders_every_object_into_the_namespace(objects: list[dict[str, Any]]) -> None:
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(["Namespace", "Deployment", "Service", "Service", "Service",
                            "PodDisruptionBudget",
                            "HorizontalPodAutoscaler", "NetworkPolicy", "ConfigMap", "ConfigMap",
                            "ConfigMap", "ConfigMap"])
    for obj in objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "hotline"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "hotline"
    # No credentials in the repo: no Secret object, only references to one.
    assert "Secret" not in kinds


def test_every_object_is_valid_for_kubernetes_1_27_and_the_newest(objects: list[dict[str, Any]]) -> None:
    validate_all(objects)
    assert one(objects, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"


@pytest.mark.parametrize("breakage", ["typo-field", "wrong-type", "old-api", "missing-field"])
def test_a_broken_manifest_fails_the_schema_check(objects: list[dict[str, Any]], breakage: str) -> None:
    broken = copy.deepcopy(objects)
    deployment, hpa = one(broken, "Deployment"), one(broken, "HorizontalPodAutoscaler")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    if breakage == "typo-field":
        deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    elif breakage == "wrong-type":
        container["ports"][0]["containerPort"] = "4573/tcp"
    elif breakage == "old-api":  # removed in Kubernetes 1.26
        hpa["apiVersion"] = "autoscaling/v2beta2"
    else:
        del container["name"]
    with pytest.raises((kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError)):
        validate_all(broken)


def test_the_renderer_refuses_what_it_does_not_understand(tmp_path: Path) -> None:
    work = tmp_path / "kube"
    shutil.copytree(KUBE, work)
    kfile = work / "kustomization.yaml"
    spec = yaml.safe_load(kfile.read_text())
    for change in ({"patches": [{"path": "p.yaml"}]}, {"resources": spec["resources"] + ["gone.yaml"]},
                   {"generatorOptions": {}}):
        kfile.write_text(yaml.safe_dump({**spec, **change}))
        with pytest.raises(KustomizeError):
            render(work)


# Fit with Hotline ------------------------------------------------------------------------

def test_probes_drain_and_grace_period(objects: list[dict[str, Any]]) -> None:
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    config = one(objects, "ConfigMap", "hotline-config")["data"]
    drain = float(config["IVR_DRAIN_SECONDS"])
    pre_stop = " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    assert "kill -TERM 1" in pre_stop  # SIGTERM is what starts `ivr serve`'s drain
    wait = sum(float(s) for s in re.findall(r"sleep (\d+);", pre_stop))
    assert pod["terminationGracePeriodSeconds"] > wait + drain
    assert one(objects, "Deployment")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_settings_in_the_config_map_are_hotline_settings(objects: list[dict[str, Any]]) -> None:
    config = one(objects, "ConfigMap", "hotline-config")["data"]
    env = {e["name"]: e for e in one(objects, "Deployment")["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    for key in [*config, *(name for name in env if name.startswith("IVR_"))]:
        model: Any = Settings
        for part in key.removeprefix("IVR_").lower().split("__"):
            assert part in model.model_fields, f"{key} is no Hotline setting"
            model = model.model_fields[part].annotation
    AgiSettings(allow=json.loads(config["IVR_AGI__ALLOW"]), bind=config["IVR_AGI__BIND"])
    # Every pod holds the same recording keys: the Secret, mounted where Hotline reads them.
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    keys = next(v for v in pod["volumes"] if v["name"] == "recording-keys")
    assert keys["secret"]["secretName"] == "hotline-recording-keys"
    assert mounts["recording-keys"]["mountPath"] == config["IVR_RECORDING__KEYS_DIR"]
    assert mounts["recording-keys"]["readOnly"] is True
    # Credentials only from the Secret, never as plain values.
    for name in ("IVR_STORE__URL", "IVR_ARI__USERNAME", "IVR_ARI__PASSWORD"):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "hotline-secrets"
    assert not any(re.search(r"password|secret|postgresql", k + v, re.I) for k, v in config.items())


def test_services_and_network_policy_reach_the_right_ports(objects: list[dict[str, Any]]) -> None:
    deployment = one(objects, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    for name, port in (("hotline-agi", "fastagi"), ("hotline-agi-pods", "fastagi"),
                       ("hotline-http", "http")):
        service = one(objects, "Service", name)
        assert service["spec"]["selector"].items() <= labels.items()
        assert [p["targetPort"] for p in service["spec"]["ports"]] == [port]
    assert ports["fastagi"]["protocol"] == "TCP"
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    config = one(objects, "ConfigMap", "hotline-config")["data"]
    allowed = {f"{ip}" for ip in AgiSettings(allow=json.loads(config["IVR_AGI__ALLOW"])).allow}
    for rule in policy["ingress"]:
        rule_ports = {p["port"] for p in rule["ports"]}
        if ports["fastagi"]["containerPort"] in rule_ports:
            # FastAGI only from the Asterisk hosts, the same ones agi.allow lets in, and the
            # ARI media ports Hotline listens on.
            assert {s["ipBlock"]["cidr"] for s in rule["from"]} == allowed
            media = [p for p in rule["ports"] if p["protocol"] == "UDP"]
            assert [f"{p['port']}-{p['endPort']}" for p in media] == [AriSettings().media_ports]
        else:  # the console (and /metrics) only from the ingress controller and Prometheus
            assert rule_ports == {ports["http"]["containerPort"]}
            assert all("namespaceSelector" in s and "podSelector" in s for s in rule["from"])


def exported_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        names |= {family.name + s for s in suffixes.get(family.type, [""])}
    return names


def test_alerts_autoscaling_and_dashboard_use_metrics_hotline_exports(
        objects: list[dict[str, Any]]) -> None:
    exported = exported_names()
    texts = {p.name: p.read_text() for p in MONITORING.iterdir() if p.name != "alerts_test.yml"}
    for name, text in texts.items():
        used = set(re.findall(r"\bivr_[a-z_]+", text))
        assert used, name
        assert used <= exported, (name, used - exported)
    # The HPA scales on the pods metric the adapter rule serves, for this Deployment.
    hpa = one(objects, "HorizontalPodAutoscaler")["spec"]
    rule = yaml.safe_load(texts["prometheus-adapter.yaml"])["rules"][0]
    assert hpa["metrics"][0]["pods"]["metric"]["name"] == rule["name"]["as"] == "ivr_active_calls"
    assert hpa["scaleTargetRef"]["name"] == one(objects, "Deployment")["metadata"]["name"]
    assert hpa["minReplicas"] >= 2
    dashboard = json.loads(texts["hotline-dashboard.json"])
    assert dashboard["panels"] and all(p["targets"] for p in dashboard["panels"])
    alerts = {r["alert"] for g in yaml.safe_load(texts["alerts.yml"])["groups"] for r in g["rules"]}
    assert {"HotlineInstanceDown", "HotlineStoreUnhealthy", "HotlineNoMatchRateHigh",
            "HotlineQueueWaitLong"} <= alerts


def test_the_container_file_runs_ivr_serve_as_the_pods_user(objects: list[dict[str, Any]]) -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert f"USER {pod['securityContext']['runAsUser']}" in text
    assert 'ENTRYPOINT ["ivr"]' in text and "EXPOSE 4573 8080" in text


# Prometheus rules ------------------------------------------------------------------------

def test_alert_rules_pass_promtool_and_fire_on_hotlines_series() -> None:
    check = subprocess.run([promtool(), "check", "rules", "alerts.yml"], cwd=MONITORING,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([promtool(), "test", "rules", "alerts_test.yml"], cwd=MONITORING,
                          capture_output=True, text=True, timeout=60)
    assert unit.returncode == 0, unit.stdout + unit.stderr


@pytest.mark.parametrize("breakage", ["syntax", "unknown-function", "no-expr"])
def test_broken_alert_rules_fail_promtool(tmp_path: Path, breakage: str) -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    rule = rules["groups"][0]["rules"][0]
    if breakage == "syntax":
        rule["expr"] = "up{job=\"hotline\" == 0"
    elif breakage == "unknown-function":
        rule["expr"] = "rate_of(up[5m]) > 0"
    else:
        del rule["expr"]
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    check = subprocess.run([promtool(), "check", "rules", str(tmp_path / "alerts.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode != 0
