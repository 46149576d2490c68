import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The action server runs from bot/ (`python -m rasa_sdk --actions actions`); tests import it the same way.
sys.path.insert(0, str(ROOT / "bot"))
