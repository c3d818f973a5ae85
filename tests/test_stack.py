"""The Docker stack as configuration: docker-compose.yml, the Dockerfile and the seeding script.

There is no Docker engine where the tests run, so the stack is checked the way compose itself
reads it: ``docker-compose config`` (Debian's v1 needs no engine) resolves anchors, merges and
``${VAR:-default}`` values, and the tests read its output. Without the binary those tests skip,
unless ``RKO_REQUIRE_STACK_TOOLS=1`` (CI, after installing it), where that is a failure. The
seeding script runs for real, on an SQLite warehouse.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from rko_model.model.registry import Registry
from rko_model.settings import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SEED_SCRIPT = PROJECT_ROOT / "scripts" / "stack_seed.sh"
REQUIRE_TOOLS = os.environ.get("RKO_REQUIRE_STACK_TOOLS") == "1"

#: The Airflow components the stack must run, and the services they need.
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
)
BACKING_SERVICES = ("postgres", "redis", "minio")
CONNECTIONS = ("AIRFLOW_CONN_RKO_WAREHOUSE", "AIRFLOW_CONN_RKO_STAGING")


def settings_variables() -> list[str]:
    """Every ``RKO_*`` variable rko_model's settings read, from the code itself."""
    source = (PROJECT_ROOT / "rko_model" / "settings.py").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"env\.get\(\s*\"(RKO_[A-Z0-9_]+)\"", source)))
    assert "RKO_WAREHOUSE_URL" in names, "the settings no longer read RKO_WAREHOUSE_URL through env.get"
    return names


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    """The stack as compose resolves it, with every default (no variable of the caller's shell)."""
    command = compose_command()
    if command is None:
        message = "neither docker-compose nor `docker compose` is installed: the stack's configuration is not checked"
        if REQUIRE_TOOLS:
            pytest.fail(f"RKO_REQUIRE_STACK_TOOLS=1 but {message}")
        pytest.skip(message)
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL")}
    proc = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the list form, KEY=VALUE
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(service: dict) -> dict[str, str]:
    """Target path -> named volume (or host path) of a service's mounts, in either syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


def dockerfile_copies() -> dict[PurePosixPath, Path]:
    """Image path -> checkout path of every COPY in the Dockerfile."""
    copies = {}
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        parts = [p for p in line.split() if not p.startswith("--")]
        if not parts or parts[0] != "COPY":
            continue
        *sources, target = parts[1:]
        for source in sources:
            image_path = PurePosixPath(target) / source if target.endswith("/") else PurePosixPath(target)
            copies[image_path] = PROJECT_ROOT / source
    return copies


def in_image(path: str) -> Path | None:
    """The checkout file or folder an absolute path of the image comes from, if a COPY brings it."""
    wanted = PurePosixPath(path)
    for image_path, checkout in dockerfile_copies().items():
        if wanted == image_path or image_path in wanted.parents:
            return checkout / wanted.relative_to(image_path)
    return None


def test_every_component_is_there_and_the_workers_scale(compose: dict) -> None:
    services = compose["services"]
    missing = [name for name in (*AIRFLOW_SERVICES, *BACKING_SERVICES) if name not in services]
    assert missing == []
    assert [name for name, svc in services.items() if "container_name" in svc] == []
    worker = services["airflow-worker"]
    assert "ports" not in worker, "a fixed host port would stop `--scale airflow-worker=N`"
    assert "celery worker" in " ".join(
        worker["command"] if isinstance(worker["command"], list) else [worker["command"]]
    )
    assert services["airflow-apiserver"]["ports"], "the UI needs a host port"
    for name in (*AIRFLOW_SERVICES, *BACKING_SERVICES):
        if name != "airflow-init":
            assert "healthcheck" in services[name], name
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_airflow_services_share_image_executor_and_settings(compose: dict) -> None:
    services = compose["services"]
    image = services["airflow-apiserver"]["image"]
    needed = [*settings_variables(), *CONNECTIONS]
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        assert svc["image"] == image and svc["build"], name
        env = environment(svc)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert [var for var in needed if not env.get(var)] == [], name
        assert urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).hostname == "airflow-apiserver"
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        assert make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).host == "postgres"


def test_the_connections_and_urls_reach_the_warehouse_service(compose: dict) -> None:
    services = compose["services"]
    env = environment(services["airflow-worker"])
    warehouse = make_url(env["RKO_WAREHOUSE_URL"])
    assert warehouse.get_backend_name() == "postgresql" and warehouse.host in services
    server = environment(services[warehouse.host])
    assert (server["POSTGRES_USER"], server["POSTGRES_PASSWORD"], server["POSTGRES_DB"]) == (
        warehouse.username,
        warehouse.password,
        warehouse.database,
    )
    assert make_url(env["RKO_STAGING_URL"]).host in services
    for var in CONNECTIONS:
        conn = json.loads(env[var])  # the JSON form of an AIRFLOW_CONN_* variable
        assert conn["conn_type"] == "postgres"
        assert (conn["host"], conn["schema"], conn["login"], conn["password"]) == (
            warehouse.host,
            warehouse.database,
            warehouse.username,
            warehouse.password,
        )


def test_the_hook_reads_the_connections_as_the_settings_urls(compose: dict, tmp_path: Path) -> None:
    """The DAGs' hook (plugins/rko_airflow) turns the stack's Connections into the URLs rko_model is given."""
    stack_env = environment(compose["services"]["airflow-worker"])
    code = (
        "import json\n"
        "from rko_airflow.hooks import STAGING_CONN_ID, WAREHOUSE_CONN_ID, RkoDatabaseHook\n"
        "print(json.dumps([RkoDatabaseHook(c).sqlalchemy_url() for c in (WAREHOUSE_CONN_ID, STAGING_CONN_ID)]))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
        **{var: stack_env[var] for var in CONNECTIONS},
    }
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warehouse, staging = json.loads(proc.stdout.strip().splitlines()[-1])
    assert warehouse == stack_env["RKO_WAREHOUSE_URL"] and staging == stack_env["RKO_STAGING_URL"]


def test_data_folder_is_one_named_volume_on_every_airflow_service(compose: dict) -> None:
    services = compose["services"]
    named = set(compose["volumes"])
    data_dir = environment(services["airflow-worker"])["RKO_DATA_DIR"]
    sources = set()
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["RKO_DATA_DIR"] == data_dir, name
        for var, folder in (("RKO_REGISTRY_DIR", "registry"), ("RKO_RUNS_DIR", "runs")):  # in the store, not here
            assert env[var] == f"{env['RKO_ARTIFACT_URL']}/{folder}", (name, var)
        mounts = volume_mounts(services[name])
        assert data_dir in mounts, name
        sources.add(mounts[data_dir])
    assert len(sources) == 1 and sources <= named
    for name in (*BACKING_SERVICES, "warehouse"):
        assert set(volume_mounts(services[name]).values()) <= named, name


def test_paths_in_the_settings_exist_in_the_image(compose: dict) -> None:
    env = environment(compose["services"]["airflow-worker"])
    for var in ("RKO_SQL_DIR", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"):
        source = in_image(env[var])
        assert source is not None and source.is_dir(), (var, env[var])
    source = in_image(env["RKO_OKVED_EXCLUSIONS"])
    assert source is not None and source.is_file()
    assert (in_image(env["AIRFLOW__CORE__DAGS_FOLDER"]) / "rko_monthly_scoring.py").is_file()


def test_init_migrates_and_seeds(compose: dict) -> None:
    init = compose["services"]["airflow-init"]
    env = environment(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true" and env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    script = " ".join(init["command"])
    seed = re.search(r"(/\S+/stack_seed\.sh)", script)
    assert seed is not None, "airflow-init does not run the seeding script"
    assert in_image(seed.group(1)) == SEED_SCRIPT
    for var in ("RKO_SEED_CLIENTS", "RKO_SEED_MONTHS"):
        assert int(env[var]) > 0


def test_image_matches_the_pins() -> None:
    """The image's Airflow is the locked one: the FROM tag, the lock and the direct pins agree."""
    from tests.lockfile import direct_pins, locked

    base = re.search(r"^FROM\s+apache/airflow:(\S+)-python(\d+\.\d+)\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base is not None, "the Dockerfile is not FROM apache/airflow:<version>-python<x.y>"
    pins = direct_pins()
    assert base.group(1) == pins["apache-airflow"] == locked()["apache-airflow"].version
    target = re.search(r'target-version\s*=\s*"py(\d)(\d+)"', (PROJECT_ROOT / "pyproject.toml").read_text())
    assert target is not None and base.group(2) == f"{target.group(1)}.{target.group(2)}"
    assert {"apache-airflow-core", "apache-airflow-task-sdk"}.isdisjoint(pins), "pin Airflow through apache-airflow"


def test_image_installs_the_lock_into_a_venv_of_its_own() -> None:
    """The lock goes with its hashes into a venv first on PATH, not over the base image's packages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    venv = re.search(r"python3\.11 -m venv (\S+)", text)
    assert venv is not None, "the Dockerfile makes no venv"
    installs = re.findall(r"(\S+?)(?: -m)? pip install ([^&\n]*)", text)
    locked_install = [cmd for python, cmd in installs if python == f"{venv.group(1)}/bin/python"]
    assert locked_install and "--require-hashes" in locked_install[0]
    assert "requirements.txt" in locked_install[0]
    assert f"{venv.group(1)}/bin/python -m pip check" in text
    path = re.search(r"PATH=(\S+)", text)
    assert path is not None and path.group(1).split(":")[0] == f"{venv.group(1)}/bin"
    assert dockerfile_copies()[PurePosixPath("/opt/rko/requirements.txt")] == PROJECT_ROOT / "requirements.txt"
    # Anything installed later (the project itself) needs no index and no unhashed build backend.
    for python, cmd in installs:
        assert "--require-hashes" in cmd or "--no-deps --no-build-isolation" in cmd, (python, cmd)


def test_the_artefact_store_is_a_minio_bucket_every_airflow_service_reaches(compose: dict) -> None:
    """RKO_ARTIFACT_URL is s3://<bucket> of the minio service, the bucket exists before Airflow starts."""
    from rko_model.storage.artifacts import check_root

    services = compose["services"]
    minio_env, init = environment(services["minio"]), services["minio-init"]
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        url = urlsplit(env["RKO_ARTIFACT_URL"])
        assert url.scheme == "s3" and url.netloc, name
        check_root(env["RKO_ARTIFACT_URL"])  # s3fs is in the lock, so the image reaches the bucket
        assert urlsplit(env["FSSPEC_S3_ENDPOINT_URL"]).hostname == "minio", name
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
            minio_env["MINIO_ROOT_USER"],
            minio_env["MINIO_ROOT_PASSWORD"],
        ), name
        assert services[name]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully", name
    assert environment(init)["RKO_ARTIFACT_BUCKET"] == url.netloc
    assert "mc mb --ignore-existing" in " ".join(init["command"])
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"


