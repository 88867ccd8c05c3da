"""The registry's query layer: read-only, set-based, streaming reads for reconciliation, compliance reports,
the console and the CLI — the only way they read the registry in bulk.

Every read is one SQL statement per object kind, for the present or for any past moment alike
(``gateway.registry.versions``: what the registry knew then), and streams plain dataclasses in batches, so
memory stays flat whatever the registry's size. Nothing here writes.

``Reader(connection, at=None)`` is the entry point; the composition root opens one
(``bootstrap.Gateway.reader``).
"""

from gateway.registry.queries.reader import Reader
from gateway.registry.queries.rows import (
    AccommodationRow,
    AccountRow,
    CadastralCount,
    ChangesetRow,
    DeviceRow,
    DocumentRow,
    HouseRow,
    MandateRow,
    MessageRow,
    OrganisationRow,
    PowerRow,
    PremisesRow,
    ProtocolRow,
    ReadingRow,
    RoomRow,
    VotingRow,
)

__all__ = [
    "AccommodationRow", "AccountRow", "CadastralCount", "ChangesetRow", "DeviceRow", "DocumentRow", "HouseRow",
    "MandateRow", "MessageRow", "OrganisationRow", "PowerRow", "PremisesRow", "ProtocolRow", "ReadingRow", "Reader",
    "RoomRow", "VotingRow",
]
