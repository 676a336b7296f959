"""A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` on a free loopback port, removed on stop.

Uses the server binaries of the machine (Debian's `postgresql` package puts them in
`/usr/lib/postgresql/VERSION/bin`; elsewhere they are on the PATH). PostgreSQL refuses to run as root, so under
root the cluster runs as the `postgres` system user when there is one, else `nobody`. Authentication is
`trust` on 127.0.0.1 and a private socket folder; fsync is off (a test cluster need not survive a power cut).

Example:
    >>> cluster = PostgresCluster()  # doctest: +SKIP
    >>> url = cluster.start().create_database("demo")  # doctest: +SKIP
    >>> cluster.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "writer_r1"


def server_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None when this machine has no PostgreSQL server."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """Start with `start()`, make databases with `create_database()`, remove everything with `stop()`."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or server_binaries()
        if found is None:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
        self.bin_dir = found
        self.root = Path(tempfile.mkdtemp(prefix="writer-r1-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self._user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self._user is None:
                raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        environment = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        result = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env=environment,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def start(self, attempts: int = 3) -> PostgresCluster:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        for attempt in range(attempts):
            self.port = _free_port()
            options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                )
                return self
            except RuntimeError:
                if attempt == attempts - 1:
                    log = self.root / "server.log"
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text() if log.exists() else ''}") from None
        return self

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
