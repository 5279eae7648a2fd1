"""Deterministic identifiers for the demo cluster: UIDs, name suffixes, container ids, IPs.

Every identifier is a hash of the seed and a stable description of what it names, so the same
seed gives the same names whatever order things are generated in, and no wall clock or global
random state is involved.

>>> ids = Ids(seed=0)
>>> ids.uid("Pod", "shop", "cart-0") == Ids(seed=0).uid("Pod", "shop", "cart-0")
True
>>> ids.uid("Pod", "shop", "cart-0") != Ids(seed=1).uid("Pod", "shop", "cart-0")
True
>>> len(ids.suffix("x"))
5
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import numpy as np

__all__ = ["ALPHANUMS", "Ids", "iso", "quantity_bytes", "quantity_cores"]

#: The alphabet Kubernetes uses for generated name suffixes and pod-template hashes
#: (``k8s.io/apimachinery/pkg/util/rand``: no vowels, no confusable digits).
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


class Ids:
    """Hash-based identifiers, all derived from one seed."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed

    def digest(self, *parts: object, size: int = 32) -> bytes:
        """``size`` bytes of a hash of the seed and ``parts``."""
        text = "\x1f".join([str(self.seed), *map(str, parts)])
        return hashlib.blake2b(text.encode(), digest_size=size).digest()

    def integer(self, *parts: object) -> int:
        """A non-negative 63-bit integer."""
        return int.from_bytes(self.digest(*parts, size=8), "little") >> 1

    def rng(self, *parts: object) -> np.random.Generator:
        """An independent random stream for one concern (e.g. one pod's metrics)."""
        return np.random.default_rng(np.random.SeedSequence(self.integer("rng", *parts)))

    def uid(self, *parts: object) -> str:
        """A version-4 style UUID text."""
        return str(uuid.UUID(bytes=self.digest("uid", *parts, size=16), version=4))

    def suffix(self, *parts: object, length: int = 5) -> str:
        """A name suffix in the Kubernetes alphabet (pods of a ReplicaSet: 5 characters)."""
        raw = self.digest("suffix", *parts, size=length)
        return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in raw)

    def template_hash(self, *parts: object) -> str:
        """A ``pod-template-hash`` / ``controller-revision-hash`` value (10 characters)."""
        return self.suffix("template", *parts, length=10)

    def hex(self, *parts: object, length: int = 64) -> str:
        """Lower-case hex text (container ids, image digests, trace ids)."""
        return self.digest("hex", *parts, size=(length + 1) // 2).hex()[:length]


def iso(t: dt.datetime | None) -> str | None:
    """RFC 3339 text as the API server prints it (seconds precision, ``Z``)."""
    if t is None:
        return None
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_BIN = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
_DEC = {"k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}


def quantity_cores(text: str | None) -> float | None:
    """CPU quantity text (``250m``, ``2``) as cores.

    >>> quantity_cores("250m"), quantity_cores("2")
    (0.25, 2.0)
    """
    if text is None:
        return None
    if text.endswith("m"):
        return int(text[:-1]) / 1000
    return float(text)


def quantity_bytes(text: str | None) -> int | None:
    """Memory quantity text (``512Mi``, ``1G``, ``14747116Ki``) as bytes.

    >>> quantity_bytes("512Mi"), quantity_bytes("1G")
    (536870912, 1000000000)
    """
    if text is None:
        return None
    for unit, factor in (*_BIN.items(), *_DEC.items()):
        if text.endswith(unit):
            return int(text[: -len(unit)]) * factor
    return int(text)
