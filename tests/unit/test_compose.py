"""Static checks of the container setup: docker-compose.yml and infra/Dockerfile.

There is no Docker engine on the development machines, so the compose file is validated against
the Compose Specification schema (vendored in check-jsonschema, no network needed) and the rules
the stack relies on are asserted on the parsed YAML.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

PIPELINE = ("ingest", "enrich", "render", "publish")
SECRETS = ("INGEST_TOKEN", "AWS_SECRET_ACCESS_KEY", "DESK_SECRET")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # The safe loader resolves anchors and `<<` merge keys, as Compose does.
    data = YAML(typ="safe").load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    return command.split() if isinstance(command, str) else list(command or [])


def _has_host_port(entry: Any) -> bool:
    """True when a `ports` entry pins a host port (or host address), in short or long syntax."""
    if isinstance(entry, dict):
        return entry.get("published") is not None or entry.get("host_ip") is not None
    text = str(entry).split("/", 1)[0]  # drop "/tcp"
    # "8080" or "8080-8081" is container-only; "host:container" or "ip:host:container" is not.
    # Bracketed IPv6 addresses never occur without a host part, so counting ':' is enough.
    return ":" in text


def test_compose_file_matches_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert checker.exists(), f"check-jsonschema not found next to {sys.executable}"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


def test_no_top_level_version(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "`version:` is obsolete in the Compose Specification"


def test_expected_services(services: dict[str, dict[str, Any]]) -> None:
    assert {"redis", "seaweedfs", "init", "wirepress", *PIPELINE} <= set(services)
    # The tools are there to be run (`docker compose run --rm wirepress status`), not started.
    assert services["wirepress"]["profiles"] == ["tools"]


@pytest.mark.parametrize("name", PIPELINE)
def test_pipeline_service_can_scale(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    assert "container_name" not in service, f"{name}: container_name prevents --scale"
    fixed = [entry for entry in service.get("ports", []) if _has_host_port(entry)]
    assert not fixed, f"{name}: fixed host ports prevent --scale: {fixed}"


def test_host_port_detection() -> None:
    assert not _has_host_port("8080")
    assert not _has_host_port(8080)
    assert not _has_host_port("8080/tcp")
    assert not _has_host_port({"target": 8080})
    assert _has_host_port("8080:8080")
    assert _has_host_port("127.0.0.1:8080:8080")
    assert _has_host_port({"target": 8080, "published": "8080"})


def test_one_image_for_the_services_and_one_for_the_tools(
    services: dict[str, dict[str, Any]],
) -> None:
    images = {services[name].get("image") for name in PIPELINE}
    assert len(images) == 1 and None not in images, images
    builds = [services[name].get("build") for name in PIPELINE]
    assert all(build == builds[0] for build in builds), builds
    assert builds[0] == {"context": ".", "dockerfile": "infra/Dockerfile", "target": "service"}
    for name in ("init", "wirepress"):
        assert services[name]["build"]["target"] == "tools", name
        assert services[name]["image"] != services["ingest"]["image"], name


@pytest.mark.parametrize("name", PIPELINE)
def test_pipeline_service_runs_its_own_command(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    assert _command(service) == [f"services.{name}"]
    assert service.get("restart") == "unless-stopped"
    assert service.get("stop_grace_period") == "30s"


@pytest.mark.parametrize("name", ("redis", "seaweedfs", *PIPELINE))
def test_long_running_services_have_a_healthcheck(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    healthcheck = services[name].get("healthcheck") or {}
    assert not healthcheck.get("disable"), name
    test = healthcheck.get("test")
    assert test and test != ["NONE"], f"{name}: no healthcheck test"


@pytest.mark.parametrize(("name", "port"), [("ingest", 8080), *((n, 8081) for n in PIPELINE[1:])])
def test_healthchecks_probe_the_right_port(
    services: dict[str, dict[str, Any]], name: str, port: int
) -> None:
    test = " ".join(services[name]["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in test


def test_redis_keeps_an_append_only_file(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    assert redis["image"].split(":")[0] in {"valkey/valkey", "redis"}
    args = _command(redis)
    assert "--appendonly" in args and args[args.index("--appendonly") + 1] == "yes"
    assert "--appendfsync" in args and args[args.index("--appendfsync") + 1] == "always"
    # Bounded, never evicting a stream entry (ingest slows feeds down at 85% of it).
    assert "--maxmemory" in args and args[args.index("--maxmemory") + 1]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(str(volume).endswith(":/data") for volume in redis.get("volumes", []))


def test_seaweedfs_serves_s3_with_persistent_data(services: dict[str, dict[str, Any]]) -> None:
    seaweedfs = services["seaweedfs"]
    assert seaweedfs["image"].split(":")[0] == "chrislusf/seaweedfs"
    args = _command(seaweedfs)
    assert args[0] in {"server", "mini"}
    assert "-dir=/data" in args
    assert any(str(volume).endswith(":/data") for volume in seaweedfs.get("volumes", []))
    assert any(str(entry).endswith(":8333") for entry in seaweedfs.get("ports", []))


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_init_runs_once_before_the_pipeline(services: dict[str, dict[str, Any]]) -> None:
    init = services["init"]
    assert _command(init) == ["init"]
    assert init.get("restart") == "no"
    for backing in ("redis", "seaweedfs"):
        assert init["depends_on"][backing]["condition"] == "service_healthy"
    for name in PIPELINE:
        depends_on = services[name]["depends_on"]
        assert depends_on["init"]["condition"] == "service_completed_successfully", name
        for backing in ("redis", "seaweedfs"):
            assert depends_on[backing]["condition"] == "service_healthy", (name, backing)


def test_no_minio_anywhere(services: dict[str, dict[str, Any]]) -> None:
    images = {name: str(service.get("image", "")) for name, service in services.items()}
    assert not [name for name, image in images.items() if "minio" in image.lower()], images
    assert "minio" not in COMPOSE_FILE.read_text(encoding="utf-8").lower()


def test_secrets_have_no_default(services: dict[str, dict[str, Any]]) -> None:
    assert "INGEST_TOKEN" in _environment(services["ingest"])
    required = re.compile(r"^\$\{(?P<var>\w+):?\?[^}]*\}$")
    for name, service in services.items():
        env = _environment(service)
        for secret in SECRETS:
            if secret in env:
                assert required.match(env[secret]), (
                    f"{name}: {secret} must be `${{VAR:?message}}`, not {env[secret]!r}"
                )


def test_the_desk_runs_from_the_services_image_with_its_secret_required(
    services: dict[str, dict[str, Any]],
) -> None:
    desk = services["desk"]
    assert _command(desk) == ["services.desk"]
    assert desk["image"] == services["ingest"]["image"]
    assert "DESK_SECRET" in _environment(desk)
    assert "127.0.0.1:8085/healthz" in " ".join(desk["healthcheck"]["test"])


def test_consumer_name_is_left_to_each_replica(services: dict[str, dict[str, Any]]) -> None:
    for name in ("init", "wirepress", *PIPELINE):
        assert "CONSUMER_NAME" not in _environment(services[name]), name


def _stage(text: str, name: str) -> str:
    stages = re.split(r"(?im)^FROM\s", text)
    [stage] = [s for s in stages if re.match(rf"\S+\s+AS\s+{name}\s*$", s.splitlines()[0], re.I)]
    return stage


def test_dockerfile_runs_wirepress_as_non_root() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    # The service image is the default (last) target; the tools image is its own stage.
    final_stage = re.split(r"(?im)^FROM\s", text)[-1]
    assert final_stage.startswith("base AS service")
    for stage in (final_stage, _stage(text, "tools")):
        users = re.findall(r"(?im)^USER\s+(\S+)", stage)
        assert users, "no USER in a runtime stage"
        assert users[-1].split(":")[0] not in {"root", "0"}
    healthcheck = re.search(r"(?m)^HEALTHCHECK\b(?P<args>(?:[^\n]*\\\n)*[^\n]*)", final_stage)
    assert healthcheck, "no HEALTHCHECK in the runtime stage"
    assert re.search(r"\bCMD\b", healthcheck["args"]) and "urllib" in healthcheck["args"]
    assert re.search(r'(?m)^ENTRYPOINT\s+\["python", "-m"\]\s*$', final_stage)
    assert re.search(r'(?m)^ENTRYPOINT\s+\["wirepress"\]\s*$', _stage(text, "tools"))
    # The service image carries the services and the library, not the command line.
    service_build = _stage(text, "service-build")
    assert "COPY shared" in service_build and "COPY services" in service_build
    assert "COPY cli" not in service_build
    assert "--require-hashes -r requirements/runtime.lock" in text
    assert "python:3.11-slim" in text
    assert re.search(r"(?m)^ENV\s[^\n]*PYTHONUNBUFFERED=1", text)


def test_dockerfile_bakes_in_no_secret() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    for secret in ("INGEST_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        assert not re.search(rf"(?im)^\s*(ENV|ARG)\b[^\n]*\b{secret}\b", text), secret
        assert not re.search(rf"(?m)^\s+{secret}=", text), secret


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert {".venv", "var", ".git"} <= patterns
