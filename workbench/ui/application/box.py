"""The selected box drawn on the large hitmap: a Bokeh ``BoxAnnotation`` added by a plot hook
and moved whenever the selection changes (from a drag, the URL or :meth:`select_box`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from bokeh.models import BoxAnnotation

__all__ = ["BoxMarker"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Box = tuple[dt.datetime, dt.datetime, float, float]


class BoxMarker:
    """Pass :meth:`hook` to the hitmap's ``hooks`` option; call :meth:`draw` with the box."""

    def __init__(self) -> None:
        self.model: BoxAnnotation | None = None
        self.box: Box | None = None

    def hook(self, plot: Any, element: Any) -> None:
        """Bokeh hook: add the annotation to the plot when it is built (a plot redrawn in place
        runs its hooks again: the annotation it has is kept)."""
        figure = plot.handles["plot"]
        if self.model is None or self.model not in figure.center:
            self.model = BoxAnnotation(
                fill_alpha=0.1,
                fill_color="#ff9800",
                line_color="#e65100",
                line_width=2,
                level="overlay",
                visible=False,
            )
            figure.add_layout(self.model)
        self.draw(self.box)

    def draw(self, box: Box | None) -> None:
        """Show ``box`` (finish times × response times in ms), or hide the marker."""
        self.box = box
        model = self.model
        if model is None:
            return
        values: dict[str, Any] = {"visible": False}
        if box is not None:
            t0, t1, lo, hi = box
            left, right = ((t - _EPOCH).total_seconds() * 1000 for t in (t0, t1))  # bokeh: ms since the epoch
            bottom, top = (math.log10(max(v, 1e-6)) for v in (lo, hi))  # the y axis is log10(ms)
            values = {"left": left, "right": right, "bottom": bottom, "top": top, "visible": True}
        doc = model.document
        if doc is not None and doc.session_context is not None:
            # served: change the model on the document's next tick (where its lock is held)
            doc.add_next_tick_callback(lambda: model.update(**values))
        else:
            model.update(**values)
