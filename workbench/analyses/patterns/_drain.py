"""Drain with vectorised matching: the same templates as :class:`~workbench.analyses._templates.WordDrain`
(drain3's tree, word-token similarity), each message compared with all templates of its tree leaf in
one numpy step instead of a Python loop per template.

Drain (He et al., ICWS 2017) routes a message down a prefix tree (token count, then its first
``depth - 2`` tokens, tokens with digits under ``<*>``) to a leaf, and joins the leaf's most similar
template when the similarity reaches the threshold, else starts a new template there. A leaf can
hold thousands of templates (every one-word message shares one leaf), so a Python loop per template
made mining quadratic; here a leaf keeps its templates as a matrix of token ids.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.analyses._templates import _is_word, pattern_id

__all__ = ["VectorDrain", "drain_templates"]

PARAM = "<*>"
_SMALL = 8  # leaves with at most this many templates are matched in a loop


class _Leaf:
    """The templates of one tree leaf: cluster ids and a (templates × tokens) matrix of token ids."""

    __slots__ = ("ids", "rows")

    def __init__(self, width: int) -> None:
        self.ids: list[int] = []
        self.rows = np.zeros((4, width), dtype=np.int64)

    def add(self, cluster: int, row: np.ndarray) -> None:
        if len(self.ids) == self.rows.shape[0]:
            self.rows = np.concatenate([self.rows, np.zeros_like(self.rows)])
        self.rows[len(self.ids)] = row
        self.ids.append(cluster)


class _Node:
    __slots__ = ("children", "leaf")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.leaf: _Leaf | None = None


class VectorDrain:
    """drain3's ``Drain`` (``max_clusters=None``, whitespace tokens, numeric tokens as ``<*>`` in
    the tree) with WordDrain's similarity: the share of agreeing tokens among word tokens and the
    template's wildcards, a hair under, so a message joins only *above* ``sim_th``."""

    def __init__(self, *, depth: int = 4, sim_th: float = 0.5, max_children: int = 100) -> None:
        if depth < 3:
            msg = f"depth must be at least 3 (got {depth})"
            raise ValueError(msg)
        self.max_node_depth = depth - 2
        self.sim_th = sim_th
        self.max_children = max_children
        self.root = _Node()
        self.templates: list[tuple[str, ...]] = []  # cluster id → template tokens
        self._where: list[tuple[_Leaf, int]] = []  # cluster id → its leaf and row
        self._vocab: dict[str, int] = {PARAM: 0}  # token → id; "<*>" is 0
        self._is_word = np.zeros(1024, dtype=bool)  # token id → has a letter outside the masks

    def _ids(self, tokens: list[str] | tuple[str, ...]) -> np.ndarray:
        vocab, out = self._vocab, np.empty(len(tokens), dtype=np.int64)
        for i, tok in enumerate(tokens):
            tid = vocab.get(tok)
            if tid is None:
                tid = vocab[tok] = len(vocab)
                if tid == self._is_word.shape[0]:
                    self._is_word = np.concatenate([self._is_word, np.zeros_like(self._is_word)])
                self._is_word[tid] = _is_word(tok)
            out[i] = tid
        return out

    def add(self, content: str) -> int:
        """Add one message; the id (0, 1, …) of the template it joined or started."""
        tokens = content.split()
        ids = self._ids(tokens)
        leaf = self._search(tokens)
        best = self._match(leaf, ids) if leaf is not None else None
        if best is None:
            cid = len(self.templates)
            self.templates.append(tuple(tokens))
            leaf = self._insert(tokens)
            leaf.add(cid, ids)
            self._where.append((leaf, len(leaf.ids) - 1))
            return cid
        old = self.templates[best]
        new = tuple(t if t == m else PARAM for m, t in zip(tokens, old, strict=True))
        if new != old:
            self.templates[best] = new
            at, row = self._where[best]
            at.rows[row] = self._ids(new)
        return best

    def _search(self, tokens: list[str]) -> _Leaf | None:
        node = self.root.children.get(str(len(tokens)))
        if node is None:
            return None
        depth = 1
        for token in tokens:
            if depth >= self.max_node_depth or depth == len(tokens):
                break
            nxt = node.children.get(token) or node.children.get(PARAM)
            if nxt is None:
                return None
            node, depth = nxt, depth + 1
        return node.leaf

    def _match(self, leaf: _Leaf, msg: np.ndarray) -> int | None:
        n = len(leaf.ids)
        if n == 0:
            return None
        if msg.shape[0] == 0:  # empty messages: drain3 returns the leaf's first template
            return leaf.ids[0]
        if n <= _SMALL:
            return self._match_few(leaf.ids, msg)
        tmpl = leaf.rows[:n]
        param = tmpl == 0
        either = self._is_word[tmpl] | self._is_word[msg]
        counted = (param | either).sum(axis=1)
        equal = (either & ~param & (tmpl == msg)).sum(axis=1)
        params = param.sum(axis=1)
        sim = np.where(counted > 0, equal / np.maximum(counted, 1), 1.0) - 1e-9
        top = sim.max()
        if top < self.sim_th:
            return None
        tied = sim == top
        return leaf.ids[int(np.flatnonzero(tied & (params == params[tied].max()))[0])]

    def _match_few(self, ids: list[int], msg: np.ndarray) -> int | None:
        """:meth:`_match` as a loop, quicker for a few templates (WordDrain's own arithmetic)."""
        words, toks = self._is_word, msg.tolist()
        best, best_sim, best_params = None, -1.0, -1
        for cid in ids:
            at, row = self._where[cid]
            equal = counted = params = 0
            for t, m in zip(at.rows[row].tolist(), toks, strict=True):
                if t == 0:
                    params += 1
                    counted += 1
                elif words[t] or words[m]:
                    counted += 1
                    equal += t == m
            sim = (equal / counted if counted else 1.0) - 1e-9
            if sim > best_sim or (sim == best_sim and params > best_params):
                best, best_sim, best_params = cid, sim, params
        return best if best_sim >= self.sim_th else None

    def _insert(self, tokens: list[str]) -> _Leaf:
        """drain3's ``add_seq_to_prefix_tree``: the leaf a new template goes to, made if needed."""
        count = len(tokens)
        node = self.root.children.setdefault(str(count), _Node())
        depth = 1
        for token in tokens:
            if depth >= self.max_node_depth or depth >= count:
                break
            kids = node.children
            if token in kids:
                node = kids[token]
            elif any(ch.isdigit() for ch in token):
                node = kids.setdefault(PARAM, _Node())
            elif PARAM in kids:
                node = kids.setdefault(token, _Node()) if len(kids) < self.max_children else kids[PARAM]
            elif len(kids) + 1 < self.max_children:
                node = kids.setdefault(token, _Node())
            elif len(kids) + 1 == self.max_children:
                node = kids.setdefault(PARAM, _Node())
            else:
                node = kids[PARAM]
            depth += 1
        if node.leaf is None:
            node.leaf = _Leaf(count)
        return node.leaf


def drain_templates(
    masked: pl.DataFrame, *, similarity: float, depth: int, max_children: int
) -> pl.DataFrame:
    """masked (``_m``, ``n``) → ``_m, pattern_id, template`` (one row per distinct masked text),
    fed to Drain most frequent first (ties by text) so the result is deterministic."""
    order = masked.group_by("_m").agg(pl.col("n").sum()).sort(["n", "_m"], descending=[True, False])
    drain = VectorDrain(depth=depth, sim_th=similarity, max_children=max_children)
    joined = [drain.add(text) for text in order["_m"].to_list()]
    tmpl = [" ".join(drain.templates[c]) for c in joined]
    ids = {t: pattern_id(t) for t in set(tmpl)}
    return pl.DataFrame(
        {"_m": order["_m"], "pattern_id": [ids[t] for t in tmpl], "template": tmpl},
        schema={"_m": pl.String, "pattern_id": pl.String, "template": pl.String},
    )
