"""Schema validation: errors name the table, the column, the expected and the found type."""

import datetime as dt

import polars as pl
import pytest

from workbench.errors import SchemaError
from workbench.schema import SCHEMAS, TABLES, conform, empty, validate


def test_every_design_table_has_a_schema_with_a_cluster_column() -> None:
    for table in (
        "objects",
        "pods",
        "containers",
        "nodes",
        "workloads",
        "services",
        "events",
        "metrics",
        "spans",
        "logs",
    ):
        assert table in TABLES
        assert SCHEMAS[table]["cluster"] == pl.String
    for schema in SCHEMAS.values():
        for name, dtype in schema.items():
            if isinstance(dtype, pl.Datetime):
                assert dtype == pl.Datetime("us", "UTC"), name


def test_validate_names_table_column_expected_and_found() -> None:
    frame = empty("pods").with_columns(pl.col("cpu_request").cast(pl.String))
    with pytest.raises(
        SchemaError, match=r"table 'pods', column 'cpu_request': expected Float64, found String"
    ):
        validate("pods", frame)
    with pytest.raises(
        SchemaError, match=r"table 'logs', column 'message': expected String, found no such column"
    ):
        validate("logs", empty("logs").drop("message"))
    with pytest.raises(SchemaError, match=r"table 'logs': unexpected column\(s\) 'extra'"):
        validate("logs", empty("logs").with_columns(pl.lit(1).alias("extra")))
    with pytest.raises(
        SchemaError,
        match=r"table 'spans', column 'start': expected Datetime\(time_unit='us', time_zone='UTC'\)",
    ):
        validate("spans", empty("spans").with_columns(pl.col("start").dt.replace_time_zone(None)))
    with pytest.raises(SchemaError, match="unknown table 'pod'; the tables are: objects, pods"):
        validate("pod", empty("pods"))


def test_conform_types_values_and_rejects_what_does_not_fit() -> None:
    t = dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC)
    got = conform(
        "pods", [{"cluster": "c", "name": "a", "phase": "Pending", "qos_class": "BestEffort", "created": t}]
    )
    validate("pods", got)
    assert got.row(0, named=True)["phase"] == "Pending" and got["restarts"].to_list() == [None]
    with pytest.raises(SchemaError, match="phase"):
        conform("pods", [{"phase": "Crashing"}])
    with pytest.raises(SchemaError, match=r"column 'restarts'"):
        conform("pods", [{"restarts": "three"}])
    with pytest.raises(SchemaError, match=r"unexpected column\(s\) 'colour'"):
        conform("pods", [{"colour": "red"}])
    assert conform("pods", []).equals(empty("pods"))
