"""Container logs of the shop, as parsed rows of the ``logs`` table.

Formats differ by service as they do in real fleets: JSON lines (frontend, checkout, catalogue,
shipping, notifications), logfmt (cart, payment), plain Spring Boot text (the JVM
``recommendation`` service, whose stack traces (lines starting with a tab and ``at``) stay in
the message of the ERROR line they belong to, as the log sources join them). Following the log sources' conventions, ``message`` is the ``msg`` of a structured line
(the text after the timestamp for a plain one) and ``fields`` the JSON text of its other fields.
Request logs carry the trace and span ids of the SERVER span they belong to.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.schema import SCHEMAS
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.model import PodLife
from workbench.sources.demo.plan import Plan
from workbench.sources.demo.traces import ROLLOUT_ERROR

__all__ = ["part_logs"]

_TS = pl.Datetime("us", "UTC")
#: service -> (share of requests logged, format)
_ACCESS = {"frontend": (0.25, "json"), "checkout": (1.0, "json"), "catalogue": (0.05, "json"),
           "shipping": (1.0, "json"), "cart": (0.2, "logfmt"), "payment": (1.0, "logfmt"),
           "recommendation": (0.08, "plain")}  # fmt: skip
_STACK = (
    "java.lang.IllegalStateException: feature store timed out after 2000 ms",
    "\tat com.shop.recommendation.features.FeatureStoreClient.fetch(FeatureStoreClient.java:112)",
    "\tat com.shop.recommendation.service.ModelService.score(ModelService.java:88)",
    "\tat com.shop.recommendation.web.RecommendationController.recommend(RecommendationController.java:41)",
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:195)",
    "\t... 48 common frames omitted",
)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS["logs"])


def _base(namespace: str, container: pl.Expr) -> list[pl.Expr]:
    return [pl.lit(namespace).alias("namespace"), pl.col("pod"), container.alias("container")]


def _fields(**cols: pl.Expr) -> pl.Expr:
    return pl.struct(*(e.alias(k) for k, e in sorted(cols.items()))).struct.json_encode()


def _access(df: pl.DataFrame, service: str, fmt: str, namespace: str) -> pl.DataFrame:
    """One request log line per (sampled) SERVER span of ``service``."""
    err = pl.col("error")
    ms = (pl.col("duration_us") / 1000).round(1)
    path = pl.col("http_route").str.replace(r"\{id\}", "1042")
    rollout = err & pl.col("bad") & (pl.col("http_status_code") != 503)
    if service == "checkout":
        msg = pl.when(rollout).then(pl.lit(ROLLOUT_ERROR)).when(err).then(pl.lit("order failed")).otherwise(
            pl.lit("order placed"))  # fmt: skip
        fields = _fields(caller=pl.when(rollout).then(pl.lit("promo/engine.go:212")).otherwise(
            pl.lit("checkout/server.go:142")), order_id=pl.format("ord_{}", pl.col("span_id").str.slice(0, 10)),
            amount=(pl.col("duration_us") % 9000 / 100 + 5).round(2),
            error=pl.when(rollout).then(pl.lit("runtime error: invalid memory address or nil pointer dereference"))
            .when(err).then(pl.col("status_message")))  # fmt: skip
    elif service == "payment":
        msg = pl.when(err).then(pl.lit("charge failed")).otherwise(pl.lit("charge authorised"))
        fields = _fields(amount=pl.format("{}", (pl.col("duration_us") % 9000 / 100 + 5).round(2)),
                         currency=pl.lit("USD"), provider=pl.lit("paygate"),
                         err=pl.when(err).then(pl.lit("gateway timeout from api.paygate.example.com")))  # fmt: skip
    elif service == "cart":
        msg = pl.when(err).then(pl.lit("cart operation failed")).otherwise(pl.lit("cart updated"))
        fields = _fields(cart_id=pl.format("c_{}", pl.col("trace_id").str.slice(0, 8)),
                         duration_ms=ms.cast(pl.String), op=pl.col("operation"))  # fmt: skip
    elif service == "recommendation":
        msg = pl.format("INFO 1 --- [recommendation] [nio-8080-exec-{}] [{}-{}] c.s.r.web.RecommendationController "
                        "      : served 6 recommendations in {} ms", pl.col("duration_us") % 10 + 1,
                        pl.col("trace_id"), pl.col("span_id"), ms)  # fmt: skip
        fields = pl.lit(None, dtype=pl.String)
    else:
        msg = pl.when(err).then(pl.lit("request failed")).otherwise(pl.lit("request completed"))
        fields = _fields(duration_ms=ms, logger=pl.lit("http"), method=pl.col("http_method"), path=path,
                         status=pl.col("http_status_code"))  # fmt: skip
    level = pl.when(err).then(pl.lit("ERROR")).otherwise(pl.lit("INFO"))
    return df.select(
        pl.col("end").alias("ts"), *_base(namespace, pl.lit(service)),
        pl.lit("stdout").alias("stream"), level.alias("level"), msg.alias("message"), fields.alias("fields"),
        "trace_id", "span_id",
    )  # fmt: skip


def _stack_traces(df: pl.DataFrame, namespace: str) -> pl.DataFrame:
    """The JVM's failed requests: an ERROR line followed by the exception and its frames. As the
    log sources do for real files, the continuation lines stay with their first line (one row)."""
    if df.is_empty():
        return _empty()
    trace = "\n" + "\n".join(_STACK)
    return df.select(
        pl.col("end").alias("ts"), pl.lit(namespace).alias("namespace"), "pod",
        pl.lit("recommendation").alias("container"), pl.lit("stdout").alias("stream"), pl.lit("ERROR").alias("level"),
        pl.format("ERROR 1 --- [recommendation] [nio-8080-exec-{}] [{}-{}] o.a.c.c.C.[.[.[/].[dispatcherServlet]"
                  "    : Servlet.service() for servlet [dispatcherServlet] threw exception [Request "
                  "processing failed: {}] with root cause{}", pl.col("duration_us") % 10 + 1,
                  pl.col("trace_id"), pl.col("span_id"), pl.lit(_STACK[0]), pl.lit(trace)).alias("message"),
        pl.lit(None, dtype=pl.String).alias("fields"), "trace_id", "span_id",
    ).sort("ts")  # fmt: skip


def _rows(rows: list[tuple]) -> pl.DataFrame:
    cols = ("ts", "namespace", "pod", "container", "stream", "level", "message", "fields")
    if not rows:
        return _empty()
    return pl.DataFrame(rows, schema={"ts": _TS, **dict.fromkeys(cols[1:], pl.String)}, orient="row")


def _lifecycle(plan: Plan, pod: PodLife, c0: dt.datetime, c1: dt.datetime) -> list[tuple]:
    """Start-up, leak warnings and init-container failures, from the pod's record."""
    rows: list[tuple] = []
    ns, c = pod.namespace, pod.containers[0]

    def add(t: dt.datetime, level: str, msg: str, fields: str | None = None, stream: str = "stdout",
            container: str | None = None) -> None:  # fmt: skip
        if c0 <= t < c1:
            rows.append((t, ns, pod.name, container or c.name, stream, level, msg, fields))

    for i, run in enumerate(pod.runs.get(c.name, [])):
        if c.log_format == "plain":
            ready = pod.ready if i == 0 and pod.ready else run.start + dt.timedelta(seconds=60)
            took = (ready - run.start).total_seconds()
            for frac, msg in ((0.01, "Starting RecommendationApplication v4.1.0 using Java 17.0.12 with PID 1"),
                              (0.35, "Tomcat initialized with port 8080 (http)"),
                              (0.80, "Loading model artifacts from /models/reco-v42 (1.2 GB)"),
                              (0.99, f"Started RecommendationApplication in {took:.3f} seconds (process running for "
                                     f"{took + 1.7:.3f})")):  # fmt: skip
                add(
                    run.start + dt.timedelta(seconds=took * frac),
                    "INFO",
                    f"INFO 1 --- [recommendation] [           main] c.s.r.RecommendationApplication          : {msg}",
                )
        elif c.log_format == "logfmt":
            add(
                run.start + dt.timedelta(seconds=1),
                "INFO",
                "starting service",
                f'{{"port": "8080", "service": "{pod.app.name}", "version": "{pod.image(c).rsplit(":", 1)[-1]}"}}',
            )
        elif c.log_format == "json":
            add(
                run.start + dt.timedelta(seconds=1),
                "INFO",
                "server listening",
                f'{{"addr": ":8080", "version": "{pod.image(c).rsplit(":", 1)[-1]}"}}',
            )
    leak = pod.behaviour.get("leak")
    if leak:
        limit = (c.mem_limit or 0) / 1024**2
        for run in pod.runs[c.name]:
            if run.end is None or run.reason != "OOMKilled":
                continue
            t = max(run.start, leak["start"]) + dt.timedelta(seconds=60)
            while t < run.end - dt.timedelta(seconds=20):
                left = (run.end - t).total_seconds() / leak["fill"]
                heap = limit * (1 - left) * 0.93
                if heap > limit * 0.6:
                    add(t, "WARN", "heap usage high", f'{{"gc_pause_ms": "{12 + heap / 9:.0f}", "heap_alloc_mb": '
                        f'"{heap:.0f}", "limit_mb": "{limit:.0f}", "sessions_cached": "{int(heap * 410)}"}}')  # fmt: skip
                t += dt.timedelta(seconds=60)
    for ic in pod.app.init_containers:
        for run in pod.init_runs.get(ic.name, []):
            add(run.start + dt.timedelta(milliseconds=900), "UNKNOWN", "nc: bad address 'orders-db-0.orders-db.shop-svc'",
                stream="stderr", container=ic.name)  # fmt: skip
    return rows


