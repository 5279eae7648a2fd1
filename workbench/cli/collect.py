"""``workbench collect`` and ``workbench watch``: snapshots from live clusters and Prometheus."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from workbench.analyses.params import parse_duration
from workbench.cli._base import cli, err_console, out_console
from workbench.errors import ParameterError, SourceError
from workbench.store import SnapshotWriter, to_utc

__all__ = ["collect", "watch"]


def _window(since: str | None, start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    hi = to_utc(end) or dt.datetime.now(dt.UTC)
    if start is not None:
        lo = to_utc(start)
    else:
        lo = hi - parse_duration(since or "6h", what="--since")
    assert lo is not None
    if lo >= hi:
        msg = f"the window is empty: start {lo.isoformat()} is not before end {hi.isoformat()}"
        raise ParameterError(msg)
    return lo, hi


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        console=err_console(),
    )


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            msg = f"--prometheus-header takes 'Name: value', not {item!r}"
            raise ParameterError(msg)
        out[name.strip()] = value.strip()
    return out


@cli.command(short_help="Collect a snapshot from live clusters (and their Prometheus).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Snapshot folder to write.")
@click.option(
    "--context", "contexts", multiple=True, help="Kubeconfig context (repeat for several clusters)."
)
@click.option("--all-contexts", is_flag=True, help="Collect every context of the kubeconfig.")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
)
@click.option(
    "--cluster", "cluster_name", help="Name to store for the cluster (default: the context's name)."
)
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace to collect (repeat; default: every readable one).",
)
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (repeat; e.g. pods, deploy, events).")
@click.option(
    "--since", default=None, help="Window length up to --end or now, e.g. 30m, 6h, 2d. [default: 6h]"
)
@click.option("--start", default=None, help="Window start (ISO 8601, UTC unless an offset is given).")
@click.option("--end", default=None, help="Window end (ISO 8601); default now.")
@click.option("--logs/--no-logs", default=True, show_default=True, help="Read pod logs of problem pods.")
@click.option(
    "--log-pod",
    "log_pods",
    multiple=True,
    help="Also read the logs of this pod (name or namespace/name; repeat).",
)
@click.option(
    "--log-tail",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Lines from the end of each log.",
)
@click.option(
    "--previous-logs/--no-previous-logs",
    default=True,
    show_default=True,
    help="Also read crashed containers' previous logs.",
)
@click.option("--redact-env", is_flag=True, help="Replace literal env values in pod specs with <redacted>.")
@click.option(
    "--prometheus-url",
    envvar="WORKBENCH_PROMETHEUS_URL",
    help="Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics). [env: WORKBENCH_PROMETHEUS_URL]",
)
@click.option(
    "--prometheus-token",
    envvar="WORKBENCH_PROMETHEUS_TOKEN",
    help="Bearer token. [env: WORKBENCH_PROMETHEUS_TOKEN]",
)
@click.option(
    "--prometheus-username",
    envvar="WORKBENCH_PROMETHEUS_USERNAME",
    help="Basic-auth user. [env: WORKBENCH_PROMETHEUS_USERNAME]",
)
@click.option(
    "--prometheus-password",
    envvar="WORKBENCH_PROMETHEUS_PASSWORD",
    help="Basic-auth password. [env: WORKBENCH_PROMETHEUS_PASSWORD]",
)
@click.option(
    "--prometheus-ca-file",
    type=click.Path(dir_okay=False, exists=True),
    help="CA bundle to verify the server.",
)
@click.option(
    "--prometheus-insecure-skip-verify", is_flag=True, help="Do not verify the server's TLS certificate."
)
@click.option(
    "--prometheus-header",
    "prometheus_headers",
    multiple=True,
    help="Extra header 'Name: value' (e.g. 'X-Scope-OrgID: team-a' for Mimir).",
)
@click.option(
    "--cluster-label", help="Prometheus label naming the cluster, for servers that hold many clusters."
)
@click.option(
    "--traces",
    "trace_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Trace file or folder to add (OTLP JSON, Zipkin v2, Jaeger; repeat). Spans without k8s attributes are matched to pods by IP.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing snapshot at --out.")
@click.option("--append", is_flag=True, help="Append to an existing snapshot at --out.")
def collect(**opts: Any) -> None:
    """Collect a snapshot from live clusters (through the official Kubernetes client) and,
    optionally, their metrics from a Prometheus-compatible server.

    Secrets are never read; managedFields are dropped; credentials are never written into the
    snapshot. A namespace or kind you may not read is recorded as a warning and the rest is
    collected.

    \b
    Examples:
      workbench collect --context prod --since 6h --out data/prod
      workbench collect --context eks-a --context eks-b -n shop --prometheus-url http://localhost:9090 --out data/fleet
    """
    from workbench.sources.kubernetes import CollectProgress, LogOptions, collect_kubernetes

    if opts["overwrite"] and opts["append"]:
        msg = "choose one of --overwrite and --append"
        raise ParameterError(msg)
    lo, hi = _window(opts["since"], opts["start"], opts["end"])
    mode = "append" if opts["append"] else "overwrite" if opts["overwrite"] else "create"
    logs = LogOptions(
        enabled=opts["logs"] or bool(opts["log_pods"]),
        problem_pods=opts["logs"],
        pods=tuple(opts["log_pods"]),
        previous=opts["previous_logs"],
        tail_lines=opts["log_tail"],
    )
    prom = None
    if opts["prometheus_url"]:
        from workbench.sources.prometheus import PrometheusSettings

        prom = PrometheusSettings.from_env(
            url=opts["prometheus_url"],
            token=opts["prometheus_token"],
            username=opts["prometheus_username"],
            password=opts["prometheus_password"],
            ca_file=opts["prometheus_ca_file"],
            insecure_skip_verify=opts["prometheus_insecure_skip_verify"] or None,
            headers=_headers(opts["prometheus_headers"]) or None,
            cluster_label=opts["cluster_label"],
        )
    with SnapshotWriter(opts["out"], mode=mode) as writer, _bar() as bar:
        writer.set_window(lo, hi)
        tasks: dict[str, Any] = {}

        def on_kube(p: CollectProgress) -> None:
            if p.cluster not in tasks:
                tasks[p.cluster] = bar.add_task(p.cluster, total=p.total, what="")
            bar.update(
                tasks[p.cluster], completed=p.done, total=p.total, what=f"{p.stage} {p.what} ({p.items})"
            )

        summary = collect_kubernetes(
            writer,
            kubeconfig=opts["kubeconfig"],
            context=list(opts["contexts"]) or None,
            all_contexts=opts["all_contexts"],
            cluster=opts["cluster_name"],
            namespaces=list(opts["namespaces"]) or None,
            kinds=list(opts["kinds"]) or None,
            start=lo,
            end=hi,
            logs=logs,
            redact_env=opts["redact_env"],
            progress=on_kube,
        )
        stats, prom_error = None, None
        if prom is not None:
            from workbench.sources.prometheus import collect_prometheus

            reached = [c.cluster for c in summary.clusters if c.reachable]
            if prom.cluster_label is None and len(reached) > 1:
                msg = (
                    f"{len(reached)} clusters were collected but Prometheus samples cannot be told apart: "
                    "pass --cluster-label (the label naming the cluster), or collect one context at a time"
                )
                raise ParameterError(msg)
            task = bar.add_task("prometheus", total=None, what="")

            def on_prom(p: Any) -> None:
                bar.update(task, completed=p.done, total=p.total, what=f"{p.query} [{p.chunk}/{p.chunks}]")

            try:
                stats = collect_prometheus(
                    writer,
                    prom,
                    start=lo,
                    end=hi,
                    namespaces=list(opts["namespaces"]) or None,
                    cluster=reached if prom.cluster_label else (reached[0] if reached else None),
                    progress=on_prom,
                )
            except SourceError as err:  # the cluster state is still worth keeping
                writer.warn("prometheus", f"no metrics collected: {err}", what="prometheus")
                prom_error = f"prometheus: no metrics collected: {err}"
    _print_summary(opts["out"], summary, stats, prom_error)
    if opts["trace_files"]:
        _add_traces(opts["out"], opts["trace_files"], [c.cluster for c in summary.clusters if c.reachable])


def _add_traces(out: Path, files: tuple[Path, ...], clusters: list[str]) -> None:
    """Append trace files to the snapshot just collected, with its pods' IPs at hand."""
    from workbench.sources.importer import import_paths

    if len(clusters) != 1:
        msg = (
            f"--traces needs exactly one collected cluster to attach the spans to (got {len(clusters)}); "
            f"add them per cluster with `workbench import FILES --cluster NAME --append --out {out}`"
        )
        raise ParameterError(msg)
    result = import_paths(list(files), out=out, cluster=clusters[0], format="traces", mode="append")
    out_console().print(f"traces: {result.rows('spans'):,} spans added to {clusters[0]}", highlight=False)
    for w in result.warnings[:10]:
        out_console().print(f"warning: {w}", highlight=False, markup=False)


