"""Offline checks of the Kubernetes manifests under infra/k8s/ (Kustomize).

No cluster is needed. `kubectl kustomize` renders the base, the local overlay and the overlay
with the redis-auth component; every object is validated against the Kubernetes OpenAPI schemas
(`kubernetes-validate`, strict: unknown fields fail) or, for KEDA's, against KEDA's CRD schemas
(`../shared/schemas/keda/`). Then the rules the deployment relies on are asserted on the
rendered objects: one KEDA trigger per consumed stream and group of shared/streams.py, probes,
resources and a locked-down security context on every workload, a Service and a PDB per
Deployment, and every environment variable read by the settings class of the service it is
given to (a typo would silently fall back to a default).
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

from cli.settings import ToolSettings
from services.desk.settings import DeskSettings
from services.enrich.settings import EnrichSettings
from services.ingest.settings import IngestSettings
from services.publish.settings import PublishSettings
from services.render.settings import RenderSettings
from shared.settings import ServiceSettings, StorageSettings
from shared.streams import CONSUMER_GROUPS, OBSERVERS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
BASE = K8S / "base"
LOCAL = K8S / "overlays" / "local"
COMPONENTS = K8S / "components"
SECRETS_EXAMPLE = LOCAL / "secrets.env.example"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
# Part of the workplace, next to the repository (see ../shared/README.md).
KEDA_SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "keda"
KEDA_CRDS = ("keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml")

# The newest Kubernetes release kubernetes-validate ships schemas for.
KUBERNETES_VERSION = "1.37"

# Each workload that runs a Wirepress image, and the settings class its process reads.
SETTINGS: dict[str, type[ServiceSettings]] = {
    "ingest": IngestSettings,
    "enrich": EnrichSettings,
    "render": RenderSettings,
    "publish": PublishSettings,
    "desk": DeskSettings,
    "wirepress-init": ToolSettings,
}
# Which host and port setting each server binds (shared/runner.py; consumers use HEALTH_*).
BIND_FIELDS: dict[str, tuple[str, str]] = {
    "ingest": ("ingest_host", "ingest_port"),
    "desk": ("desk_host", "desk_port"),
}
SERVICE_IMAGE = "wirepress"
TOOLS_IMAGE = "wirepress-tools"
LOCAL_TAG = "local"
CONFIG_MAP = "wirepress-config"
SECRET = "wirepress-secrets"
# ConfigMap keys no settings class reads, and who does.
NOT_SETTINGS = {"REDIS_ADDRESS": "KEDA's redis-streams scaler (addressFromEnv)"}
# The ConfigMap's addresses, each of which must reach a Service in the local overlay.
ADDRESS_KEYS = ("REDIS_URL", "S3_ENDPOINT_URL", "ENRICH_URL", "RENDER_URL", "INGEST_URL")
# Autoscaled by CPU (an HPA) rather than by stream lag (KEDA).
CPU_SCALED = frozenset({"ingest"})
# enrich loads its gazetteers (and optionally an embedding model) before it opens its port.
SLOW_STARTERS = {"enrich": 300}

Obj = dict[str, Any]

_yaml = YAML(typ="safe")


# --- rendering ------------------------------------------------------------------------------


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        reason = "kubectl (which has Kustomize built in) is not installed"
        if os.environ.get("WIREPRESS_OPS_TOOLS") == "required":
            pytest.fail(f"{reason}, and WIREPRESS_OPS_TOOLS=required")
        pytest.skip(reason)
    return found


def _kustomize(directory: Path) -> list[Obj]:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in _yaml.load_all(result.stdout) if doc]


def _secret_keys() -> tuple[list[str], list[str]]:
    """The keys secrets.env.example names: required ones, then optional (commented-out) ones."""
    required: list[str] = []
    optional: list[str] = []
    for line in SECRETS_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=.*", line.strip()):
            required.append(match[1])
        elif match := re.fullmatch(r"#\s*([A-Z][A-Z0-9_]*)=.*", line.strip()):
            optional.append(match[1])
    return required, optional


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/k8s with a throwaway secrets.env, plus an overlay adding redis-auth."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    # A developer's real secrets.env stays where it is.
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    required, _ = _secret_keys()
    lines = [f"{key}={secrets.token_urlsafe(32)}" for key in required]
    (copy / "overlays" / "local" / "secrets.env").write_text("\n".join(lines) + "\n")
    with_auth = copy / "with-redis-auth"
    with_auth.mkdir()
    (with_auth / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: [../overlays/local]\n"
        "components: [../components/redis-auth]\n"
    )
    return copy


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    return _kustomize(BASE)


@pytest.fixture(scope="module")
def local(workspace: Path) -> list[Obj]:
    return _kustomize(workspace / "overlays" / "local")


@pytest.fixture(scope="module")
def with_auth(workspace: Path) -> list[Obj]:
    return _kustomize(workspace / "with-redis-auth")


@pytest.fixture(scope="module")
def renders(base: list[Obj], local: list[Obj], with_auth: list[Obj]) -> dict[str, list[Obj]]:
    return {"base": base, "overlays/local": local, "with redis-auth": with_auth}


# --- small helpers --------------------------------------------------------------------------


def _of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = _of_kind(objects, kind)
    assert name in found, f"no {kind} {name!r} (have {sorted(found)})"
    return found[name]


def _workloads(objects: list[Obj]) -> dict[str, Obj]:
    """Every object with a pod template, by name."""
    kinds = ("Deployment", "StatefulSet", "Job")
    return {o["metadata"]["name"]: o for o in objects if o["kind"] in kinds}


def _pod(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def _containers(workload: Obj) -> list[Obj]:
    pod = _pod(workload)
    return [*pod.get("initContainers", []), *pod["containers"]]


def _image_name(image: str) -> str:
    """The image without tag or digest ("valkey/valkey:8" -> "valkey/valkey")."""
    without_digest = image.split("@", 1)[0]
    path, _, last = without_digest.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{path}/{name}" if path else name


def _is_wirepress(container: Obj) -> bool:
    return _image_name(container["image"]) in (SERVICE_IMAGE, TOOLS_IMAGE)


def _wirepress_workloads(objects: list[Obj]) -> dict[str, Obj]:
    return {
        name: w
        for name, w in _workloads(objects).items()
        if any(_is_wirepress(c) for c in _containers(w))
    }


def _match_labels(selector: Obj, where: str) -> dict[str, str]:
    # matchExpressions would need a fuller matcher; the manifests use none.
    assert set(selector) == {"matchLabels"}, f"{where}: use matchLabels only, got {selector}"
    labels: dict[str, str] = selector["matchLabels"]
    assert labels, f"{where}: an empty selector selects everything"
    return labels


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels", {})
    return labels


_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def _quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity ("250m", "1Gi", 2) as a number."""
    match = _QUANTITY.match(str(value))
    assert match, f"not a resource quantity: {value!r}"
    return float(match[1]) * _FACTORS[match[2]]


