"""Invoice import files (QuickBooks Online, Xero, FreshBooks) for partners without an API
connection: `python main.py export`."""

from billing.exports.formats import FORMATS, ExportFormat, write_export
from billing.exports.lines import (
    ExportInvoice,
    ExportLine,
    allocate,
    export_lines,
    invoices_for_export,
)

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportInvoice",
    "ExportLine",
    "allocate",
    "export_lines",
    "invoices_for_export",
    "write_export",
]
