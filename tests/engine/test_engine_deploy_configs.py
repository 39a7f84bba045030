"""The deploy/ files load as Dagster reads them: run configs against the jobs' schema, instance configs
against the instance's and dagster-k8s's schemas (docker, Kubernetes and Slurm are not available here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import dagster as dg
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher
from engine_helpers import POSTGRES_YAML, REPO

from flexsync.definitions import defs
from flexsync.pipelines.executors import EXECUTION_ENV, engines, executor_config_schema
from flexsync.pipelines.jobs import INGEST_JOB

DEPLOY = REPO / "deploy"


def _yaml(relative: str) -> dict:
    return yaml.safe_load((DEPLOY / relative).read_text(encoding="utf-8"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_workspace_names_a_code_server_on_localhost_under_the_default_location_name():
    from dagster._core.workspace.config_schema import process_workspace_config

    from flexsync.pipelines.backfill import DEFAULT_CODE_LOCATION

    workspace = _yaml("workspace.yaml")
    assert process_workspace_config(workspace).success
    (location,) = workspace["load_from"]
    entry = location["grpc_server"]
    # flexsync backfill names this location by default: the daemon must find it under that name
    assert entry == {"host": "127.0.0.1", "port": 4266, "location_name": DEFAULT_CODE_LOCATION}
    comment = (DEPLOY / "workspace.yaml").read_text(encoding="utf-8")
    assert f"--host 127.0.0.1 --port 4266 --location-name {DEFAULT_CODE_LOCATION}" in comment


def test_the_slurm_run_config_is_valid_for_the_ingest_job(monkeypatch):
    for name, value in {"FLEXSYNC_CELERY_BROKER": "redis://127.0.0.1:6379/0", "FLEXSYNC_RAW_ROOT": "/data/raw"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLEXSYNC_STORE_ROOT", "/data/store")
    result = dg.validate_run_config(defs.resolve_job_def(INGEST_JOB), _yaml("slurm/run-config.yaml"))
    ((executor, engine),) = result["execution"].items()
    assert executor == "flexsync"
    assert engine["celery"]["broker"] == engine["celery"]["backend"] == "redis://127.0.0.1:6379/0"
    resource = result["resources"]["flexsync"]["config"]
    assert (resource["raw_root"], resource["store_root"], resource["stream_workers"]) == ("/data/raw", "/data/store", 4)


def test_the_k8s_run_config_is_valid_for_the_executor_offered_in_a_pod():
    schema = executor_config_schema(engines(kubernetes=True))
    result = process_config(schema.config_type, _yaml("k8s/run-config.yaml")["execution"]["config"])
    assert result.success, result.errors
    steps = result.value["k8s"]["per_step_k8s_config"]
    assert steps["recording_streams"]["container_config"]["resources"]["requests"] == {"cpu": "4", "memory": "6Gi"}
    assert result.value["k8s"]["step_k8s_config"]["container_config"]["resources"]["requests"]["cpu"] == "1"


def test_the_helm_execution_default_is_the_k8s_run_config():
    (user_deployment,) = _yaml("k8s/values.yaml")["dagster-user-deployments"]["deployments"]
    env = {item["name"]: item["value"] for item in user_deployment["env"]}
    assert yaml.safe_load(env["FLEXSYNC_EXECUTION"]) == _yaml("k8s/run-config.yaml")["execution"]["config"]
    assert user_deployment["dagsterApiGrpcArgs"] == ["--module-name", "flexsync.definitions"]
    assert env["FLEXSYNC_CODE_LOCATION"] == user_deployment["name"]


def test_the_helm_run_launcher_config_loads_in_dagster_k8s():
    """The chart renders runLauncher.config.k8sRunLauncher into dagster.yaml with snake_case keys."""
    values = _yaml("k8s/values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = {_snake(k): v for k, v in values["runLauncher"]["config"]["k8sRunLauncher"].items()}
    launcher["run_k8s_config"] = {_snake(k): v for k, v in launcher["run_k8s_config"].items()}
    # what the chart adds itself: the instance config map, the password secret, the namespace's image
    launcher |= {"instance_config_map": "flexsync-instance", "postgres_password_secret": "dagster-postgresql-secret"}
    result = process_config(K8sRunLauncher.config_type(), launcher)
    assert result.success, result.errors
    assert result.value["run_k8s_config"]["container_config"]["resources"]["limits"] == {"memory": "1Gi"}
    assert values["postgresql"]["enabled"] is False and "postgresqlPassword" not in values["postgresql"]


def test_the_postgres_instance_yaml_loads(tmp_path, monkeypatch):
    for name, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "u"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    monkeypatch.setenv("DAGSTER_PG_DB", "dagster")
    (tmp_path / "dagster.yaml").write_text(POSTGRES_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 2
    assert config["concurrency"]["pools"] == {"granularity": "op", "default_limit": 2}
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_every_engine_is_offered_in_a_pod():
    assert sorted(engines(kubernetes=True)) == ["celery", "in_process", "k8s", "multiprocess"]


_OFFERED = """
import json, sys
import flexsync.definitions
from flexsync.pipelines.executors import ENGINES, default_execution
offered = {"engines": sorted(ENGINES), "default": default_execution(), "kubernetes": "kubernetes" in sys.modules}
print(json.dumps(offered))
"""


def _offered(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("KUBERNETES_SERVICE_HOST", EXECUTION_ENV)}
    done = subprocess.run([sys.executable, "-c", _OFFERED], env=clean | env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_k8s_is_offered_only_in_a_pod_or_when_chosen_and_otherwise_never_imported():
    """The Kubernetes client costs every run worker ~1.4 s and ~50 MB: off Kubernetes it is not imported."""
    off, every = ["celery", "in_process", "multiprocess"], ["celery", "in_process", "k8s", "multiprocess"]
    assert _offered({}) == {"engines": off, "default": {"in_process": {}}, "kubernetes": False}
    k8s = _yaml("k8s/run-config.yaml")["execution"]["config"]
    assert _offered({EXECUTION_ENV: json.dumps(k8s)}) == {"engines": every, "default": k8s, "kubernetes": True}
    assert _offered({"KUBERNETES_SERVICE_HOST": "10.0.0.1"})["engines"] == every
