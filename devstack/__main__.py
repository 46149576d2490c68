"""Starts the whole stack (account backend, action server, Rasa server, channel service) and
stops it on exit (`make run`, `make chat`).

python -m devstack serve   # start them and keep them running until Ctrl-C
python -m devstack chat    # start them, chat in the terminal, stop them on exit

The backend gets the demo data (python -m backend.demo) on its database, by default
build/backend.db; set DATABASE_URL for another one. Rasa keeps its conversations in an SQL
tracker store (build/rasa-tracker.db). The channel service starts Telegram when
TELEGRAM_BOT_TOKEN is set. Ports: RASA_PORT, ACTION_PORT, BACKEND_PORT, CHANNELS_PORT.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from devstack.project import running_stack


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["chat", "serve"])
    args = parser.parse_args()
    print("Starting the backend, the action server, Rasa and the channels (about a minute)…", flush=True)
    with running_stack() as stack:
        ports = stack.ports
        telegram = "on" if os.environ.get("TELEGRAM_BOT_TOKEN") else "off (set TELEGRAM_BOT_TOKEN)"
        print(
            f"\nChat with the bot:   {ports.channels_url}/  (the website widget's demo page)\n"
            f"Helpdesk console:    {ports.channels_url}/console  (demo sign-in: agent / agent-demo-pass)\n"
            f"Telegram:            {telegram}\n"
            f"Account backend:     {ports.backend_url}/docs  (demo people: backend/README.md)\n"
            f"Rasa:                {ports.rasa_url}  (REST: /webhooks/rest/webhook)\n"
            f"Logs:                {stack.databases.logs}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        if args.mode == "chat":
            from channels.terminal import chat

            chat(ports.rasa_url)
        else:
            _stop_on_signals()
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0


def _stop_on_signals() -> None:
    """Ctrl-C, or SIGTERM from a supervisor, stops the stack (a background start may have
    inherited SIGINT as ignored)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    sys.exit(main())
