"""Keeping a served page's refreshes cheap: what every dashboard page uses when its scope or
selection changes.

- :func:`batched`: the Bokeh updates of one refresh sent together, the document's model graph
  recomputed once (or not at all when no model was added or removed).
- :func:`watch_scope`: refresh once per new scope state, after the sidebar's own watchers.
- :class:`Drawn`: redraw only the parts (charts, tables) whose inputs changed.
- :class:`Recent`: the results of the last few scopes, so going back to one costs nothing.
- :func:`update_cards`: stat cards updated in place instead of replaced.

Charts are redrawn in place by the figures of :mod:`workbench.viz._figures` (Bokeh figures built
once) or :mod:`workbench.ui._inplace` (new frames written into the figures HoloViews drew).

Each was measured with benchmark B5 (``python -m benchmarks --only B5``): in a served page a
HoloViews chart redrawn costs tens of milliseconds per plot, every pane that gets new Bokeh
models makes the whole document's model graph be walked again, and new panes need new models.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import panel as pn
import param
import polars as pl
from bokeh.model import Model
from bokeh.model.util import visit_value_and_its_immediate_references

__all__ = ["Drawn", "Recent", "batched", "update_cards", "watch_scope"]

T = TypeVar("T")
#: The model managers of the documents a :func:`batched` block holds now.
_FROZEN: weakref.WeakSet[Any] = weakref.WeakSet()


@contextlib.contextmanager
def batched(*drawn: pn.viewable.Viewable) -> Iterator[None]:
    """Batch the updates a page makes to its served document: its Bokeh events are sent
    together, and the document's model graph is recomputed once at the end (each recomputation
    walks every model of the page), or not at all when no update added or removed a model (new
    data, text, ranges or visibility of the models shown). Outside a served page (no current
    document) it does nothing.

    ``drawn``: the panes whose Bokeh models the block changes itself (plots drawn in place,
    :mod:`workbench.ui._inplace`); in a notebook their changes are sent at the end (Panel sends
    those it makes; a served page sends them all)."""
    with pn.io.hold(), _frozen(pn.state.curdoc):
        yield
    if drawn:
        pn.io.push_notebook(*drawn)


@contextlib.contextmanager
def _frozen(doc: Any) -> Iterator[None]:
    """Defer the recomputation of ``doc``'s model graph to the end of the block, and skip it
    when the block changed no reference between models. Bokeh's own ``freeze`` walks every
    model of the page at its end whatever happened (30–50 ms on a page of charts), while most
    refreshes only change values: new data, ranges, texts. Bokeh asks for the walk
    (``invalidate``) whenever a property that refers to models changes; the walk happens at the
    end when such a property ends the block referring to other models than before it (not when
    it only refers to more models the document holds already, :func:`_moved`), or when the
    document's roots changed (a nested freeze, as HoloViews and Panel take around their
    updates, changes nothing by itself). A property that is back where it was (HoloViews takes
    a plot's legend out and puts it back on each redraw) needs no walk. Any other request for
    the walk makes it happen, as before."""
    models = getattr(doc, "models", None)
    if models is None or not all(hasattr(models, a) for a in ("_push_freeze", "_freeze_count", "invalidate")):
        with contextlib.ExitStack() as stack:
            if models is not None:
                stack.enter_context(models.freeze())
            yield
        return
    if models in _FROZEN:  # nested in another batched block: that one decides
        yield
        return
    changed = False
    # (model, property) → the models it referred to before its first change in the block
    moved: dict[tuple[int, str], tuple[Any, str, dict[int, Any]]] = {}
    invalidate, push = models.invalidate, models._push_freeze
    shadowed = {a: vars(models)[a] for a in ("invalidate", "_push_freeze") if a in vars(models)}

    def note_invalidate() -> None:
        nonlocal changed
        caller = sys._getframe(1)
        if caller.f_code is _TRIGGER and not changed:  # a property of a model: note what it was
            model, attr = caller.f_locals["self"], caller.f_locals["attr"]
            if (id(model), attr) not in moved:
                moved[id(model), attr] = (model, attr, _refs(caller.f_locals["old"]))
        else:
            changed = True
        invalidate()

    def note_push() -> None:  # a nested freeze: what it changes is seen at the end
        push()

    roots = _roots(doc)
    push()
    models.invalidate, models._push_freeze = note_invalidate, note_push
    _FROZEN.add(models)
    try:
        yield
    finally:
        _FROZEN.discard(models)
        for a in ("invalidate", "_push_freeze"):
            if a in shadowed:
                setattr(models, a, shadowed[a])
            else:
                delattr(models, a)
        models._freeze_count -= 1
        if not changed:
            changed = _roots(doc) != roots or any(
                _moved(models, m, attr, was) for m, attr, was in moved.values()
            )
        if models._freeze_count == 0 and changed:
            models.recompute()


#: The code of the Bokeh method that asks for the walk when a model's property changes.
_TRIGGER = Model.trigger.__code__


def _roots(doc: Any) -> list[Any]:
    return list(getattr(doc, "roots", []))


def _moved(models: Any, model: Any, attr: str, was: dict[int, Any]) -> bool:
    """Whether ``model.attr``, which referred to the models ``was`` before the block, changes the
    model graph: it dropped one of them, or refers to one the document does not hold yet. A
    reference added to a model the document already holds does not (Panel gives an HTML pane's
    model its design's shared stylesheet at its first new text: the stylesheet is already
    the page's, a walk would find the same models)."""
    now = _refs(getattr(model, attr))
    if now.keys() == was.keys():
        return False
    if not was.keys() <= now.keys():
        return True
    return any(m.id not in models or models[m.id] is not m for k, m in now.items() if k not in was)


def _refs(value: Any) -> dict[int, Any]:
    """The models ``value`` (a property's value) refers to directly, by id (kept alive, so that
    no id is reused while compared)."""
    found: list[Any] = []
    visit_value_and_its_immediate_references(value, found.append)
    return {id(m): m for m in found}


def watch_scope(scope: param.Parameterized, names: Sequence[str], refresh: Callable[[], Any]) -> None:
    """Run ``refresh`` when the scope's ``names`` change, once per new state of them. It runs
    after the sidebar's own watchers (at a higher precedence): a new namespace that lacks the
    chosen workload makes the sidebar reset the workload, and the page then refreshes once, for
    the final state, instead of once for each."""
    seen = [tuple(getattr(scope, n) for n in names)]

    def changed(*_: Any) -> None:
        state = tuple(getattr(scope, n) for n in names)
        if state != seen[0]:
            seen[0] = state
            refresh()

    scope.param.watch(changed, list(names), precedence=1)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, pl.DataFrame) or isinstance(b, pl.DataFrame):
        return (
            isinstance(a, pl.DataFrame)
            and isinstance(b, pl.DataFrame)
            and a.schema == b.schema
            and a.equals(b)
        )
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class Drawn:
    """What each part of a page was last drawn from, so that a refresh redraws only the parts
    whose inputs changed (a chart redrawn with the same data costs a served page tens of
    milliseconds per plot, a table its rows sent again)::

        self._drawn = Drawn()
        self._drawn.draw("timeline", lambda: setattr(self._timeline, "object", viz(rows)), rows)
    """

    def __init__(self) -> None:
        self._inputs: dict[str, tuple[Any, ...]] = {}

    def draw(self, part: str, build: Callable[[], Any], *inputs: Any) -> bool:
        """Run ``build`` unless ``part`` was last drawn from equal ``inputs`` (frames compared
        by value); returns whether it ran."""
        if part in self._inputs and _same(self._inputs[part], inputs):
            return False
        self._inputs.pop(part, None)  # a build that fails leaves the part to be drawn again
        build()
        self._inputs[part] = inputs
        return True

    def forget(self, part: str | None = None) -> None:
        """Draw ``part`` (every part: None) again at the next :meth:`draw`."""
        if part is None:
            self._inputs.clear()
        else:
            self._inputs.pop(part, None)


def update_cards(box: pn.layout.ListPanel | pn.FlexBox, cards: list[Any]) -> None:
    """Show ``cards`` (panes from :func:`~workbench.ui.common.stat`) in ``box``. When ``box``
    already holds as many panes of the same types, their text, width and visibility are updated
    in place: in a served page that changes a few properties of the Bokeh models shown, where
    new panes need new models (a tenth of a second for a row of cards). A page whose cards come
    and go keeps them all and hides those it does not show."""
    old = list(box.objects)
    if len(old) != len(cards) or any(type(o) is not type(c) for o, c in zip(old, cards, strict=True)):
        box.objects = cards
        return
    for mine, new in zip(old, cards, strict=True):
        changed = {
            k: getattr(new, k)
            for k in ("object", "width", "styles", "visible")
            if getattr(mine, k) != getattr(new, k)
        }
        if changed:
            mine.param.update(**changed)


class Recent(Generic[T]):
    """The results of the last ``size`` keys (a scope's parameters, with the snapshot's version
    when it may grow): going back to a scope seen a moment ago shows it without computing it
    again. Keys must be hashable; results are kept as they are (frames are immutable)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The result for ``key``: kept, else ``compute()`` (kept if it returns; never kept for
        a key that cannot be hashed)."""
        try:
            hash(key)
        except TypeError:
            return compute()
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> T | None:
        """The result kept for ``key``, else None (nothing is computed or kept)."""
        try:
            return self._items.get(key)
        except TypeError:  # a key that cannot be hashed is never kept
            return None

    def clear(self) -> None:
        self._items.clear()
