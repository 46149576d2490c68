"""The scale test: the whole topology of deploy/scale/topology.py as real processes, many
conversations through it at once, then every tracker checked (see audit.py) and a report.

    .venv/bin/python -m deploy.scale [--conversations 60] [--concurrency 20]

Installs Redis and nginx (scripts/ci_redis_nginx.sh) and PostgreSQL (scripts/ci_postgres.sh) with
apt-get when missing; empties its own databases (scale_rasa, scale_channels, scale_backend) first.
Exits with 1 when anything was lost, duplicated, out of order or not spread over the instances.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from deploy.scale import topology
from deploy.scale.report import Outcome, judge, render
from deploy.scale.topology import BUILD, ROOT, Databases, Layout, Postgres
from deploy.scale.traffic import burst, converse
from devstack import Service, Stack, cpu_seconds, supervise
from devstack.project import RASA_PYTHON, load_demo_data

DATABASES = ("scale_rasa", "scale_channels", "scale_backend")
START_TIMEOUT = 600.0  # two Rasa servers load the model at once, on a possibly busy machine


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20, help="conversations talking at once")
    parser.add_argument("--bursts", type=int, default=3, help="race-check bursts per route")
    parser.add_argument("--burst-size", type=int, default=12, help="messages sent at once in a burst")
    args = parser.parse_args()

    databases = prepare_databases()
    layout = Layout.free()
    configs = topology.write_configs(BUILD, databases, layout)
    for old_log in (BUILD / "logs").glob("*.log"):
        old_log.unlink()  # each report reads this run's logs only
    print("Starting Redis, nginx, the backend, 2 action servers, 2 Rasa servers, 2 channel services…")
    with infrastructure(configs, layout), running(databases, configs, layout) as stack:
        before, started = cpu_seconds(stack.pids()), time.monotonic()
        conversations = asyncio.run(talk(args.conversations, args.concurrency, layout))
        seconds = time.monotonic() - started
        cpu = {name: used - before.get(name, 0.0) for name, used in cpu_seconds(stack.pids()).items()}
        bursts = asyncio.run(race_bursts(args.bursts, args.burst_size, layout))
    log = BUILD / "logs" / "nginx-access.log"
    outcome = Outcome(conversations, seconds, bursts, databases, log, cpu, layout)
    verdict = judge(outcome)
    print(render(outcome, verdict))
    return 0 if verdict.passed else 1


def prepare_databases() -> Databases:
    """scripts/ci_postgres.sh's cluster, one empty database per service."""
    urls = []
    for name in DATABASES:
        env = {**os.environ, "PG_TEST_DB": name}
        url = subprocess.run(
            [str(ROOT / "scripts/ci_postgres.sh")], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        urls.append(url)
        _empty(Postgres(url))
    return Databases(*(Postgres(url) for url in urls))


def _empty(database: Postgres) -> None:
    """Drops everything of an earlier run (the role owns the database, so it may)."""
    with psycopg.connect(database.libpq, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


def infrastructure(configs: dict[str, Path], layout: Layout) -> contextlib.AbstractContextManager[Stack]:
    """Redis and nginx as the current user, on the layout's ports, stopped on exit."""
    subprocess.run([str(ROOT / "scripts/ci_redis_nginx.sh")], check=True)
    nginx = [_program("nginx"), "-e", str(BUILD / "logs" / "nginx-error.log"), "-c", str(configs["nginx"])]
    subprocess.run([*nginx, "-t", "-q"], check=True)
    services = [
        Service(
            "redis",
            [_program("redis-server"), str(configs["redis"])],
            lambda: _redis_answers(layout.redis),
            port=layout.redis,
        ),
        Service(
            "nginx",
            [*nginx, "-g", "daemon off;"],
            f"{topology.local(layout.entry)}/nginx-health",
            port=layout.entry,
        ),
    ]
    return supervise(services, BUILD / "logs", timeout=30)


@contextlib.contextmanager
def running(databases: Databases, configs: dict[str, Path], layout: Layout) -> Iterator[Stack]:
    """The backend (demo data), action servers, Rasa servers and channel services, health-checked."""
    subprocess.run(
        [RASA_PYTHON, "-m", "tracker_admin", str(configs["rasa-1"])],
        cwd=topology.BOT,
        check=True,
        capture_output=True,
    )
    services = topology.services(databases, configs, layout)
    load_demo_data(services[0])
    names = [service.name for service in services]
    groups = [[n for n in names if n.startswith(kind)] for kind in ("backend", "actions", "rasa", "channels")]
    with supervise(services, BUILD / "logs", START_TIMEOUT, groups) as stack:
        yield stack


async def talk(count: int, concurrency: int, layout: Layout) -> list:
    gate = asyncio.Semaphore(concurrency)
    entry = f"ws://127.0.0.1:{layout.entry}"

    async def one(number: int):
        async with gate:
            return await converse(number, entry)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def race_bursts(count: int, size: int, layout: Layout) -> list:
    """The same bursts through the round-robin route and the sticky one, one after the other."""
    found = []
    for _ in range(count):
        found.append(await burst(topology.local(layout.rasa_round_robin), "round-robin", size, False))
        found.append(await burst(topology.local(layout.rasa_sticky), "sticky", size, True))
    return found


def _program(name: str) -> str:
    """Debian puts nginx in /usr/sbin, which a normal user's PATH may lack."""
    for folder in (*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/usr/bin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise FileNotFoundError(f"{name} not found (scripts/ci_redis_nginx.sh installs it)")


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


if __name__ == "__main__":
    sys.exit(main())
