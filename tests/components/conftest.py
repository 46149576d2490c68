"""Tests of the custom NLU components; they run in the Rasa environment from bot/ (make test-components)."""

import sys
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
sys.path.insert(0, str(BOT))