def part_logs(
    ids: Ids, plan: Plan, part: int, c0: dt.datetime, c1: dt.datetime, spans: pl.DataFrame
) -> pl.DataFrame:
    """The log rows of one part with timestamps in ``[c0, c1)``."""
    rng = ids.rng("logs", plan.cluster.name, part, int(c0.timestamp()))
    pods = plan.parts[part].pods
    namespace = next((p.namespace for p in pods if p.app.part_of == "shop"), "shop")
    frames: list[pl.DataFrame] = []
    bad = {p.name for p in pods if "bad" in p.behaviour}
    server = spans.filter(pl.col("kind") == "SERVER").with_columns(
        pl.col("pod").is_in(list(bad)).alias("bad")
    )
    for service, (share, fmt) in _ACCESS.items():
        df = server.filter(pl.col("service") == service)
        if df.is_empty():
            continue
        keep = (rng.random(df.height) < share) | df["error"].to_numpy()
        df = df.filter(pl.Series(keep))
        if service == "recommendation":
            frames.append(_stack_traces(df.filter(pl.col("error")), namespace))
            df = df.filter(~pl.col("error"))
        frames.append(_access(df, service, fmt, namespace))
    rows = [r for pod in pods for r in _lifecycle(plan, pod, c0, c1)]
    frames.append(_rows(rows))
    out = (
        pl.concat([f for f in frames if f.height], how="diagonal_relaxed")
        if any(f.height for f in frames)
        else _empty()
    )
    if out.is_empty():
        return _empty()
    return (
        out.with_columns(
            pl.lit(plan.cluster.name).alias("cluster"),
            pl.col("ts").cast(_TS),
            pl.col("stream").cast(SCHEMAS["logs"]["stream"]),
            pl.col("level").cast(SCHEMAS["logs"]["level"]),
            pl.lit(value=False).alias("truncated"),
        )
        .select(list(SCHEMAS["logs"]))
        .sort("ts")
    )
