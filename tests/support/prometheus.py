"""A real Prometheus server for tests and benchmarks: backfill a data dir from OpenMetrics text
with ``promtool``, then serve it on a free loopback port.

>>> text = format_openmetrics([OMSeries("up", "gauge", {"job": "x"}, [(1.7e9, 1.0)])])  # doctest: +SKIP
>>> data = backfill(text, tmp / "data")                                                 # doctest: +SKIP
>>> with PrometheusServer(data) as prom:                                                # doctest: +SKIP
...     requests.get(prom.url + "/api/v1/query", params={"query": "up", "time": 1.7e9})

Rules learnt the hard way (see ``shared/ENVIRONMENT.md``): timestamps in seconds, counters
declared ``# TYPE x counter`` with samples named ``x_total``, samples in time order per series,
the file ends with ``# EOF``, ``--max-block-duration=24h`` for long ranges, retention ``100y``
(it counts from the newest block), instant queries need ``time=`` for old data.

Servers listen on 127.0.0.1 only, run in their own process session and are stopped by PID.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = [
    "INSTALL_HINT",
    "OMSeries",
    "PrometheusServer",
    "backfill",
    "format_openmetrics",
    "free_port",
    "prometheus_binaries",
]

INSTALL_HINT = "install prometheus: apt-get install prometheus"


def prometheus_binaries() -> tuple[str, str]:
    """The paths of ``prometheus`` and ``promtool``; RuntimeError with the install hint if absent."""
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if prom is None or tool is None:
        missing = " and ".join(n for n, p in (("prometheus", prom), ("promtool", tool)) if p is None)
        msg = f"{missing} not found on PATH; {INSTALL_HINT}"
        raise RuntimeError(msg)
    return prom, tool


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class OMSeries:
    """One series to backfill: ``name`` as stored (a counter's name ends in ``_total``), its
    family type, labels and ``(unix_seconds, value)`` samples in time order."""

    name: str
    type: str
    labels: Mapping[str, str]
    samples: Sequence[tuple[float, float]]

    @property
    def family(self) -> str:
        return self.name.removesuffix("_total") if self.type == "counter" else self.name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() or abs(v) >= 1e15 else str(int(v))


def format_openmetrics(series: Iterable[OMSeries]) -> str:
    """OpenMetrics text that ``promtool tsdb create-blocks-from openmetrics`` accepts: the
    samples of one family together after its ``# TYPE`` line, each series' samples in time
    order, ``# EOF`` at the end. Values are written exactly (``repr`` of the float)."""
    families: dict[str, list[OMSeries]] = {}
    types: dict[str, str] = {}
    for s in series:
        if s.type == "counter" and not s.name.endswith("_total"):
            msg = f"counter {s.name!r}: OpenMetrics counter samples must be named <family>_total"
            raise ValueError(msg)
        if types.setdefault(s.family, s.type) != s.type:
            msg = f"family {s.family!r} declared both {types[s.family]} and {s.type}"
            raise ValueError(msg)
        families.setdefault(s.family, []).append(s)
    out: list[str] = []
    for family, members in families.items():
        out.append(f"# TYPE {family} {types[family]}\n")
        for s in members:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            head = f"{s.name}{{{labels}}} " if labels else f"{s.name} "
            last = -math.inf
            for ts, value in s.samples:
                if ts <= last:
                    msg = f"series {s.name}{{{labels}}}: samples out of time order at {ts}"
                    raise ValueError(msg)
                last = ts
                out.append(f"{head}{_number(value)} {_number(round(ts, 3))}\n")
    out.append("# EOF\n")
    return "".join(out)


def backfill(
    openmetrics: str | os.PathLike[str], data_dir: str | os.PathLike[str], *, max_block_duration: str = "24h"
) -> Path:
    """Create TSDB blocks in ``data_dir`` from OpenMetrics text (or a file holding it)."""
    _prom, tool = prometheus_binaries()
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    if isinstance(openmetrics, str) and "\n" in openmetrics:
        source = data.parent / f"{data.name}.om.txt"
        source.write_text(openmetrics, encoding="utf-8")
    else:
        source = Path(openmetrics)
    done = subprocess.run(
        [
            tool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={max_block_duration}",
            str(source),
            str(data),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"promtool backfill of {source} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    return data


class PrometheusServer:
    """A Prometheus process serving ``data_dir`` on 127.0.0.1; a context manager.

    ``start()`` waits until ``/-/ready`` answers; ``stop()`` ends the process by its PID
    (SIGTERM, then SIGKILL) and is safe to call twice.
    """

    def __init__(
        self, data_dir: str | os.PathLike[str], *, port: int | None = None, ready_timeout: float = 30.0
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> PrometheusServer:
        prom, _tool = prometheus_binaries()
        config = self.data_dir.parent / f"{self.data_dir.name}.prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n", encoding="utf-8")
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                prom,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"prometheus exited with {self.proc.returncode}: {self.log_path.read_text(errors='replace')[-3000:]}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        msg = f"prometheus on {self.url} was not ready after {self.ready_timeout:.0f} s; see {self.log_path}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> PrometheusServer:
        return self.start() if self.proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
