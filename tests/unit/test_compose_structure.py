"""docker-compose.yml and the Dockerfile, checked by reading (scripts/test-compose.sh runs them):
every container of docs/design.md §1 with its image, ports, health check and volume; services built
from one image, wired to their own engines by compose service names; the handout's container
names; every ${VAR} in .env.example; the stand-in images' variables."""

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]

ENGINES = {
    # name: (image prefix, published host port -> container port, health command word)
    "postgres-events": ("postgres:16", {5432: 5432}, "pg_isready"),
    "postgres-payments": ("postgres:16", {5433: 5432}, "pg_isready"),
    "postgres-sagas": ("postgres:16", {5434: 5432}, "pg_isready"),
    "mongo-reservations": ("mongo:7", {27017: 27017}, "db.adminCommand('ping')"),
    "mongo-event-store": ("mongo:7", {27018: 27017}, "db.adminCommand('ping')"),
    "mongo-notifications": ("mongo:7", {27019: 27017}, "db.adminCommand('ping')"),
    "redis-cache": ("redis:7", {6379: 6379}, "redis-cli"),
    "opensearch": ("opensearchproject/opensearch:2.19.", {9200: 9200}, "_cluster/health"),
    "rabbitmq": ("rabbitmq:3-management", {5672: 5672, 15672: 15672}, "rabbitmq-diagnostics"),
}

APPS = {
    # compose name: (package, port, env prefix, engines it needs healthy, URL env -> target)
    "event-service": (
        "event_service",
        8080,
        "EVENT_",
        {"postgres-events", "rabbitmq"},
        {"EVENT_DATABASE_URL": "postgres-events"},
    ),
    "reservation-service": (
        "reservation_service",
        3000,
        "RESERVATION_",
        {"mongo-reservations", "rabbitmq"},
        {"RESERVATION_MONGO_URL": "mongo-reservations", "RESERVATION_EVENT_SERVICE_URL": "event-service"},
    ),
    "payment-service": (
        "payment_service",
        5000,
        "PAYMENT_",
        {"postgres-payments", "redis-cache", "rabbitmq"},
        {"PAYMENT_DATABASE_URL": "postgres-payments", "PAYMENT_REDIS_URL": "redis-cache"},
    ),
    "analytics-service": (
        "analytics_service",
        8081,
        "ANALYTICS_",
        {"opensearch", "rabbitmq"},
        {"ANALYTICS_OPENSEARCH_URL": "opensearch", "ANALYTICS_EVENT_SERVICE_URL": "event-service"},
    ),
    "event-store-service": (
        "event_store_service",
        3001,
        "EVENT_STORE_",
        {"mongo-event-store", "rabbitmq"},
        {"EVENT_STORE_MONGO_URL": "mongo-event-store"},
    ),
    "saga-orchestrator": (
        "saga_orchestrator",
        3002,
        "SAGA_",
        {"postgres-sagas", "rabbitmq"},
        {
            "SAGA_DATABASE_URL": "postgres-sagas",
            "SAGA_EVENT_SERVICE_URL": "event-service",
            "SAGA_RESERVATION_SERVICE_URL": "reservation-service",
            "SAGA_PAYMENT_SERVICE_URL": "payment-service",
        },
    ),
    "notification-service": (
        "notification_service",
        5001,
        "NOTIFICATION_",
        {"mongo-notifications", "rabbitmq"},
        {"NOTIFICATION_MONGO_URL": "mongo-notifications"},
    ),
    # Not a microservice (no data of its own), but run from the same image like one.
    "console": (
        "console",
        8090,
        "CONSOLE_",
        {"rabbitmq"},
        {
            "CONSOLE_EVENT_SERVICE_URL": "event-service",
            "CONSOLE_ANALYTICS_SERVICE_URL": "analytics-service",
            "CONSOLE_EVENT_STORE_URL": "event-store-service",
            "CONSOLE_SAGA_URL": "saga-orchestrator",
            "CONSOLE_RABBITMQ_API_URL": "rabbitmq",
        },
    ),
}

VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")

# The image variables scripts/compose-images.sh writes into .env, and their upstream defaults.
IMAGE_VARIABLES = {
    "POSTGRES_IMAGE": "postgres:16",
    "MONGO_IMAGE": "mongo:7",
    "REDIS_IMAGE": "redis:7",
    "OPENSEARCH_IMAGE": "opensearchproject/opensearch:2.19.4",
    "RABBITMQ_IMAGE": "rabbitmq:3-management",
    "PYTHON_IMAGE": "python:3.11-slim",
    "ZIPKIN_IMAGE": "openzipkin/zipkin:3.5.1",
}


