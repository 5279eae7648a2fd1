"""What keeps the dashboard pages' refreshes cheap (``workbench.ui._refresh``): each must still
show what a full refresh shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import panel as pn
import param
import polars as pl
from bokeh.document import Document
from bokeh.models import Column, ColumnDataSource, Div, ImportedStyleSheet
from panel.io.state import set_curdoc

import workbench as wb
from tests.support.snapshots import write_small_snapshot
from workbench.ui._refresh import Drawn, Recent, batched, update_cards, watch_scope
from workbench.ui.common import stat
from workbench.ui.live import LivePage


def test_drawn_redraws_only_when_the_data_changed() -> None:
    drawn, shown = Drawn(), []
    frame = pl.DataFrame({"pod": ["a", "b"], "cpu": [0.5, None]})
    assert drawn.draw("chart", lambda: shown.append(1), frame, "title")
    assert not drawn.draw("chart", lambda: shown.append(2), frame.clone(), "title")  # equal by value
    assert drawn.draw("chart", lambda: shown.append(3), frame.with_columns(pl.col("cpu") * 2), "title")
    assert drawn.draw("chart", lambda: shown.append(4), frame.with_columns(pl.col("cpu") * 2), "other title")
    assert drawn.draw("table", lambda: shown.append(5), frame)  # parts are apart
    drawn.forget("chart")
    assert drawn.draw("chart", lambda: shown.append(6), frame.with_columns(pl.col("cpu") * 2), "other title")
    assert shown == [1, 3, 4, 5, 6]


def test_drawn_draws_again_after_a_build_that_failed() -> None:
    drawn = Drawn()

    def broken() -> None:
        raise RuntimeError("no data")

    try:
        drawn.draw("chart", broken, 1)
    except RuntimeError:
        pass
    assert drawn.draw("chart", lambda: None, 1)


def test_recent_keeps_the_last_results_and_computes_the_others() -> None:
    recent: Recent[int] = Recent(size=2)
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert recent.get("a", lambda: compute("a")) == 1
    assert recent.get("b", lambda: compute("b")) == 2
    assert recent.get("a", lambda: compute("a")) == 1  # kept
    assert recent.get("c", lambda: compute("c")) == 3  # drops b, the least recently used
    assert recent.get("b", lambda: compute("b")) == 4
    assert recent.get(["not", "hashable"], lambda: compute("x")) == 5  # computed, never kept
    assert calls == ["a", "b", "c", "b", "x"]


def test_recent_peek_gives_what_is_kept_and_computes_nothing() -> None:
    recent: Recent[int] = Recent(size=1)
    assert recent.peek("a") is None
    recent.get("a", lambda: 1)
    assert recent.peek("a") == 1
    assert recent.peek(["not", "hashable"]) is None
    recent.get("b", lambda: 2)  # drops a
    assert recent.peek("a") is None and recent.peek("b") == 2


def _document() -> tuple[Document, Column, Any]:
    doc = Document()
    source = ColumnDataSource({"x": [1, 2]})
    root = Column(children=[Div(text="a")], tags=[source])
    doc.add_root(root)
    return doc, root, source


def test_batched_walks_the_model_graph_only_when_models_were_added_or_removed() -> None:
    doc, root, source = _document()
    walks: list[int] = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())[1]  # count the walks
    with set_curdoc(doc):
        with batched():  # new values only: no walk
            source.data = {"x": [3, 4, 5]}
            root.children[0].text = "b"
        assert walks == []
        added = Div(text="new")
        with batched():
            root.children = [*root.children, added]
            with batched():  # nested: the outer block decides
                root.children[0].text = "c"
            assert doc.get_model_by_id(added.id) is None  # not yet walked
        assert walks == [1] and doc.get_model_by_id(added.id) is added
        with batched():
            root.children = root.children[:1]
        assert walks == [1, 1] and doc.get_model_by_id(added.id) is None
    assert doc.models._freeze_count == 0 and "invalidate" not in vars(doc.models)
    # events are still sent together and the value changes reached the document's models
    assert doc.get_model_by_id(source.id).data == {"x": [3, 4, 5]}


def test_batched_walks_the_model_graph_for_a_nested_freeze_only_when_it_changed_the_graph() -> None:
    """HoloViews freezes the document around every plot it updates: values changed within such a
    freeze need no walk; a model or a root added within one does."""
    doc, root, source = _document()
    walks: list[int] = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())[1]  # count the walks
    with set_curdoc(doc):
        with batched(), doc.models.freeze():
            source.data = {"x": [7]}
            root.children[0].text = "d"
        assert walks == []
        added = Div(text="new")
        with batched(), doc.models.freeze():
            root.children = [*root.children, added]
        assert walks == [1] and doc.get_model_by_id(added.id) is added
        other = Column(children=[Div(text="root")])
        with batched(), doc.models.freeze():
            doc.add_root(other)
        assert walks == [1, 1] and doc.get_model_by_id(other.children[0].id) is other.children[0]
        with batched():
            doc.remove_root(other)
        assert walks == [1, 1, 1] and doc.get_model_by_id(other.children[0].id) is None
    assert doc.models._freeze_count == 0 and "invalidate" not in vars(doc.models)


def test_batched_walks_nothing_for_models_put_back_or_a_nested_freeze_but_walks_for_a_new_root() -> None:
    """HoloViews takes a plot's legend out and puts it back, inside its own freeze, on each
    redraw: the graph is the same at the end, so no walk; a model swapped for another, or a new
    root, is walked."""
    doc, root, _ = _document()
    walks: list[int] = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())[1]
    first = root.children[0]
    with set_curdoc(doc):
        with batched():
            with doc.models.freeze():
                root.children = []
                root.children = [first]
        assert walks == []
        other = Div(text="other")
        with batched():
            root.children = [other]  # first out, other in: same count, other models
            root.children = [other]
        assert walks == [1] and doc.get_model_by_id(other.id) is other
        assert doc.get_model_by_id(first.id) is None
        extra = Div(text="root")
        with batched():
            doc.add_root(extra)
        assert walks == [1, 1] and doc.get_model_by_id(extra.id) is extra
    assert doc.models._freeze_count == 0 and "_push_freeze" not in vars(doc.models)


def test_batched_walks_nothing_for_a_reference_added_to_a_model_the_document_holds() -> None:
    """Panel gives an HTML pane's model the design's shared stylesheet at its first new text: a
    model the page holds already, so no walk. A reference to a new model, or one dropped (the
    browser forgets a model nothing refers to), is walked."""
    doc, root, _ = _document()
    shared = ImportedStyleSheet(url="theme.css")
    first = root.children[0]
    other = Div(text="b", stylesheets=[shared])
    root.children = [first, other]  # walked now: the document holds the shared stylesheet
    walks: list[int] = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())[1]
    with set_curdoc(doc):
        with batched():
            first.stylesheets = [shared]
            first.text = "c"
        assert walks == []
        new = ImportedStyleSheet(url="new.css")
        with batched():
            first.stylesheets = [shared, new]
        assert walks == [1] and doc.get_model_by_id(new.id) is new
        with batched():
            first.stylesheets = [new]  # shared still held by the other div: walked all the same
        assert walks == [1, 1] and doc.get_model_by_id(shared.id) is shared
        with batched():
            other.stylesheets = []
        assert walks == [1, 1, 1] and doc.get_model_by_id(shared.id) is None
    assert doc.models._freeze_count == 0 and "invalidate" not in vars(doc.models)


def test_batched_after_a_failure_leaves_the_document_as_it_was() -> None:
    doc, root, _ = _document()
    added = Div(text="new")
    with set_curdoc(doc):
        try:
            with batched():
                root.children = [*root.children, added]
                raise RuntimeError("refresh failed")
        except RuntimeError:
            pass
    assert doc.models._freeze_count == 0 and doc.get_model_by_id(added.id) is added


class _Scope(param.Parameterized):
    namespace = param.String(default="")
    workload = param.String(default="")


def test_watch_scope_refreshes_once_for_the_final_state() -> None:
    """A sidebar that resets the workload when the namespace changes (as ``Scope.widgets`` does)
    leads to one refresh, with the reset workload, not one per parameter."""
    scope = _Scope(workload="Deployment/cart")
    seen: list[tuple[str, str]] = []
    scope.param.watch(lambda e: setattr(scope, "workload", ""), "namespace")  # the sidebar's watcher
    watch_scope(scope, ["namespace", "workload"], lambda: seen.append((scope.namespace, scope.workload)))
    scope.namespace = "shop"
    assert seen == [("shop", "")]
    scope.param.update(namespace="shop", workload="")  # nothing new
    assert seen == [("shop", "")]
    scope.workload = "Deployment/web"
    assert seen == [("shop", ""), ("shop", "Deployment/web")]


def test_cards_are_updated_in_place_when_they_line_up() -> None:
    box = pn.FlexBox(stat("Pods", 3), stat("Problems", 0, tone="good"))
    first: list[Any] = list(box.objects)
    update_cards(box, [stat("Pods", 5), stat("Problems", 2, tone="bad")])
    assert list(box.objects) == first  # the same panes…
    assert ">5<" in first[0].object and ">2<" in first[1].object and "#c62828" in first[1].object  # …new text
    hidden = stat("Problems", 0)
    hidden.visible = False
    update_cards(box, [stat("Pods", 5), hidden])
    assert list(box.objects) == first and first[1].visible is False  # hidden, kept for later
    update_cards(box, [stat("Pods", 6), stat("Problems", 1)])
    assert list(box.objects) == first and first[1].visible is True and ">1<" in first[1].object
    update_cards(box, [stat("Pods", 5)])
    assert len(box.objects) == 1 and box.objects[0] is not first[0]  # a different set replaces them


class _CountingPage(LivePage):
    """A live page that records the scope of each refresh."""

    def sections(self) -> list[Any]:
        return []

    def refresh(self) -> None:
        self.seen.append((self.scope.namespace, self.scope.workload))


def test_a_live_page_refreshes_once_when_a_new_namespace_resets_the_workload(tmp_path: Path) -> None:
    """With the sidebar built, picking a namespace that lacks the chosen workload makes the
    sidebar reset the workload; the page refreshes once, for the final state."""
    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    page = _CountingPage(ds, namespace="shop")
    page.seen = []
    page.sidebar()  # the scope's widgets and their watchers, as on a served page
    workload = next(v for v in page.scope.workload_options().values() if v)
    other = next(v for v in page.scope.namespace_options().values() if v not in ("", "shop"))
    page.start()
    page.scope.workload = workload
    assert page.seen == [("shop", ""), ("shop", workload)]
    page.scope.namespace = other
    assert page.seen == [("shop", ""), ("shop", workload), (other, "")]
