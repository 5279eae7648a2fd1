"""The shop's traffic over the day: requests per second at the frontend of each cluster.

Each cluster follows its users' day (US East peaks around 18:00 UTC, Europe around 13:00 UTC),
with a slower weekly-ish wobble, so a six-hour window shows a clear trend.

>>> import numpy as np
>>> r = load_factor("eks-prod-us-east-1", np.array([0.0, 6 * 3600.0]), epoch=1793599200.0)
>>> bool(0.3 < r[0] < 1.8 and 0.3 < r[1] < 1.8)
True
"""

from __future__ import annotations

import numpy as np

from workbench.sources.demo.world import EKS

__all__ = ["BASE_RPS", "load_factor", "PEAK_HOUR"]

#: Mean frontend requests per second of one copy of the shop.
BASE_RPS = {"eks": 2.0, "gke": 1.0}
PEAK_HOUR = {"eks": 18.0, "gke": 13.0}


def load_factor(cluster: str, seconds: np.ndarray, *, epoch: float) -> np.ndarray:
    """Traffic relative to the daily mean (about 0.45 at night to 1.55 at the peak) at
    ``seconds`` after the Unix time ``epoch``."""
    flavour = "eks" if cluster == EKS else "gke"
    hours = ((epoch + seconds) / 3600.0) % 24.0
    daily = np.cos((hours - PEAK_HOUR[flavour]) / 24.0 * 2 * np.pi)
    wobble = 0.08 * np.sin((epoch + seconds) / 5400.0)
    return 1.0 + 0.55 * daily + wobble


def flavour(cluster: str) -> str:
    return "eks" if cluster == EKS else "gke"