def _defaults(text: str) -> str:
    """The value compose uses when .env sets nothing: ${X:-default} -> default."""
    return VAR.sub(lambda m: m.group(3) if m.group(2) in ("-", ":-") else m.group(0), text)


def _published(service: dict[str, Any]) -> dict[int, int]:
    """'127.0.0.1:${PORT_X:-5433}:5432' or '${PORT_Y:-8080}:8080' -> {host port: container port},
    with the defaults (the handout's ports)."""
    ports = {}
    for entry in service.get("ports", []):
        *_, host, container = _defaults(str(entry)).split(":")
        ports[int(host)] = int(container)
    return ports


def _health_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def _container_ports(name: str) -> set[int]:
    if name in APPS:
        return {APPS[name][1]}
    return set(ENGINES[name][1].values())


def _dotenv(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_every_container_of_the_design_exists_and_nothing_else():
    assert set(SERVICES) == set(ENGINES) | set(APPS) | {"zipkin"}


def test_zipkin_keeps_traces_in_memory_and_no_service_waits_for_it():
    """docs/tracing.md: the services export to it, and go on without it."""
    zipkin = SERVICES["zipkin"]
    assert _defaults(zipkin["image"]).startswith("openzipkin/zipkin:3.5")
    assert _published(zipkin) == {9411: 9411}
    assert "9411/health" in _health_text(zipkin)
    assert zipkin["environment"]["STORAGE_TYPE"] == "mem" and not zipkin.get("volumes")
    for name in APPS:
        assert "zipkin" not in (SERVICES[name].get("depends_on") or {}), name
        assert SERVICES[name]["environment"]["ZIPKIN_ENDPOINT"] == "http://zipkin:9411/api/v2/spans"


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engine_has_its_image_ports_volume_and_health_check(name):
    image, ports, probe = ENGINES[name]
    service = SERVICES[name]
    assert _defaults(service["image"]).startswith(image)
    assert _published(service) == ports
    assert probe in _health_text(service)
    assert service["healthcheck"].get("start_period")
    assert service["restart"] == "unless-stopped"
    volumes = [str(v).split(":") for v in service.get("volumes", [])]
    data = [v[0] for v in volumes if not v[0].startswith("./")]
    assert len(data) == 1 and data[0] in COMPOSE["volumes"], "the data in one named volume"
    for source, *_, mode in (v for v in volumes if v[0].startswith("./")):
        assert (ROOT / source).is_dir() and mode == "ro", "a bind mount only for read-only init files"


@pytest.mark.parametrize("name", sorted(ENGINES) + sorted(APPS))
def test_every_container_has_the_name_the_handout_types(name):
    """`docker exec -it postgres-events psql …` needs the container's name, not compose's
    <project>_postgres-events_1."""
    assert SERVICES[name]["container_name"] == name


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engine_image_is_a_variable_whose_default_is_the_upstream_image(name):
    match = VAR.fullmatch(SERVICES[name]["image"])
    assert match and match.group(2) == ":-", "image: ${X_IMAGE:-upstream}"
    assert IMAGE_VARIABLES[match.group(1)] == match.group(3)


def test_the_stand_in_script_writes_exactly_the_image_variables_compose_reads():
    text = (ROOT / "docker-compose.yml").read_text()
    used = {m.group(1) for m in VAR.finditer(text) if m.group(1).endswith("_IMAGE")}
    assert used == set(IMAGE_VARIABLES)
    script = (ROOT / "scripts" / "compose-images.sh").read_text()
    written = set(re.findall(r'"([A-Z]+_IMAGE)=\$\{TAG\[', script))
    assert written == set(IMAGE_VARIABLES)
    for name in ("postgres", "redis", "rabbitmq", "search", "mongo", "python", "zipkin"):
        assert (ROOT / "docker" / "standins" / name / "Dockerfile").exists()


def test_each_postgres_gets_its_database_user_and_password_from_the_env_file():
    for name, user, db in (
        ("postgres-events", "events_user", "events_db"),
        ("postgres-payments", "payments_user", "payments_db"),
        ("postgres-sagas", "sagas_user", "sagas_db"),
    ):
        env = SERVICES[name]["environment"]
        for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
            assert VAR.search(str(env[key])), f"{name}.{key} should come from .env"
        assert ":?" in env["POSTGRES_PASSWORD"], "a password has no default"
        # The handout's `psql -U events_user -d events_db`.
        assert (_defaults(env["POSTGRES_USER"]), _defaults(env["POSTGRES_DB"])) == (user, db)
    init = ROOT / "docker" / "postgres-init" / "10-postgres-role.sql"
    assert "CREATE ROLE postgres" in init.read_text(), "the handout's `psql -U postgres` too"


def test_mongo_has_no_users_as_in_the_handout():
    """`docker exec -it mongo-reservations mongosh`, then `use reservations_db`, works as typed:
    no root user to log in as; the ports are published on 127.0.0.1 only."""
    for name in ("mongo-reservations", "mongo-event-store", "mongo-notifications"):
        assert not any(k.startswith("MONGO_INITDB") for k in SERVICES[name].get("environment", {}))
        assert all(str(p).startswith("127.0.0.1:") for p in SERVICES[name]["ports"])
    for name in ("reservation-service", "event-store-service", "notification-service"):
        for key, value in SERVICES[name]["environment"].items():
            if key.endswith("MONGO_URL"):
                parts = urlsplit(value)
                assert parts.username is None and "directConnection=true" in parts.query


def test_every_host_port_is_a_variable_defaulting_to_the_handouts():
    """A port taken on the host (a native fleet, another program) is moved in .env."""
    for name, service in SERVICES.items():
        for entry in service.get("ports", []):
            host = str(entry).rsplit(":", 1)[0]
            assert re.search(r"\$\{PORT_[A-Z_]+:-\d+\}$", host), f"{name}: {entry}"


def test_opensearch_runs_one_node_without_security_and_a_small_heap():
    env = SERVICES["opensearch"]["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["DISABLE_SECURITY_PLUGIN"] == "true"
    assert env["DISABLE_INSTALL_DEMO_CONFIG"] == "true"
    assert env["OPENSEARCH_JAVA_OPTS"] == "-Xms512m -Xmx512m"


def test_rabbitmq_health_check_and_management_port():
    assert _health_text(SERVICES["rabbitmq"]).endswith("rabbitmq-diagnostics -q ping")
    assert 15672 in _published(SERVICES["rabbitmq"])


def test_the_seven_services_share_one_image_and_one_build():
    builds = {repr(SERVICES[name]["build"]) for name in APPS}
    images = {SERVICES[name]["image"] for name in APPS}
    assert len(builds) == 1 and len(images) == 1
    assert SERVICES["event-service"]["build"]["context"] == "."


@pytest.mark.parametrize("name", sorted(APPS))
def test_service_command_port_health_and_restart(name):
    package, port, prefix, _, _ = APPS[name]
    service = SERVICES[name]
    assert service["command"] == ["python", "-m", package]
    assert service["init"] is True, "an init as PID 1 passes SIGTERM on: a prompt stop"
    assert (ROOT / package / "__main__.py").exists()
    assert _published(service) == {port: port}
    assert service["restart"] == "unless-stopped"
    health = _health_text(service)
    assert "urllib" in health and f"127.0.0.1:{port}/ready" in health
    assert service["healthcheck"].get("start_period")
    env = service["environment"]
    assert env[f"{prefix}HOST"] == "0.0.0.0", "listen on the container's interfaces"
    assert int(env.get(f"{prefix}PORT", port)) == port


@pytest.mark.parametrize("name", sorted(APPS))
def test_service_waits_for_the_healthy_engines_it_needs(name):
    _, _, _, engines, _ = APPS[name]
    depends = SERVICES[name]["depends_on"]
    for engine in engines:
        assert depends[engine]["condition"] == "service_healthy", f"{name} -> {engine}"
    for target, spec in depends.items():
        assert target in SERVICES
        assert spec["condition"] in ("service_healthy", "service_started")


@pytest.mark.parametrize("name", sorted(APPS))
def test_service_urls_point_at_its_own_containers(name):
    _, _, _, _, urls = APPS[name]
    env = SERVICES[name]["environment"]
    for variable, target in urls.items():
        parts = urlsplit(VAR.sub("x", env[variable]))
        assert parts.hostname == target, f"{variable} should reach {target}"
        assert parts.port in _container_ports(target), f"{variable}: container port, not the host one"
    assert urlsplit(VAR.sub("x", env["AMQP_URL"])).hostname == "rabbitmq"
    # Any other *_URL names an existing compose service too (no 127.0.0.1 left over), but
    # the one the browser opens on the host: Zipkin's UI, linked from the console's page.
    for variable, value in env.items():
        if variable.endswith("_URL") and variable != "CONSOLE_ZIPKIN_UI_URL":
            assert urlsplit(VAR.sub("x", value)).hostname in SERVICES, variable


def test_services_read_their_settings_under_these_env_names():
    """The env names above are the ones the settings classes read (prefix + field name)."""
    import importlib

    for name, (package, _, prefix, _, urls) in APPS.items():
        module = f"{package}.settings"
        settings_cls = next(
            v
            for v in vars(importlib.import_module(module)).values()
            if isinstance(v, type) and issubclass(v, ServiceSettings) and v.__module__ == module
        )
        assert settings_cls.model_config["env_prefix"] == prefix, name
        fields = set(settings_cls.model_fields)
        assert "host" in fields and "port" in fields
        for variable in urls:
            assert variable.removeprefix(prefix).lower() in fields, variable


def test_env_example_defines_every_variable_the_compose_file_uses():
    text = (ROOT / "docker-compose.yml").read_text()
    # Ports and images have defaults: .env.example names them in comments.
    used = {
        m.group(1)
        for m in VAR.finditer(text)
        if m.group(2) == ":?" or not re.match(r"PORT_|.*_IMAGE$", m.group(1))
    }
    commented = {m.group(1) for m in re.finditer(r"^# ([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)}
    for name in {m.group(1) for m in VAR.finditer(text)} - used:
        assert name in commented, f"{name} is not shown in .env.example"
    defined = _dotenv(ROOT / ".env.example")
    assert used, "the compose file takes its secrets from .env"
    assert used <= set(defined), sorted(used - set(defined))
    required = {m.group(1) for m in VAR.finditer(text) if m.group(2) == ":?"}
    assert {"EVENTS_DB_PASSWORD", "PAYMENTS_DB_PASSWORD", "SAGAS_DB_PASSWORD"} <= required
    assert {"SERVICE_TOKEN", "OPERATOR_TOKEN"} <= required, "the caller-class tokens have no default"


def test_every_service_gets_both_caller_tokens_from_env():
    for name in APPS:
        env = SERVICES[name]["environment"]
        for token in ("SERVICE_TOKEN", "OPERATOR_TOKEN"):
            assert token in env, f"{name} has no {token}"
            assert f"${{{token}:?" in str(env[token]), f"{name}.{token} should be a required .env variable"


def test_env_file_with_secrets_is_neither_committed_nor_sent_to_the_build():
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".data", ".git"):
        assert entry in ignored


def test_dockerfile_is_multi_stage_slim_and_runs_as_a_user():
    lines = [
        line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip()[:1] != "#"
    ]
    froms = [line for line in lines if line.upper().startswith("FROM ")]
    assert len(froms) >= 2, "builder and runtime stages"
    assert froms[-1].split()[1] == "${PYTHON_IMAGE}"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines, "python:3.11-slim unless the stand-in is asked for"
    first = (ROOT / "Dockerfile").read_text().splitlines()[0]
    assert not first.startswith("# syntax="), "BuildKit would fetch that frontend from a registry"
    assert any(line.startswith("COPY --from=") for line in lines)
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the final stage runs unprivileged"
    assert any("pip install" in line for line in lines)
    for line in lines:
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies a missing {source}"


@pytest.mark.parametrize(
    "path",
    [
        "scripts/start-dev.sh",
        "scripts/test-compose.sh",
        "Dockerfile",
        "docker/standins/postgres/Dockerfile",
        "docker/standins/postgres/entrypoint.sh",
        "docker/postgres-init/10-postgres-role.sql",
        "docker-compose.yml",
        ".ci/run",
    ],
)
def test_scripts_and_dockerfiles_stay_lf_on_a_windows_checkout(path):
    """A CRLF shell script fails inside a Linux container (/bin/sh^M)."""
    answer = subprocess.run(
        ["git", "check-attr", "eol", "--", path], cwd=ROOT, capture_output=True, text=True
    )
    assert answer.stdout.strip().endswith("eol: lf"), answer.stdout
