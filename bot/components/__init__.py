"""The project's custom NLU components, imported by Rasa as `components.*` from bot/.

Rasa puts only its working directory (bot/) on sys.path; what the services share (common/, e.g.
the list of languages) lives one level up."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
