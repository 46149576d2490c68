"""devstack.cpu_seconds: what a service costs, counted in every process it runs."""

import subprocess
import sys
import time

from devstack import cpu_seconds

# A parent that idles while its child burns about half a second of CPU, as Sanic's main process
# does while its worker serves.
BURN = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\ntime.sleep(30)"
PARENT = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {BURN!r}])\ntime.sleep(30)"


def test_the_cpu_of_a_service_includes_its_worker_processes() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds({"service": parent.pid}).get("service", 0.0) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        used = cpu_seconds({"service": parent.pid, "gone": 2**22 + 1})
        assert used["service"] >= 0.5
        assert "gone" not in used
    finally:
        subprocess.run(["pkill", "-KILL", "-g", str(parent.pid)], check=False)
        parent.wait()
