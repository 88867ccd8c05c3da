"""Compliance reports for regulators and the operator: obligations as dated data, evaluated as of a moment."""