def test_dockerignore_keeps_artefacts_out_but_not_what_the_image_copies() -> None:
    patterns = [
        line.strip().rstrip("/")
        for line in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for local in ("data", ".venv", ".git", "catboost_info"):
        assert any(fnmatch.fnmatch(local, p) for p in patterns), local
    for checkout in dockerfile_copies().values():
        name = str(checkout.relative_to(PROJECT_ROOT))
        assert checkout.exists() and not any(fnmatch.fnmatch(name, p) for p in patterns), name


@pytest.mark.slow
def test_seed_script_seeds_once(tmp_path: Path) -> None:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "RKO_DATA_DIR": str(tmp_path / "data"),
        "RKO_SEED_CLIENTS": "800",
        "RKO_SEED_MONTHS": "20",
        "RKO_SEED_TRAIN_MONTHS": "2",
        "RKO_SEED_TEST_MONTHS": "1",
        "RKO_SEED_ITERATIONS": "20",
    }

    def seed() -> str:
        proc = subprocess.run(["bash", str(SEED_SCRIPT)], capture_output=True, text=True, check=False, env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return proc.stdout

    first = seed()
    assert "seeding the warehouse" in first and "promoted to champion" in first
    registry = Registry(tmp_path / "data" / "registry", tmp_path / "cache")
    champion = registry.champion_version()
    assert champion is not None and registry.versions() == [champion]
    warehouse = tmp_path / "data" / "warehouse.db"
    written = warehouse.stat().st_mtime_ns

    second = seed()
    assert "already holds a bank" in second and "already has a champion" in second
    assert registry.versions() == [champion] and len(registry.decisions()) == 1
    assert warehouse.stat().st_mtime_ns == written

    pointer = tmp_path / "data" / "registry" / "champion.json"
    pointer.write_bytes(pointer.read_bytes()[:10])  # a registry that cannot be read is not an empty one
    proc = subprocess.run(["bash", str(SEED_SCRIPT)], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 2 and "champion pointer" in proc.stderr and "rko champion failed" in proc.stderr
    assert "training" not in proc.stdout and registry.versions() == [champion]

    env["RKO_SEED_BANK"] = "false"
    assert "not seeding" in seed()
