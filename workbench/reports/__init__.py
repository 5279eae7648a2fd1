"""Reports: a scenario notebook run with papermill, written as one self-contained HTML file
(code hidden, interactive Bokeh plots with inline resources, nothing fetched from the network
to view it), optionally printed to PDF by headless Chromium.

>>> from workbench import reports
>>> reports.scenarios()                                               # doctest: +SKIP
['manifest_history', 'pending_pods', 'pod_view', 'post_mortem', 'resource_browser']
>>> reports.run_report("post_mortem", out=Path("pm.html"),
...                    parameters={"snapshot": "data/demo", "namespace": "shop"})  # doctest: +SKIP

The command line is ``workbench report SCENARIO --snapshot S … --out report.html [--pdf r.pdf]``.
Helpers the post-mortem notebook uses (its summary text, timeline chart, escaped tables) live
in :mod:`workbench.reports.post_mortem`, imported on its own (it loads HoloViews).
"""

from workbench.reports._params import (
    NotebookParameter,
    ReportError,
    convert_value,
    default_notebooks_dir,
    notebook_parameters,
    notebook_path,
    parse_parameters_cell,
    scenarios,
)
from workbench.reports._render import (
    atomic_write,
    external_references,
    find_chromium,
    harden_outputs,
    html_to_pdf,
    inline_cdn_resources,
    notebook_to_html,
)
from workbench.reports._run import Report, execute_notebook, parse_assignments, prepare_parameters, run_report

__all__ = [
    "NotebookParameter",
    "Report",
    "ReportError",
    "atomic_write",
    "convert_value",
    "default_notebooks_dir",
    "execute_notebook",
    "external_references",
    "find_chromium",
    "harden_outputs",
    "html_to_pdf",
    "inline_cdn_resources",
    "notebook_parameters",
    "notebook_path",
    "notebook_to_html",
    "parse_assignments",
    "parse_parameters_cell",
    "prepare_parameters",
    "run_report",
    "scenarios",
]
