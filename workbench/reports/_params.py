"""The scenario notebooks and their parameters cells, and command-line values converted to the
types those cells declare."""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import sys
import tokenize
from pathlib import Path
from types import ModuleType
from typing import Any

import workbench
from workbench.analyses.params import closest
from workbench.errors import ParameterError, WorkbenchError

__all__ = [
    "NotebookParameter",
    "ReportError",
    "convert_value",
    "default_notebooks_dir",
    "import_nbformat",
    "notebook_parameters",
    "notebook_path",
    "scenarios",
]


class ReportError(WorkbenchError):
    """A report could not be made: unknown scenario, a failing cell, a missing browser."""


@dataclasses.dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a notebook's ``parameters`` cell."""

    name: str
    annotation: str | None  # the declared type as written (``str``, ``bool``, ``str | None``…)
    default: Any  # the default value (``None`` when it is not a literal)
    default_text: str  # the default as written
    help: str  # the comment after it


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


#: jsonschema (which nbformat imports) builds some forty Lark grammars at import for its optional
#: IRI format checks when ``rfc3987-syntax`` is installed: about a second of CPU in every process
#: that reads a notebook, for checks nbformat never makes. Reports import it without them.
SKIPPED_AT_IMPORT = "rfc3987_syntax"
#: The same for the report's kernel (run at its start-up, before the first cell).
KERNEL_START = (
    f"import sys; sys.modules.setdefault({SKIPPED_AT_IMPORT!r}, None); import jsonschema; "
    f"sys.modules.get({SKIPPED_AT_IMPORT!r}, 0) is None and sys.modules.pop({SKIPPED_AT_IMPORT!r})"
)


def import_nbformat() -> ModuleType:
    """``nbformat``, imported without jsonschema's IRI grammars (see :data:`SKIPPED_AT_IMPORT`;
    nothing is left blocked: importing ``rfc3987_syntax`` later works)."""
    if "jsonschema" not in sys.modules and SKIPPED_AT_IMPORT not in sys.modules:
        sys.modules[SKIPPED_AT_IMPORT] = None  # type: ignore[assignment]  # import fails: checks skipped
        try:
            import jsonschema  # noqa: F401
        finally:
            if sys.modules.get(SKIPPED_AT_IMPORT, 0) is None:
                del sys.modules[SKIPPED_AT_IMPORT]
    import nbformat

    return nbformat


def default_notebooks_dir() -> Path:
    """The ``notebooks/`` folder of the workbench checkout (beside the ``workbench`` package)."""
    return Path(workbench.__file__).resolve().parents[1] / "notebooks"


def scenarios(notebooks_dir: Path | None = None) -> list[str]:
    """The scenarios a report can be made of: every ``notebooks/<name>.ipynb``, sorted."""
    folder = notebooks_dir or default_notebooks_dir()
    return sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith(("_", ".")))


def notebook_path(scenario: str, notebooks_dir: Path | None = None) -> Path:
    """``notebooks/<scenario>.ipynb``; an unknown scenario raises :class:`ReportError` listing
    the scenarios that exist."""
    folder = notebooks_dir or default_notebooks_dir()
    names = scenarios(folder)
    if scenario not in names:
        near = closest(scenario, names)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        listed = ", ".join(names) if names else "(none)"
        msg = f"unknown scenario {scenario!r}{hint}; the scenarios are the notebooks in {folder}: {listed}"
        raise ReportError(msg)
    return folder / f"{scenario}.ipynb"


def _comments(source: str) -> dict[int, str]:
    """Line number → the text of the comment on that line."""
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def parse_parameters_cell(source: str, *, where: str = "the parameters cell") -> dict[str, NotebookParameter]:
    """The top-level assignments of a parameters cell (``name: type = value  # help``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        msg = f"{where} is not valid Python (line {err.lineno}: {err.msg})"
        raise ReportError(msg) from err
    comments = _comments(source)
    found: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            name, annotation, value = node.targets[0].id, None, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except ValueError:
            default = None
        found[name] = NotebookParameter(
            name=name,
            annotation=annotation,
            default=default,
            default_text=ast.unparse(value),
            help=comments.get(node.lineno, ""),
        )
    return found


def notebook_parameters(path: Path) -> dict[str, NotebookParameter]:
    """The parameters of a notebook, read from its cell tagged ``parameters`` (in order)."""
    nb = import_nbformat().read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        msg = f"{path} has no cell tagged 'parameters'; tag the cell holding its defaults"
        raise ReportError(msg)
    return parse_parameters_cell(cells[0].source, where=f"the parameters cell of {path}")


def _type_names(param: NotebookParameter) -> set[str]:
    if param.annotation:
        return {part.strip() for part in param.annotation.replace("Optional[", "").rstrip("]").split("|")}
    if param.default is None:
        return set()
    return {type(param.default).__name__}


def convert_value(param: NotebookParameter, text: str) -> Any:
    """Command-line text → a value of the type the parameters cell declares (``bool``: true/false,
    yes/no, 1/0; ``int``; ``float``; ``str`` as is; lists and dicts as JSON or Python literals;
    ``None``/``null`` when the type allows None)."""
    types = _type_names(param)
    low = text.strip().lower()
    if "None" in types and low in ("none", "null"):
        return None
    if "bool" in types:
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        msg = f"parameter {param.name} is a bool: give true or false (got {text!r})"
        raise ParameterError(msg)
    if "int" in types:
        try:
            return int(text)
        except ValueError:
            if "float" not in types:
                msg = f"parameter {param.name} is an int (got {text!r})"
                raise ParameterError(msg) from None
    if "float" in types:
        try:
            return float(text)
        except ValueError:
            msg = f"parameter {param.name} is a number (got {text!r})"
            raise ParameterError(msg) from None
    if "str" in types or not types:
        return text
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            msg = f"parameter {param.name} ({param.annotation}) needs a JSON or Python literal (got {text!r})"
            raise ParameterError(msg) from None


def check_parameters(scenario: str, declared: dict[str, NotebookParameter], given: dict[str, Any]) -> None:
    """Raise :class:`ParameterError` for a parameter the notebook does not declare, listing the
    ones it does (with their defaults and help)."""
    unknown = [name for name in given if name not in declared]
    if not unknown:
        return
    name = unknown[0]
    near = closest(name, list(declared))
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    listing = "; ".join(f"{p.name}={p.default_text}" for p in declared.values())
    msg = f"{scenario} has no parameter {name!r}{hint}. Its parameters: {listing or '(none)'}"
    raise ParameterError(msg)
