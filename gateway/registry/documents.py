"""Contracts, charters and supply contracts, and the mandates (houses with periods) they give."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, insert, or_, select, update

from gateway.domain.authority import Mandate, MandateKind
from gateway.domain.contracts import DocumentData, DocumentState, StoredDocument
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry.tables import documents, mandates
from gateway.registry.versions import History


class DocumentRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def mandates(self, houses: Iterable[FiasHouseGuid]) -> list[Mandate]:
        """Every live (not annulled) mandate over the given houses, whoever holds it, in one query."""
        wanted = sorted({str(h) for h in houses})
        if not wanted:
            return []
        m = mandates.c
        rows = self.connection.execute(select(mandates).where(m.fias_house_guid.in_(wanted), m.annulled.is_(False)))
        return [Mandate(MandateKind(r.kind), Guid(r.org_guid), FiasHouseGuid(r.fias_house_guid), r.starts_on,
                        r.ends_on, Guid(r.document_guid)) for r in rows]

    def place(self, guid: Guid, data: DocumentData, *, org: Guid, at: datetime) -> StoredDocument:
        version = Guid.new()
        self.connection.execute(insert(documents).values(
            guid=str(guid), version_guid=str(version), version_number=1, kind=data.kind.value, org_guid=str(org),
            number=data.number, signed_on=data.signed_on, effective_on=data.effective_on, ends_on=data.ends_on,
            base_code=data.base.code if data.base else None, base_guid=str(data.base.guid) if data.base else None,
            state=DocumentState.APPROVED.value, created_at=at, updated_at=at, **_window(data)))
        houses = [(h.fias_house_guid, Guid.new()) for h in data.houses]
        self.connection.execute(insert(mandates), [
            {"object_version_guid": str(object_version), "document_guid": str(guid), "kind": data.kind.value,
             "org_guid": str(org), "fias_house_guid": str(house.fias_house_guid), "starts_on": house.starts_on,
             "ends_on": _earlier(house.ends_on, data.ends_on), "annulled": False}
            for house, (_, object_version) in zip(data.houses, houses, strict=True)])
        self._history.capture(documents, "guid", [str(guid)], new=True)
        self._history.capture(mandates, "document_guid", [str(guid)], new=True)
        return StoredDocument(guid, version, data.kind, org, data.number, DocumentState.APPROVED, 1, tuple(houses))

    def by_version(self, version: Guid, kind: MandateKind) -> StoredDocument | None:
        """The document whose current version is ``version`` (an older version GUID finds nothing)."""
        row = self.connection.execute(select(documents).where(documents.c.version_guid == str(version),
                                                              documents.c.kind == kind.value)).mappings().first()
        if row is None:
            return None
        houses = self.connection.execute(select(mandates.c.fias_house_guid, mandates.c.object_version_guid)
                                         .where(mandates.c.document_guid == row["guid"]).order_by(mandates.c.id))
        return StoredDocument(Guid(row["guid"]), Guid(row["version_guid"]), MandateKind(row["kind"]),
                              Guid(row["org_guid"]), row["number"], DocumentState(row["state"]),
                              row["version_number"],
                              tuple((FiasHouseGuid(h.fias_house_guid), Guid(h.object_version_guid)) for h in houses))

    def end(self, document: StoredDocument, state: DocumentState, *, on: date | None, reason: str,
            at: datetime) -> StoredDocument:
        """Terminate (authority ends ``on``) or annul (it never existed) a document: a new version."""
        version = Guid.new()
        self.connection.execute(update(documents).where(documents.c.guid == str(document.guid)).values(
            version_guid=str(version), version_number=document.version_number + 1, state=state.value,
            terminated_on=on, state_reason=reason, updated_at=at))
        m = mandates.c
        if state is DocumentState.ANNULLED:
            self.connection.execute(update(mandates).where(m.document_guid == str(document.guid)).values(annulled=True))
        elif on is not None:
            # a mandate that would have run past the termination now stops on it
            self.connection.execute(update(mandates).where(
                m.document_guid == str(document.guid), or_(m.ends_on.is_(None), m.ends_on > on)).values(ends_on=on))
        self._history.capture(documents, "guid", [str(document.guid)])
        self._history.capture(mandates, "document_guid", [str(document.guid)])
        return StoredDocument(document.guid, version, document.kind, document.org, document.number, state,
                              document.version_number + 1, document.houses)


def _window(data: DocumentData) -> dict[str, object]:
    window = data.reading_window
    if window is None:
        return {}
    return {"metering_start_day": window.starts.day, "metering_start_next_month": window.starts.next_month,
            "metering_end_day": window.ends.day, "metering_end_next_month": window.ends.next_month}


def _earlier(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
