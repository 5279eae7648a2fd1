"""The snapshot store: Parquet tables in a folder with a manifest, written atomically, read lazily."""

from workbench.store.dataset import Dataset, open_snapshot, to_utc
from workbench.store.writer import SnapshotWriter, series_id

__all__ = ["Dataset", "SnapshotWriter", "open_snapshot", "series_id", "to_utc"]