def _print_summary(out: Path, summary: Any, stats: Any, prom_error: str | None) -> None:
    console = out_console()
    kinds = sorted({k for c in summary.clusters for k in c.counts})
    table = Table(title=f"collected into {out}")
    table.add_column("kind")
    for c in summary.clusters:
        table.add_column(c.cluster, justify="right")
    for kind in kinds:
        table.add_row(kind, *(f"{c.counts.get(kind, 0):,}" for c in summary.clusters))
    table.add_row("log lines", *(f"{c.log_lines:,}" for c in summary.clusters))
    table.add_row("warnings", *(str(len(c.warnings)) for c in summary.clusters))
    console.print(table)
    if stats is not None:
        console.print(
            f"prometheus: {stats.series:,} series, {stats.samples:,} samples at step {stats.step:g}s "
            f"in {stats.requests} requests ({stats.retries} retries, {len(stats.failed)} failed queries)"
        )
    warnings = [
        *summary.warnings,
        *(stats.warnings if stats is not None else []),
        *([prom_error] if prom_error else []),
    ]
    for w in warnings[:20]:
        console.print(f"[yellow]warning:[/] {w}", markup=True, highlight=False)
    if len(warnings) > 20:
        console.print(f"… and {len(warnings) - 20} more (see `workbench info {out}`)")