def _valkey_bytes(value: str) -> int:
    """Valkey's memory units: 1mb is 1024*1024 bytes, 1m is 10**6."""
    match = re.fullmatch(r"(\d+)(b|k|kb|m|mb|g|gb)?", value.lower())
    assert match, f"not a Valkey memory size: {value!r}"
    factors = {None: 1, "b": 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20}
    factors |= {"g": 10**9, "gb": 2**30}
    return int(match[1]) * factors[match[2]]


@cache
def _env_names(cls: type[BaseSettings]) -> frozenset[str]:
    """The environment variables a pydantic-settings class reads (upper case: none of ours is
    case-sensitive)."""
    assert not cls.model_config.get("case_sensitive"), cls
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif field.alias:
            names.add(field.alias)
        else:
            names.add(prefix + name)
    return frozenset(n.upper() for n in names)


def _secret_settings() -> frozenset[str]:
    """Every setting that is a secret: the Secret's keys and any SecretStr field."""
    required, optional = _secret_keys()
    names = {*required, *optional}
    for cls in SETTINGS.values():
        for name, field in cls.model_fields.items():
            if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ())):
                names.add(name.upper())
    return frozenset(names)


def _dockerfile_ids() -> tuple[int, int]:
    """The uid and gid of the user infra/Dockerfile's images run as."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    uid = re.search(r"useradd\b[^\n]*--uid\s+(\d+)", text)
    gid = re.search(r"groupadd\b[^\n]*--gid\s+(\d+)", text)
    assert uid and gid, "infra/Dockerfile: no `useradd --uid` / `groupadd --gid` found"
    return int(uid[1]), int(gid[1])


def _container_env(container: Obj, objects: list[Obj], where: str) -> dict[str, str]:
    """The environment the container's process gets from the rendered objects."""
    config_maps = _of_kind(objects, "ConfigMap")
    secret_objs = _of_kind(objects, "Secret")

    def secret_data(name: str) -> dict[str, str]:
        secret = secret_objs.get(name, {})
        decoded = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        return {**decoded, **secret.get("stringData", {})}

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            assert name in config_maps, f"{where}: no ConfigMap {name}"
            env |= config_maps[name].get("data", {})
        elif "secretRef" in source:
            env |= secret_data(source["secretRef"]["name"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
            continue
        ref = entry.get("valueFrom", {})
        if "secretKeyRef" in ref:
            key_ref = ref["secretKeyRef"]
            data = secret_data(key_ref["name"])
        elif "configMapKeyRef" in ref:
            key_ref = ref["configMapKeyRef"]
            data = config_maps.get(key_ref["name"], {}).get("data", {})
        else:
            raise AssertionError(f"{where}: {entry['name']} comes from neither value nor a key")
        if key_ref["key"] in data:
            env[entry["name"]] = data[key_ref["key"]]
        else:
            assert key_ref.get("optional"), (
                f"{where}: {entry['name']} needs key {key_ref['key']} of {key_ref['name']}, "
                "which the render does not have"
            )
    return env


def _service_for(host: str, default_namespace: str) -> tuple[str, str]:
    """The Service and namespace an in-cluster host name means ("enrich", "redis.ns.svc...")."""
    labels = host.split(".")
    if len(labels) == 1:
        return labels[0], default_namespace
    assert labels[2:] in ([], ["svc"], ["svc", "cluster", "local"]), f"not a Service: {host}"
    return labels[0], labels[1]


# --- schemas --------------------------------------------------------------------------------


def _closed(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the fields, as the API server
    does with `kubectl apply --validate=strict`, so a misspelt field fails."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    open_ended = "additionalProperties" in schema or schema.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if "properties" in schema and not open_ended:
        closed["additionalProperties"] = False
    return closed


@cache
def _crd_validators() -> dict[tuple[str, str], Any]:
    """Validators for KEDA's kinds, by (apiVersion, kind), from the CRDs in ../shared."""
    assert KEDA_SCHEMAS.is_dir(), (
        f"{KEDA_SCHEMAS} is missing: KEDA's CRDs are part of the workplace "
        "(../shared/schemas/keda/, see ../shared/README.md)"
    )
    validators: dict[tuple[str, str], Any] = {}
    for filename in KEDA_CRDS:
        path = KEDA_SCHEMAS / filename
        assert path.is_file(), f"{path} is missing"
        crd = _yaml.load(path.read_text(encoding="utf-8"))
        assert crd["kind"] == "CustomResourceDefinition", path
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            schema = _closed(version["schema"]["openAPIV3Schema"])
            validator_class = jsonschema.validators.validator_for(schema)
            validator_class.check_schema(schema)
            validators[(f"{group}/{version['name']}", kind)] = validator_class(schema)
    return validators


def _validate(obj: Obj, where: str) -> None:
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    name = f"{where}: {key[1]} {obj.get('metadata', {}).get('name')!r}"
    crd = _crd_validators().get(key)
    if crd is not None:
        errors = sorted(crd.iter_errors(obj), key=lambda e: list(e.absolute_path))
        problems = [
            f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        ]
        if problems:
            pytest.fail(f"{name} does not match KEDA's CRD:\n" + "\n".join(problems))
        return
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{name}: no schema to check it against ({exc.message})")
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(map(str, exc.path)) or "<root>"
        pytest.fail(f"{name} is not valid Kubernetes {KUBERNETES_VERSION}: {path}: {exc.message}")


def _kustomization_resources(directory: Path) -> list[Path]:
    kustomization = _yaml.load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return [directory / entry for entry in kustomization.get("resources", [])]


KUSTOMIZE_DIRS = (BASE, COMPONENTS / "dev-deps", COMPONENTS / "redis-auth", LOCAL)


def test_kubernetes_validate_knows_the_version() -> None:
    latest = tuple(int(part) for part in kubernetes_validate.latest_version().split(".")[:2])
    pinned = tuple(int(part) for part in KUBERNETES_VERSION.split("."))
    assert pinned <= latest, f"kubernetes-validate knows up to {latest}, not {KUBERNETES_VERSION}"


def test_keda_schemas_are_there() -> None:
    keys = set(_crd_validators())
    assert keys >= {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
    }, keys


@pytest.mark.parametrize("directory", KUSTOMIZE_DIRS, ids=lambda d: str(d.relative_to(K8S)))
def test_every_manifest_file_is_listed_in_its_kustomization(directory: Path) -> None:
    # A file left out of `resources:` (or `patches:`) is silently never deployed.
    kustomization = _yaml.load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    patches = {directory / p["path"] for p in kustomization.get("patches", []) if "path" in p}
    listed = {*_kustomization_resources(directory), *patches}
    present = set(directory.glob("*.yaml")) - {directory / "kustomization.yaml"}
    assert not present - listed, f"not in kustomization.yaml: {sorted(present - listed)}"
    missing = [p for p in listed if not p.exists()]
    assert not missing, f"kustomization.yaml lists what is not there: {missing}"


def _resource_files() -> Iterator[Path]:
    for directory in KUSTOMIZE_DIRS:
        for path in _kustomization_resources(directory):
            if path.suffix == ".yaml":
                yield path


@pytest.mark.parametrize("path", list(_resource_files()), ids=lambda p: str(p.relative_to(K8S)))
def test_each_manifest_file_is_valid_on_its_own(path: Path) -> None:
    documents = [doc for doc in _yaml.load_all(path.read_text(encoding="utf-8")) if doc]
    assert documents, f"{path} holds no object"
    for doc in documents:
        _validate(doc, str(path.relative_to(K8S)))


@pytest.mark.parametrize("render", ["base", "overlays/local", "with redis-auth"])
def test_every_rendered_object_is_valid(renders: dict[str, list[Obj]], render: str) -> None:
    objects = renders[render]
    assert objects
    for obj in objects:
        _validate(obj, render)
    keys = Counter(
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects
    )
    assert not [k for k, n in keys.items() if n > 1], f"{render}: duplicates"


def test_closed_schemas_refuse_misspelt_fields() -> None:
    """The KEDA check is only worth something if it refuses a typo."""
    good: Obj = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [{"type": "cpu", "metadata": {}}]},
    }
    _validate(good, "test")
    bad = {**good, "spec": {**good["spec"], "minReplicas": 1}}
    with pytest.raises(pytest.fail.Exception, match="minReplicas"):
        _validate(bad, "test")


# --- the base --------------------------------------------------------------------------------


def test_base_holds_no_secret_values(base: list[Obj]) -> None:
    for path in BASE.glob("*.yaml"):
        for doc in _yaml.load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "Secret":
                pytest.fail(f"{path.name}: a Secret in the base")
        if path.name == "kustomization.yaml":
            doc = _yaml.load(path.read_text(encoding="utf-8"))
            assert "secretGenerator" not in doc, "the base generates a Secret"
    assert not _of_kind(base, "Secret"), "the base renders a Secret"
    secret_names = _secret_settings()
    for name, workload in _workloads(base).items():
        for container in _containers(workload):
            for entry in container.get("env", []):
                assert not (entry["name"] in secret_names and "value" in entry), (
                    f"{name}: {entry['name']} is written into the manifest"
                )


def test_base_leaves_namespace_and_tags_to_overlays(base: list[Obj]) -> None:
    for obj in base:
        assert "namespace" not in obj["metadata"], f"{obj['kind']} {obj['metadata']['name']}"
    for name, workload in _workloads(base).items():
        for container in _containers(workload):
            assert container["image"] in (SERVICE_IMAGE, TOOLS_IMAGE), (
                f"{name}: image {container['image']!r}; the overlay's `images:` sets the tag"
            )


# --- streams and KEDA -------------------------------------------------------------------------


def _triggers(objects: list[Obj]) -> list[tuple[str, Obj]]:
    return [
        (name, trigger)
        for name, scaled in _of_kind(objects, "ScaledObject").items()
        for trigger in scaled["spec"]["triggers"]
    ]


def _expected_pairs() -> Counter[tuple[str, str]]:
    return Counter(
        (stream, group)
        for stream, groups in CONSUMER_GROUPS.items()
        for group in groups
        if group not in OBSERVERS.get(stream, ())
    )


@pytest.mark.parametrize("render", ["base", "overlays/local"])
def test_one_trigger_per_consumed_stream_and_group(
    renders: dict[str, list[Obj]], render: str
) -> None:
    triggers = _triggers(renders[render])
    assert triggers, "no ScaledObject"
    seen: Counter[tuple[str, str]] = Counter()
    for name, trigger in triggers:
        assert trigger["type"] == "redis-streams", f"{name}: {trigger['type']}"
        meta = trigger["metadata"]
        pair = (meta.get("stream"), meta.get("consumerGroup"))
        assert pair[0] in CONSUMER_GROUPS, f"{name}: stream {pair[0]!r} is not in shared/streams.py"
        assert pair[1] in CONSUMER_GROUPS[pair[0]], (
            f"{name}: no group {pair[1]!r} reads {pair[0]} (shared/streams.py)"
        )
        assert pair[1] not in OBSERVERS.get(pair[0], ()), (
            f"{name}: {pair[1]} only watches {pair[0]}; its lag holds nothing back"
        )
        assert pair[1] == name, f"ScaledObject {name} has a trigger for group {pair[1]}"
        seen[pair] += 1
    expected = _expected_pairs()
    missing = sorted(set(expected) - set(seen))
    doubled = sorted(pair for pair, n in seen.items() if n > 1)
    assert not missing, f"streams no trigger watches: {missing}"
    assert not doubled, f"streams watched twice: {doubled}"


def test_triggers_measure_lag(local: list[Obj]) -> None:
    config = _one(local, "ConfigMap", CONFIG_MAP)["data"]
    url = urlsplit(config["REDIS_URL"])
    database = (url.path or "/0").lstrip("/") or "0"
    for name, trigger in _triggers(local):
        meta = trigger["metadata"]
        assert int(meta["lagCount"]) > 0, f"{name}: lagCount {meta['lagCount']}"
        assert int(meta["activationLagCount"]) >= 0, f"{name}: activationLagCount"
        assert "pendingEntriesCount" not in meta and "streamLength" not in meta, (
            f"{name}: lagCount alone decides what the trigger measures"
        )
        assert meta.get("databaseIndex", "0") == database, (
            f"{name}: databaseIndex {meta.get('databaseIndex')} but REDIS_URL uses {database}"
        )
        assert ("address" in meta) != ("addressFromEnv" in meta), f"{name}: one address"


def test_keda_reaches_the_redis_the_services_use(local: list[Obj]) -> None:
    config = _one(local, "ConfigMap", CONFIG_MAP)["data"]
    url = urlsplit(config["REDIS_URL"])
    redis_address = f"{url.hostname}:{url.port or 6379}"
    deployments = _of_kind(local, "Deployment")
    for name, scaled in _of_kind(local, "ScaledObject").items():
        target = deployments[scaled["spec"]["scaleTargetRef"]["name"]]
        container_name = scaled["spec"]["scaleTargetRef"].get("envSourceContainerName")
        containers = _pod(target)["containers"]
        container = next((c for c in containers if c["name"] == container_name), containers[0])
        env = _container_env(container, local, name)
        for _, trigger in [t for t in _triggers(local) if t[0] == name]:
            meta = trigger["metadata"]
            address = meta.get("address") or env.get(meta["addressFromEnv"])
            assert address, f"{name}: KEDA finds no {meta.get('addressFromEnv')} in {target}"
            assert address == redis_address, (
                f"{name}: KEDA reads {address}, the services {redis_address} (REDIS_URL)"
            )
            # KEDA's operator runs in its own namespace: a bare Service name means another one.
            assert "." in address.split(":")[0], f"{name}: {address} is not fully qualified"


@pytest.mark.parametrize("render", ["base", "overlays/local"])
def test_scaled_objects_keep_every_stage_running(
    renders: dict[str, list[Obj]], render: str
) -> None:
    objects = renders[render]
    deployments = _of_kind(objects, "Deployment")
    scaled = _of_kind(objects, "ScaledObject")
    # Every stage (a group that does not only watch) scales on its lag, and nothing else does.
    assert set(scaled) == {group for _, group in _expected_pairs()}, sorted(scaled)
    for name, obj in scaled.items():
        spec = obj["spec"]
        ref = spec["scaleTargetRef"]
        assert ref.get("kind", "Deployment") == "Deployment" and ref["name"] == name, ref
        assert ref.get("apiVersion", "apps/v1") == "apps/v1", ref
        assert name in deployments, f"ScaledObject {name} scales no Deployment"
        # A stage at zero holds every story behind it; KEDA's default minimum is 0.
        assert spec.get("minReplicaCount", 0) >= 1, f"{name}: minReplicaCount"
        assert spec.get("maxReplicaCount", 100) >= max(2, spec["minReplicaCount"]), name


def test_observers_are_not_autoscaled(local: list[Obj]) -> None:
    observers = {group for groups in OBSERVERS.values() for group in groups}
    assert observers, "shared/streams.py names no observer: is the desk gone?"
    targets = {
        o["spec"]["scaleTargetRef"]["name"] for o in _of_kind(local, "ScaledObject").values()
    }
    targets |= {
        o["spec"]["scaleTargetRef"]["name"]
        for o in _of_kind(local, "HorizontalPodAutoscaler").values()
    }
    assert not observers & targets
    for name in observers:
        # Nothing scales it, so the manifest says how many run.
        assert _one(local, "Deployment", name)["spec"].get("replicas", 0) >= 1, name


def test_every_consumer_group_has_its_service(local: list[Obj]) -> None:
    # Groups are named after the service that reads with them (shared/streams.py).
    deployments = _of_kind(local, "Deployment")
    for stream, groups in CONSUMER_GROUPS.items():
        for group in groups:
            assert group in deployments, f"{group} reads {stream} but has no Deployment"


# --- autoscaling ------------------------------------------------------------------------------


def _min_replicas(objects: list[Obj], name: str) -> int:
    for hpa in _of_kind(objects, "HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            return int(hpa["spec"].get("minReplicas", 1))
    for scaled in _of_kind(objects, "ScaledObject").values():
        if scaled["spec"]["scaleTargetRef"]["name"] == name:
            return int(scaled["spec"].get("minReplicaCount", 0))
    return int(_one(objects, "Deployment", name)["spec"].get("replicas", 1))


def test_ingest_scales_on_cpu(local: list[Obj]) -> None:
    hpas = _of_kind(local, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in hpas.values()}
    assert set(targets) == CPU_SCALED, f"HPAs scale {sorted(targets)}"
    for name, hpa in targets.items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, ref
        deployment = _one(local, "Deployment", name)
        metrics = hpa["spec"]["metrics"]
        cpu = [m for m in metrics if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        assert cpu and cpu[0]["resource"]["target"]["type"] == "Utilization", metrics
        assert 0 < cpu[0]["resource"]["target"]["averageUtilization"] <= 100
        # Utilisation is measured against the request: without one the HPA cannot work.
        for container in _pod(deployment)["containers"]:
            assert "cpu" in container.get("resources", {}).get("requests", {}), name
        # One replica would leave the feeds without an endpoint through every rollout.
        assert hpa["spec"].get("minReplicas", 1) >= 2, f"{name}: minReplicas"
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(local: list[Obj]) -> None:
    hpa_targets = [
        h["spec"]["scaleTargetRef"]["name"]
        for h in _of_kind(local, "HorizontalPodAutoscaler").values()
    ]
    keda_targets = [
        s["spec"]["scaleTargetRef"]["name"] for s in _of_kind(local, "ScaledObject").values()
    ]
    both = Counter(hpa_targets + keda_targets)
    assert not [n for n, count in both.items() if count > 1], f"two autoscalers: {both}"
    for name in both:
        # `replicas:` would reset the autoscaler's count on every apply.
        assert "replicas" not in _one(local, "Deployment", name)["spec"], name


# --- workloads ---------------------------------------------------------------------------------


def _deployment_names() -> list[str]:
    return [name for name in SETTINGS if name != "wirepress-init"]


def test_every_wirepress_workload_is_known(local: list[Obj]) -> None:
    assert set(_wirepress_workloads(local)) == set(SETTINGS)
    assert set(_of_kind(local, "Deployment")) == set(_deployment_names())


@pytest.mark.parametrize("name", _deployment_names())
def test_deployment_runs_its_service(local: list[Obj], name: str) -> None:
    deployment = _one(local, "Deployment", name)
    (container,) = _pod(deployment)["containers"]
    assert container["image"] == f"{SERVICE_IMAGE}:{LOCAL_TAG}"
    # The entrypoint is `python -m`: replacing it would bypass the image's own.
    assert "command" not in container, f"{name}: keep the image's entrypoint"
    assert container["args"] == [f"services.{name}"]
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None, name
    labels = _match_labels(deployment["spec"]["selector"], name)
    assert _selects(labels, _pod_labels(deployment)), f"{name}: selector misses its own pods"


def test_init_job_runs_wirepress_init(local: list[Obj]) -> None:
    job = _one(local, "Job", "wirepress-init")
    (container,) = _pod(job)["containers"]
    assert container["image"] == f"{TOOLS_IMAGE}:{LOCAL_TAG}"
    assert "command" not in container and container["args"] == ["init"]
    assert _pod(job)["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"].get("backoffLimit", 6) >= 3, "init retries until Valkey and S3 answer"


@pytest.mark.parametrize("name", _deployment_names())
def test_probes_ask_healthz_and_livez_on_the_named_port(local: list[Obj], name: str) -> None:
    (container,) = _pod(_one(local, "Deployment", name))["containers"]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert "http" in ports, f"{name}: no port named http ({ports})"
    # Readiness needs Redis (and ingest S3); liveness only a working process, so an outage of
    # Valkey takes pods out of service without restarting every one of them.
    for probe, path in (("readinessProbe", "/healthz"), ("livenessProbe", "/livez")):
        assert probe in container, f"{name}: no {probe}"
        get = container[probe].get("httpGet", {})
        assert get.get("path") == path, f"{name}: {probe} asks {get.get('path')}"
        assert get.get("port") == "http", f"{name}: {probe} on port {get.get('port')}"
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    # Liveness restarts the pod: it must give up later than readiness takes it out of service.
    patience = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
    assert patience > readiness.get("periodSeconds", 10) * readiness.get("failureThreshold", 3)
    if name in SLOW_STARTERS:
        startup = container.get("startupProbe")
        assert startup, f"{name} loads its models first: it needs a startupProbe"
        assert startup["httpGet"] == {"path": "/healthz", "port": "http"}
        budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        assert budget >= SLOW_STARTERS[name], f"{name}: {budget}s to start"


@pytest.mark.parametrize("name", _deployment_names())
def test_prometheus_scrapes_the_served_port(local: list[Obj], name: str) -> None:
    deployment = _one(local, "Deployment", name)
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    (container,) = _pod(deployment)["containers"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert annotations.get("prometheus.io/scrape") == "true", name
    assert annotations.get("prometheus.io/path") == "/metrics", name
    assert annotations.get("prometheus.io/port") == str(port), name


def test_every_workload_has_requests_and_limits(local: list[Obj]) -> None:
    for name, workload in _workloads(local).items():
        for container in _containers(workload):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resource in resources.get(kind, {}), f"{name}: no {resource} {kind}"
                    _quantity(resources[kind][resource])
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                limit = _quantity(resources["limits"][resource])
                assert request <= limit, f"{name}: {resource} request above its limit"


def test_every_workload_is_locked_down(local: list[Obj]) -> None:
    uid, gid = _dockerfile_ids()
    for name, workload in _workloads(local).items():
        pod = _pod(workload)
        pod_context = pod.get("securityContext", {})
        assert pod.get("automountServiceAccountToken") is False, f"{name}: mounts an API token"
        assert pod.get("hostNetwork") is not True and pod.get("hostPID") is not True, name
        for container in _containers(workload):
            where = f"{name}/{container['name']}"
            context = {**pod_context, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
            assert context.get("runAsUser", 0) != 0, f"{where}: runs as root"
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("privileged") is not True, where
            assert "ALL" in context.get("capabilities", {}).get("drop", []), where
            assert not context.get("capabilities", {}).get("add"), where
            assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            if _is_wirepress(container):
                # The user infra/Dockerfile creates: its files are owned by it.
                assert (context.get("runAsUser"), context.get("runAsGroup")) == (uid, gid), where


def test_wirepress_containers_get_a_writable_tmp(local: list[Obj]) -> None:
    for name, workload in _wirepress_workloads(local).items():
        volumes = {v["name"]: v for v in _pod(workload).get("volumes", [])}
        for container in _containers(workload):
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: read-only root and no /tmp"
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp is not an emptyDir"


def test_no_service_links(local: list[Obj]) -> None:
    # With them, the Service `ingest` would inject INGEST_PORT=tcp://..., which pydantic-settings
    # reads as the port setting (and `desk` DESK_PORT), and the services fail to start.
    for name, workload in _workloads(local).items():
        assert _pod(workload).get("enableServiceLinks") is False, name


@pytest.mark.parametrize("name", _deployment_names())
def test_grace_period_covers_the_drain(local: list[Obj], name: str) -> None:
    deployment = _one(local, "Deployment", name)
    (container,) = _pod(deployment)["containers"]
    grace_s = SETTINGS[name].model_fields["shutdown_grace_s"].default
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {})
    sleep = int(pre_stop["command"][1]) if pre_stop.get("command", [""])[0] == "sleep" else 0
    # shared/runner.py gives uvicorn SHUTDOWN_GRACE_S + 5 s to finish after SIGTERM.
    needed = sleep + int(grace_s) + 5
    grace = _pod(deployment).get("terminationGracePeriodSeconds", 30)
    assert grace >= needed, f"{name}: {grace}s to stop, needs {needed}s"


@pytest.mark.parametrize("name", _deployment_names())
def test_each_deployment_has_a_service_and_a_pdb(local: list[Obj], name: str) -> None:
    deployments = _of_kind(local, "Deployment")
    deployment = deployments[name]
    own = _pod_labels(deployment)
    others = {n: _pod_labels(d) for n, d in deployments.items() if n != name}
    container_ports = {p["name"] for p in _pod(deployment)["containers"][0]["ports"]}

    services = [
        s
        for s in _of_kind(local, "Service").values()
        if s["spec"].get("selector") and _selects(s["spec"]["selector"], own)
    ]
    assert len(services) == 1, f"{name}: {len(services)} Services select it"
    service = services[0]
    for other, labels in others.items():
        assert not _selects(service["spec"]["selector"], labels), f"{name}'s Service has {other}"
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in container_ports, f"{name}: Service to {port['targetPort']}"

    pdbs = [
        p
        for p in _of_kind(local, "PodDisruptionBudget").values()
        if _selects(_match_labels(p["spec"]["selector"], p["metadata"]["name"]), own)
    ]
    assert len(pdbs) == 1, f"{name}: {len(pdbs)} PodDisruptionBudgets select it"
    pdb = pdbs[0]
    for other, labels in others.items():
        assert not _selects(pdb["spec"]["selector"]["matchLabels"], labels), f"{name}: {other}"
    spec = pdb["spec"]
    assert ("minAvailable" in spec) != ("maxUnavailable" in spec), f"{name}: {spec}"
    if "minAvailable" in spec:
        # Otherwise no pod may ever be evicted, and node drains hang.
        assert _min_replicas(local, name) > int(spec["minAvailable"]), f"{name}: PDB blocks drains"
    else:
        assert int(spec["maxUnavailable"]) >= 1, f"{name}: PDB blocks drains"


# --- configuration and secrets ----------------------------------------------------------------


def test_config_map_keys_are_settings(local: list[Obj]) -> None:
    data = _one(local, "ConfigMap", CONFIG_MAP)["data"]
    known = frozenset().union(*(_env_names(cls) for cls in SETTINGS.values()))
    unknown = sorted(set(data) - known - set(NOT_SETTINGS))
    assert not unknown, f"no settings class reads {unknown} (a typo?)"
    leaked = sorted(set(data) & _secret_settings())
    assert not leaked, f"secrets in the ConfigMap: {leaked}"


def test_env_helper_reads_the_settings_classes() -> None:
    # Guards the guard: an empty or wrong name set would let any key through.
    assert {"INGEST_TOKEN", "REDIS_URL", "AWS_SECRET_ACCESS_KEY"} <= _env_names(IngestSettings)
    assert "DESK_SECRET" in _env_names(DeskSettings) and "DESK_SECRET" in _secret_settings()
    assert "INGEST_TOKEN" not in _env_names(RenderSettings)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_env_names_are_read_by_the_workload(local: list[Obj], name: str) -> None:
    workload = _wirepress_workloads(local)[name]
    readable = _env_names(SETTINGS[name])
    for container in _containers(workload):
        for entry in container.get("env", []):
            assert entry["name"].upper() in readable, (
                f"{name}: {SETTINGS[name].__name__} reads no {entry['name']} (a typo?)"
            )


def test_secret_keys_match_the_example_file(local: list[Obj]) -> None:
    required, optional = _secret_keys()
    refs: dict[str, bool] = {}
    for workload in _workloads(local).values():
        for container in _containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] == SECRET:
                    refs[ref["key"]] = refs.get(ref["key"], True) and bool(ref.get("optional"))
    assert sorted(k for k, opt in refs.items() if not opt) == sorted(required), (
        f"{SECRETS_EXAMPLE.name} should list exactly the keys the manifests require"
    )
    assert sorted(k for k, opt in refs.items() if opt) == sorted(optional)
    secret = _one(local, "Secret", SECRET)
    assert sorted(secret.get("data", {})) == sorted(required)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_settings_accept_the_workload_environment(
    local: list[Obj], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Each container's environment, as the rendered objects give it, read by its own class."""
    cls = SETTINGS[name]
    workload = _wirepress_workloads(local)[name]
    (container,) = _pod(workload)["containers"]
    env = _container_env(container, local, name)
    for variable in list(os.environ):
        if variable.upper() in _env_names(cls):
            monkeypatch.delenv(variable)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = cls()
    assert settings.wirepress_env == "production", f"{name}: dev secrets would apply"
    assert "CONSUMER_NAME" not in env, f"{name}: replicas sharing a name share pending entries"
    if isinstance(settings, StorageSettings):
        assert settings.s3_endpoint_url, f"{name}: no S3_ENDPOINT_URL"
        assert settings.aws_access_key_id and settings.aws_secret_access_key, f"{name}: S3 keys"
    if isinstance(settings, IngestSettings):
        assert settings.require_feeds(), "ingest has no feed"
    if name == "wirepress-init":
        return
    host_field, port_field = BIND_FIELDS.get(name, ("health_host", "health_port"))
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert getattr(settings, port_field) == port, f"{name}: listens on another port than {port}"
    assert getattr(settings, host_field) == "0.0.0.0", f"{name}: listens on loopback only"


def test_addresses_reach_services(local: list[Obj]) -> None:
    data = _one(local, "ConfigMap", CONFIG_MAP)["data"]
    namespace = _one(local, "ConfigMap", CONFIG_MAP)["metadata"]["namespace"]
    services = {
        (s["metadata"]["name"], s["metadata"]["namespace"]): s
        for s in _of_kind(local, "Service").values()
    }
    addresses = {key: urlsplit(data[key]) for key in ADDRESS_KEYS}
    addresses["REDIS_ADDRESS"] = urlsplit(f"redis://{data['REDIS_ADDRESS']}")
    for key, url in addresses.items():
        assert url.hostname and url.port, f"{key}: {data.get(key)} names no host and port"
        service_key = _service_for(url.hostname, namespace)
        assert service_key in services, f"{key}: no Service {service_key} for {url.hostname}"
        ports = [p["port"] for p in services[service_key]["spec"]["ports"]]
        assert url.port in ports, f"{key}: Service {service_key[0]} has no port {url.port}"
    redis = addresses["REDIS_URL"]
    assert data["REDIS_ADDRESS"] == f"{redis.hostname}:{redis.port}", "REDIS_ADDRESS != REDIS_URL"


# --- the local overlay's dependencies ---------------------------------------------------------


def test_local_namespace_enforces_restricted_pod_security(local: list[Obj]) -> None:
    (namespace,) = _of_kind(local, "Namespace").values()
    labels = namespace["metadata"].get("labels", {})
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels
    names = {o["metadata"].get("namespace") for o in local if o["kind"] != "Namespace"}
    assert names == {namespace["metadata"]["name"]}, names


def test_local_valkey_keeps_an_append_only_file(local: list[Obj]) -> None:
    valkey = _one(local, "StatefulSet", "redis")
    (container,) = _pod(valkey)["containers"]
    assert _image_name(container["image"]) == "valkey/valkey"
    args = container.get("args", [])
    options = dict(zip(args[1::2], args[2::2], strict=False))
    assert args[0] == "valkey-server", args
    assert options.get("--appendonly") == "yes", args
    # A 202 waits for the story's entry to be fsynced (WAITAOF): only `always` makes that cheap.
    assert options.get("--appendfsync") == "always", args
    # Ingest refuses feeds near the limit; evicting keys instead would drop streams.
    assert options.get("--maxmemory-policy") == "noeviction", args
    assert "--maxmemory" in options, "without maxmemory Valkey is OOM-killed, not refused"
    limit = _quantity(container["resources"]["limits"]["memory"])
    assert _valkey_bytes(options["--maxmemory"]) < limit, "maxmemory above the memory limit"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    claims = [c["metadata"]["name"] for c in valkey["spec"].get("volumeClaimTemplates", [])]
    assert "/data" in mounts and claims, "the append-only file must outlive the pod"


def test_local_seaweedfs_is_pinned_like_compose(local: list[Obj]) -> None:
    seaweedfs = _one(local, "StatefulSet", "seaweedfs")
    (container,) = _pod(seaweedfs)["containers"]
    compose = _yaml.load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert container["image"] == compose["services"]["seaweedfs"]["image"]
    assert seaweedfs["spec"].get("volumeClaimTemplates"), "the buckets must outlive the pod"
    assert "command" not in container, "keep the image's entrypoint (it adds `server` defaults)"


# --- the redis-auth component -----------------------------------------------------------------


def test_redis_auth_authenticates_every_trigger(with_auth: list[Obj]) -> None:
    auths = _of_kind(with_auth, "TriggerAuthentication")
    assert auths, "redis-auth adds no TriggerAuthentication"
    for name, trigger in _triggers(with_auth):
        ref = trigger.get("authenticationRef")
        assert ref, f"{name}: a trigger without authenticationRef (add it to redis-auth)"
        assert ref.get("kind", "TriggerAuthentication") == "TriggerAuthentication"
        assert ref["name"] in auths, f"{name}: no TriggerAuthentication {ref['name']}"
    for auth in auths.values():
        params = {p["parameter"] for p in auth["spec"].get("secretTargetRef", [])}
        assert "password" in params, auth


def test_redis_auth_takes_redis_url_from_a_secret(with_auth: list[Obj]) -> None:
    for name, workload in _wirepress_workloads(with_auth).items():
        for container in _containers(workload):
            entries = {e["name"]: e for e in container.get("env", [])}
            ref = entries.get("REDIS_URL", {}).get("valueFrom", {}).get("secretKeyRef")
            assert ref, f"{name}: REDIS_URL (with the password) is not from a Secret"
