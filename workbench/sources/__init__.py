"""Sources: where data comes from (clusters, Prometheus, traces, logs, files, the demo)."""
