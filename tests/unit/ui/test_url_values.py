"""Values of a link's query that Panel reads as something else (``?namespace=123``: a number)."""

from __future__ import annotations

import param
from panel.io.location import Location

from workbench.ui.common import url_values_refused

MAPPING = {"cluster": "cluster", "namespace": "namespace", "traced_only": "traced_only", "limit": "limit"}


class Page(param.Parameterized):
    cluster = param.String(default="")
    namespace = param.String(default="")
    traced_only = param.Boolean(default=False)
    limit = param.Integer(default=10)


def test_a_namespace_named_like_a_number_is_restored_from_a_link() -> None:
    page = Page()
    location = Location(search="?cluster=eks&namespace=123&traced_only=true")
    location.sync(page, MAPPING, on_error=url_values_refused(page, MAPPING, location))
    assert (page.cluster, page.namespace, page.traced_only) == ("eks", "123", True)


def test_a_value_no_reading_fits_is_ignored_and_the_others_kept() -> None:
    page = Page()
    location = Location(search="?namespace=007&limit=many&cluster=1e3")
    location.sync(page, MAPPING, on_error=url_values_refused(page, MAPPING, location))
    # the query's own text, not the number Python reads (7, 1000.0)
    assert (page.namespace, page.cluster, page.limit) == ("007", "1e3", 10)
