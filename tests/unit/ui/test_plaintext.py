"""Cluster text in panes is escaped: Panel's Str pane hands its text to the browser as HTML."""

from __future__ import annotations

import panel as pn

from workbench.ui.common import PlainText, text

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def _html(pane: pn.pane.Str) -> str:
    """The HTML the browser sets as the pane's content (Panel escapes it for transport and the
    page unescapes it once before setting innerHTML)."""
    import html

    return html.unescape(pane._transform_object(pane.object)["object"])


def test_plain_text_reaches_the_browser_escaped() -> None:
    for pane in (PlainText(XSS), text(XSS)):
        rendered = _html(pane)
        assert "<script>" not in rendered and "<img" not in rendered
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in rendered


def test_panels_own_str_pane_does_not_escape() -> None:
    """Why PlainText exists: if Panel starts escaping, PlainText would escape twice."""
    assert "<script>" in _html(pn.pane.Str(XSS))
