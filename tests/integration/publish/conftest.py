from __future__ import annotations

import sys
from pathlib import Path

# releasekit (hand-built signed releases) lives with the unit tests; publish_helpers here.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "publish"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
