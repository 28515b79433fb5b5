"""A small renderer for the subset of kustomize that ``deploy/kubernetes`` uses.

Debian 12's kubectl (1.20) carries a kustomize too old for these manifests, and no newer
kustomize is packaged, so ``make test`` renders the kustomization with this instead:

- ``resources``: YAML files (several documents each) beside the kustomization;
- ``namespace``: set on every namespaced object (not on Namespace objects themselves);
- ``labels`` (``pairs``, ``includeSelectors: false``, ``includeTemplates``): added to
  every object's ``metadata.labels``, and to pod templates when ``includeTemplates``;
- ``configMapGenerator`` (``name``, ``literals``, ``files``, ``options.labels``) with
  ``generatorOptions.disableNameSuffixHash: true`` (no hash suffix, so nothing to rewrite).

Anything else in the kustomization is an error, so a field this renderer does not know
cannot pass the checks silently. ``kubectl apply -k`` (kubectl >= 1.27) renders the same
objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "namespace", "labels", "resources", "configMapGenerator",
             "generatorOptions"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "APIService",
                  "CustomResourceDefinition", "PersistentVolume", "StorageClass"}
TEMPLATED = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is broken."""


def _load_all(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise KustomizeError(f"{path}: resource file not found")
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise KustomizeError(f"{path}: every document needs apiVersion and kind")
    return docs


def _config_map(folder: Path, spec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(spec) - {"name", "literals", "files", "options"}
    if unknown:
        raise KustomizeError(f"configMapGenerator: unsupported {sorted(unknown)}")
    if not options.get("disableNameSuffixHash"):
        raise KustomizeError("configMapGenerator: only generatorOptions.disableNameSuffixHash: true "
                             "is supported (no hash suffix to rewrite references to)")
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, sep, value = str(literal).partition("=")
        if not sep or not key:
            raise KustomizeError(f"configMapGenerator {spec['name']}: bad literal {literal!r}")
        data[key] = value
    for name in spec.get("files", []):
        path = folder / name
        if not path.is_file():
            raise KustomizeError(f"configMapGenerator {spec['name']}: {path} not found")
        key = Path(name).name
        if key in data:
            raise KustomizeError(f"configMapGenerator {spec['name']}: key {key} twice")
        data[key] = path.read_text()
    metadata: dict[str, Any] = {"name": spec["name"]}
    extra = dict((spec.get("options") or {}).get("labels") or {})
    extra.update(options.get("labels") or {})
    if extra:
        metadata["labels"] = extra
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _add_labels(doc: dict[str, Any], pairs: dict[str, str], templates: bool) -> None:
    meta = doc.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **pairs}
    if templates and doc["kind"] in TEMPLATED:
        tmeta = doc.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), **pairs}


def render(folder: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl apply -k folder`` would apply, in resource order, then the
    generated ConfigMaps."""
    kfile = folder / "kustomization.yaml"
    spec = yaml.safe_load(kfile.read_text())
    if not isinstance(spec, dict):
        raise KustomizeError(f"{kfile}: not a mapping")
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported by this renderer: {sorted(unknown)}")
    if spec.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{kfile}: kind must be Kustomization")
    docs: list[dict[str, Any]] = []
    for name in spec.get("resources", []):
        docs += _load_all(folder / name)
    options = spec.get("generatorOptions") or {}
    if set(options) - {"disableNameSuffixHash", "labels"}:
        raise KustomizeError(f"{kfile}: unsupported generatorOptions {sorted(options)}")
    docs += [_config_map(folder, g, options) for g in spec.get("configMapGenerator", [])]
    for entry in spec.get("labels", []):
        if set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise KustomizeError(f"{kfile}: unsupported labels entry {sorted(entry)}")
        if entry.get("includeSelectors"):
            raise KustomizeError(f"{kfile}: labels.includeSelectors is not supported")
        for doc in docs:
            _add_labels(doc, dict(entry["pairs"]), bool(entry.get("includeTemplates")))
    if namespace := spec.get("namespace"):
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = namespace
    names = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs]
    if len(set(names)) != len(names):
        raise KustomizeError(f"{kfile}: an object is defined twice")
    return docs
