"""Shared test set-up: import the package from the working tree, find ../shared."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

if str(REPO / "workflow") not in sys.path:
    sys.path.insert(0, str(REPO / "workflow"))
