"""A throwaway PostgreSQL cluster for the Dagster instance: the tests' and ``make postgres``'s.

``initdb`` into a folder (trust authentication: for 127.0.0.1 and the folder's unix socket only,
never a network address), then ``pg_ctl start`` on a free port, listening on 127.0.0.1 with its
socket in that folder. PostgreSQL refuses to run as root; when this process is root, initdb and
the server run as the ``postgres`` system user (``runuser``) and the folder is handed to that user,
so the folder's parents must be traversable by it (``/tmp`` is; pytest's ``tmp_path`` is not).

Command line (what ``make postgres`` runs)::

    python -m flexsync.pipelines.pgcluster start .pg   # prints the DAGSTER_PG_* variables, writes .pg/env
    python -m flexsync.pipelines.pgcluster stop .pg
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgCluster", "find_bin_dir", "start", "status", "stop", "throwaway"]

HOST = "127.0.0.1"
USER = "flexsync"  # the cluster's superuser role (trust authentication: no password)
DATABASE = "dagster"
SERVER_USER = "postgres"  # the system user the server runs as when this process is root
STATE_FILE = "cluster.json"
# A throwaway cluster need not survive a power cut: no fsync makes the instance's many small writes cheap.
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


@dataclass(frozen=True)
class PgCluster:
    """A running cluster: its folder (data/, socket, log), port, superuser role and Dagster database."""

    folder: Path
    port: int
    user: str = USER
    database: str = DATABASE
    host: str = HOST

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def server_pid(self) -> int | None:
        """The postmaster's pid, from the first line of ``postmaster.pid``; None when it is not running."""
        try:
            return int(self.data_dir.joinpath("postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def env(self, database: str | None = None) -> dict[str, str]:
        """The variables deploy/dagster-postgres.yaml reads (empty password: trust authentication)."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": database or self.database,
        }

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database or self.database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (one per test keeps their runs apart); return its name."""
        _run([str(find_bin_dir() / "createdb"), *self._client_args(), name])
        return name

    def _client_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def find_bin_dir() -> Path:
    """PostgreSQL's programs: $PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian), else PATH."""
    configured = os.environ.get("PG_BIN")
    candidates = [Path(configured)] if configured else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in versions]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise FileNotFoundError(
        "PostgreSQL's initdb and pg_ctl not found: install Debian's postgresql package (make system) or set PG_BIN"
    )


def _as_server_user(command: Sequence[str]) -> list[str]:
    """``command`` as the system user that may run PostgreSQL: this one, or ``postgres`` when root."""
    if os.geteuid() != 0:
        return list(command)
    return ["runuser", "-u", SERVER_USER, "--", *command]


def _run(command: Sequence[str]) -> str:
    done = subprocess.run(list(command), capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return done.stdout


def _hand_to_server_user(folder: Path) -> None:
    """When root, give the folder to the server user and check that user can reach it."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam(SERVER_USER)
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    reachable = subprocess.run(_as_server_user(["test", "-w", str(folder)]), check=False).returncode == 0
    if not reachable:
        raise PermissionError(
            f"the {SERVER_USER} system user cannot write {folder}: a parent folder is not traversable by it "
            "(PostgreSQL refuses to run as root); use a folder under /tmp or a world-traversable path"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _pg_ctl(cluster: PgCluster, *args: str) -> list[str]:
    return _as_server_user([str(find_bin_dir() / "pg_ctl"), "-D", str(cluster.data_dir), *args])


def status(folder: Path | str) -> PgCluster | None:
    """The cluster running from ``folder``, or None when it is not running (or was never made)."""
    folder = Path(folder).resolve()
    state = folder / STATE_FILE
    if not state.is_file():
        return None
    cluster = PgCluster(folder=folder, **json.loads(state.read_text(encoding="utf-8")))
    running = subprocess.run(_pg_ctl(cluster, "status"), capture_output=True, check=False).returncode == 0
    return cluster if running else None


def start(folder: Path | str, *, fast: bool = False, attempts: int = 3) -> PgCluster:
    """Start the cluster in ``folder`` (initdb on first use), with its Dagster database; return it.

    Already running: returned as it is. ``fast`` turns fsync off (tests). A free port is picked
    on 127.0.0.1; if another process takes it before the server binds, a new one is tried.
    """
    folder = Path(folder).resolve()
    running = status(folder)
    if running:
        return running
    folder.mkdir(parents=True, exist_ok=True)
    _hand_to_server_user(folder)
    data = folder / "data"
    fresh = not (data / "PG_VERSION").is_file()
    if fresh:
        initdb = [str(find_bin_dir() / "initdb"), "-D", str(data), "-U", USER, "--auth=trust"]
        _run(_as_server_user([*initdb, "--encoding=UTF8", "--locale=C", "--no-instructions", "--no-sync"]))
    for attempt in range(attempts):
        cluster = PgCluster(folder=folder, port=_free_port())
        options = ["-c", f"listen_addresses={HOST}", "-p", str(cluster.port), "-k", str(folder)]
        options += FAST if fast else ()
        log = folder / "postgres.log"
        try:
            _run(_pg_ctl(cluster, "-l", str(log), "-w", "-t", "60", "-o", " ".join(options), "start"))
            break
        except RuntimeError:
            if attempt == attempts - 1:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.is_file() else ""
                raise RuntimeError(f"PostgreSQL did not start from {folder}:\n{tail}") from None
    (folder / STATE_FILE).write_text(json.dumps({"port": cluster.port}), encoding="utf-8")
    if fresh:
        cluster.create_database(DATABASE)
    return cluster


def stop(folder: Path | str) -> bool:
    """Stop the cluster running from ``folder`` (fast shutdown); False when it was not running."""
    cluster = status(folder)
    if cluster is None:
        return False
    _run(_pg_ctl(cluster, "-m", "fast", "-w", "-t", "60", "stop"))
    return True


@contextmanager
def throwaway() -> Iterator[PgCluster]:
    """A fast cluster in a new folder under the system temporary folder, stopped and deleted after use."""
    folder = Path(tempfile.mkdtemp(prefix="flexsync-pg-"))
    try:
        yield start(folder, fast=True)
    finally:
        try:
            stop(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _env_file(cluster: PgCluster) -> Path:
    """``folder/env``: the DAGSTER_PG_* variables as shell exports (``. .pg/env``)."""
    path = cluster.folder / "env"
    path.write_text("".join(f"export {k}='{v}'\n" for k, v in cluster.env().items()), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flexsync.pipelines.pgcluster", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.action == "stop":
        print("stopped" if stop(args.folder) else f"no cluster running from {args.folder}")
        return 0
    cluster = start(args.folder) if args.action == "start" else status(args.folder)
    if cluster is None:
        print(f"no cluster running from {args.folder}")
        return 1
    env_file = _env_file(cluster)
    print(f"PostgreSQL on {cluster.host}:{cluster.port}, database {cluster.database}; variables in {env_file}")
    print(env_file.read_text(encoding="utf-8"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
