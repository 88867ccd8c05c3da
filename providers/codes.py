"""Codes of what the toolkit refuses on the provider's own machine, before anything is sent.

They sit beside the gateway's codes (README "Errors": ``INT…`` at the door, ``SRV…`` in processing) in a
rejects file's ``error_code`` column, with their own prefix ``PRV`` so a reader knows the row never left.
docs/providers.md lists them (``tests/unit/test_provider_codes.py`` checks the two agree).
"""

from __future__ import annotations

from enum import StrEnum

from providers.errors import ProviderError


class Local(StrEnum):
    FILE_UNREADABLE = "PRV000001"  # empty, not CSV/XLSX, wrong encoding, no header
    COLUMN_MISSING = "PRV001001"  # a required column is not in the header
    VALUE_MISSING = "PRV001002"  # a required cell is empty
    VALUE_INVALID = "PRV001003"  # not a GUID, date, decimal, integer, yes/no or one of the listed values
    VALUE_TOO_LONG = "PRV001004"  # longer than the official schema allows
    SCHEMA_INVALID = "PRV001005"  # the row's request does not conform to the official XSD
    ROWS_DISAGREE = "PRV001006"  # rows of one house (or contract) give different values for it
    NSI_UNKNOWN = "PRV001007"  # a reference-directory code not in the configured NSI files
    NOT_FOUND = "PRV001008"  # a premises, account or device named by number is not in the registry
    DUPLICATE = "PRV001009"  # the same object twice in one file
    NO_RESULT = "PRV002001"  # the gateway's answer has no result for the row's TransportGUID


class RowError(ProviderError):
    """What is wrong with one cell or row: file, line, column, code and a message a person can act on."""

    def __init__(self, code: Local, message: str, *, column: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.column, self.line = code, message, column, line

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line is not None else file
        column = f": column {self.column}" if self.column else ""
        return f"{where}{column}: {self.code} {self.message}"
