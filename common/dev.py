"""Where the repository is, and the development defaults every service falls back to when
nothing is configured: `make run`'s ports on loopback and SQLite files under build/.

Services share these through `common/` instead of importing each other's settings (the channel
service never imports the backend). Imported by the Rasa environment too (Python 3.10).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD = REPO_ROOT / "build"

# `make run`'s ports (each overridden by its service's *_PORT variable).
RASA_PORT = 5005
ACTIONS_PORT = 5055
BACKEND_PORT = 8001
CHANNELS_PORT = 8000


def local_url(port: int) -> str:
    """A service on this machine's loopback interface."""
    return f"http://127.0.0.1:{port}"


def sqlite_url(file_name: str) -> str:
    """A development database: an SQLite file under build/."""
    return f"sqlite:///{BUILD / file_name}"