@cli.command(short_help="Follow clusters' objects and events into a snapshot.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Snapshot folder to append to (created if absent).",
)
@click.option(
    "--context", "contexts", multiple=True, help="Kubeconfig context (repeat for several clusters)."
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
)
@click.option(
    "-n", "--namespace", "namespaces", multiple=True, help="Namespace to watch (repeat; default: all)."
)
@click.option(
    "--kind", "kinds", multiple=True, help="Only these kinds (repeat; default: every kind collect lists)."
)
@click.option(
    "--flush-interval",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    help="Seconds between appends; a crash loses at most one interval.",
)
@click.option(
    "--duration", default=None, help="Stop after this long (e.g. 8h); default: until Ctrl+C or SIGTERM."
)
@click.option("--redact-env", is_flag=True, help="Replace literal env values in pod specs with <redacted>.")
def watch(**opts: Any) -> None:
    """Follow the clusters' objects and events and append every revision to a snapshot.

    Kubernetes keeps events for about an hour; a watch keeps them, and every object's
    revisions (what manifest diffs are made of). Resumes from resourceVersion, relists after
    410 Gone, reconnects with backoff, stops cleanly on Ctrl+C / SIGTERM after a last flush.

    \b
    Example:
      workbench watch --context prod --out data/prod-history --flush-interval 60
    """
    from workbench.sources.kubernetes import WatchProgress, watch_kubernetes

    console = err_console()

    def on_flush(p: WatchProgress) -> None:
        console.print(
            f"flush {p.flushes}: {p.written:,} revisions ({p.total:,} in all, {p.deletions} deletions, "
            f"{p.relists} relists, {p.warnings} warnings)"
        )

    summary = watch_kubernetes(
        opts["out"],
        kubeconfig=opts["kubeconfig"],
        context=list(opts["contexts"]) or None,
        namespaces=list(opts["namespaces"]) or None,
        kinds=list(opts["kinds"]) or None,
        flush_interval=opts["flush_interval"],
        max_duration=parse_duration(opts["duration"], what="--duration").total_seconds()
        if opts["duration"]
        else None,
        redact_env=opts["redact_env"],
        progress=on_flush,
    )
    out_console().print(
        f"watched into {summary.path}: {summary.total:,} revisions in {summary.flushes} flushes, "
        f"{summary.deletions} deletions, {summary.relists} relists, {len(summary.warnings)} warnings"
    )
