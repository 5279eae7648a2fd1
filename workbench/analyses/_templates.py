"""Masking and Drain for :mod:`workbench.analyses.patterns` (see its docstring for the method)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

import polars as pl
from drain3.drain import Drain

__all__ = ["MASKS", "WordDrain", "drain_templates", "key_expr", "mask_expr", "mask_text", "pattern_id"]

_B = r"(?-u:\b)"  # ASCII word boundary: much faster than the Unicode one
_H = "[0-9a-fA-F]"
#: The masks, in the order they apply: (name, regex, replacement). Applied to the keyed text, in
#: which every digit run that starts a word is ``0``; they only look at digits through ``\d``.
MASKS: tuple[tuple[str, str, str], ...] = (
    ("timestamp", r"\d+-\d+-\d+[T ]\d+:\d+:\d+(?:[.,]\d+)?(?:Z|[+-]\d+(?::?\d+)?)?", "<TS>"),
    ("url", r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+", "<URL>"),
    ("ip", _B + r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?" + _B, "<IP>"),
    ("path", r"(^|[\s=\"'(\[,])/[^\s\"',)\]]+", "${1}<PATH>"),
    ("id", _B + f"(?:{_H}+-{_H}+-{_H}+-{_H}+-{_H}+|0x{_H}+|{_H}{{8,}})" + _B, "<ID>"),
    ("duration", _B + r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+" + _B, "<DUR>"),
    ("number", _B + r"\d\w*(?:\.\d\w*)*", "<NUM>"),
)
_ZERO = (_B + r"\d+", "0")
_PLACEHOLDER = re.compile(r"<(?:TS|URL|IP|PATH|ID|DUR|NUM|\*)>")
_LETTER = re.compile(r"[A-Za-z]")


def key_expr(message: str | pl.Expr = "message") -> pl.Expr:
    """The per-line key: a hash of the message with word-leading digit runs replaced by ``0``."""
    col = pl.col(message) if isinstance(message, str) else message
    return col.str.replace_all(*_ZERO).hash(seed=0)


def mask_expr(col: pl.Expr, max_chars: int) -> pl.Expr:
    zeroed = col.str.replace_all(*_ZERO)
    nl = zeroed.str.find("\n", literal=True).fill_null(max_chars)
    out = zeroed.str.slice(0, pl.min_horizontal(nl, pl.lit(max_chars)).cast(pl.UInt32))
    for _, pattern, repl in MASKS:
        out = out.str.replace_all(pattern, repl)
    return out.str.strip_chars()


def mask_text(message: str, *, max_chars: int = 400) -> str:
    """The masked first line of one message, as mining sees it.

    >>> mask_text("took 25.9ms to reach 10.0.0.7:2379 (req 5a492cc498c39e02)")
    'took <DUR> to reach <IP> (req <ID>)'
    """
    return pl.select(mask_expr(pl.lit(message), max_chars)).item()


@functools.lru_cache(maxsize=1 << 16)
def _is_word(token: str) -> bool:
    return bool(_LETTER.search(_PLACEHOLDER.sub("", token)))


class WordDrain(Drain):
    """Drain whose similarity counts only word tokens (see the module docstring)."""

    def get_seq_distance(
        self,
        seq1: Sequence[str],
        seq2: Sequence[str],
        include_params: bool,  # noqa: FBT001 - Drain's signature
    ) -> tuple[float, int]:
        equal = counted = params = 0
        for t1, t2 in zip(seq1, seq2, strict=True):
            if t1 == self.param_str:  # a wildcard counts as a word that does not agree (as in Drain)
                params += 1
                counted += 1
                equal += include_params
                continue
            if not (_is_word(t1) or _is_word(t2)):
                continue
            counted += 1
            equal += t1 == t2
        # Drain joins at similarity >= sim_th; shaving a hair makes that "more than sim_th", so
        # with 0.5 two-word messages that differ in one word ("request failed" and "request
        # completed") stay apart
        return (equal / counted if counted else 1.0) - 1e-9, params


def pattern_id(template: str) -> str:
    """The stable id of a template: 16 hex digits of its BLAKE2b hash."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=8).hexdigest()


def drain_templates(
    masked: pl.DataFrame, *, similarity: float, depth: int, max_children: int
) -> pl.DataFrame:
    """masked (``_m``, ``n``) → ``_m, pattern_id, template`` (one row per distinct masked text)."""
    order = masked.group_by("_m").agg(pl.col("n").sum()).sort(["n", "_m"], descending=[True, False])
    drain = WordDrain(depth=depth, sim_th=similarity, max_children=max_children)
    cluster_of = [drain.add_log_message(text)[0].cluster_id for text in order["_m"].to_list()]
    templates = {c.cluster_id: c.get_template() for c in drain.clusters}
    tmpl = [templates[c] for c in cluster_of]
    ids = {t: pattern_id(t) for t in set(tmpl)}
    return pl.DataFrame(
        {"_m": order["_m"], "pattern_id": [ids[t] for t in tmpl], "template": tmpl},
        schema={"_m": pl.String, "pattern_id": pl.String, "template": pl.String},
    )
