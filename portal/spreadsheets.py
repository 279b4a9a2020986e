"""Cells of exported spreadsheets (CSV, XLSX): text a spreadsheet program would run is neutralised.

CSV/formula injection (CWE-1236, security.md T17): Excel, LibreOffice and Google Sheets read a cell that
begins with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` leaks data, ``=cmd|...`` runs
programs in old Excel), and some skip a leading tab or carriage return first; openpyxl itself stores a
string beginning with ``=`` as a formula. Every exported text cell goes through ``cell_neutralise``, which
puts an apostrophe in front (OWASP's advice; spreadsheet programs show the rest as text). Numbers,
dates and empty cells are left alone. ``cell_restore`` undoes it where our own export is imported back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralise(value: Any) -> Any:
    """Return VALUE, with an apostrophe in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def row_neutralise(row: Iterable[Any]) -> list[Any]:
    return [cell_neutralise(value) for value in row]


def cell_restore(value: Any) -> Any:
    """Undo cell_neutralise on a cell read back from one of our exports."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value
