"""Starting, health-checking and stopping the project's processes, for `make run`, the tests,
the benchmark and the scale test: supervise.py (Service, Stack, supervise, free ports: any
process) and project.py (Ports, Databases and the four services of `make run`)."""

from devstack.project import Databases, LocalStack, Ports, running_stack
from devstack.supervise import Service, Stack, cpu_seconds, free_port, free_ports, supervise

__all__ = [
    "Databases",
    "LocalStack",
    "Ports",
    "Service",
    "Stack",
    "cpu_seconds",
    "free_port",
    "free_ports",
    "running_stack",
    "supervise",
]
