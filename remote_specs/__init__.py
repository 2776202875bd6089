"""The neutral objects exchanged with remote systems: the specs we send (`specs`) and the
records a remote holds (`records`). Both `mappings` (which builds specs from our billing
objects) and `connectors` (which turns specs into wire formats and wire formats into records)
import this package; it imports nothing of ours, so neither of them has to import the other.
"""

from remote_specs.records import RemoteInvoice, RemotePayment, RemoteRef, RemoteStatus
from remote_specs.specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    PaymentSpec,
)

__all__ = [
    "CreditNoteSpec",
    "CustomerSpec",
    "InvoiceSpec",
    "ItemSpec",
    "LineSpec",
    "PaymentSpec",
    "RemoteInvoice",
    "RemotePayment",
    "RemoteRef",
    "RemoteStatus",
]
