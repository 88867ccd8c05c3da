"""Organisations and the certificates bound to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from gateway.domain.model import CertificateBinding, CertificateInfo, Organisation, OrgRole
from gateway.domain.values import Guid, Inn, Kpp, Ogrn
from gateway.registry.tables import certificates, houses, jurisdictions, mandates, organisations
from gateway.registry.versions import History


class OrganisationRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def add(self, org: Organisation, *, at: datetime | None = None) -> None:
        self.connection.execute(
            insert(organisations).values(
                guid=str(org.guid), name=org.name, role=org.role.value, ogrn=str(org.ogrn), inn=str(org.inn),
                kpp=str(org.kpp) if org.kpp else None, created_at=at or datetime.now(UTC),
            )
        )
        self._history.capture(organisations, "guid", [str(org.guid)], new=True)

    def get(self, guid: Guid) -> Organisation | None:
        row = self.connection.execute(select(organisations).where(organisations.c.guid == str(guid))).first()
        return _organisation(row) if row is not None else None

    def sender(self, guid: Guid, fingerprint: str | None) -> tuple[Organisation | None, CertificateBinding | None]:
        """The door's one look-up: the organisation a request names and the binding of the certificate that signed
        it (``certificate_binding``), whichever organisation that is — one statement, not two. (None, None): no
        such organisation."""
        row = self.connection.execute(_SENDER, {"guid": str(guid), "fingerprint": fingerprint or ""}).first()
        if row is None:
            return None, None
        org = _organisation(row)
        binding = CertificateBinding(org_guid=Guid(row.cert_org), not_before=row.not_before, not_after=row.not_after,
                                     revoked_at=row.revoked_at) if row.cert_org else None
        return org, binding

    def register_certificate(self, org_guid: Guid, cert: CertificateInfo, *, at: datetime | None = None) -> None:
        """Bind a certificate to the organisation (``gateway keys register``)."""
        self.connection.execute(
            insert(certificates).values(
                fingerprint=cert.fingerprint, org_guid=str(org_guid), subject=cert.subject, issuer=cert.issuer,
                serial=cert.serial, not_before=cert.not_before, not_after=cert.not_after, pem=cert.pem,
                registered_at=at or datetime.now(UTC),
            )
        )

    def revoke_certificate(self, fingerprint: str, *, at: datetime) -> bool:
        result = self.connection.execute(
            update(certificates).where(certificates.c.fingerprint == fingerprint, certificates.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return result.rowcount == 1

    def revoke_by_issuer_serial(self, issuer: str, serial: str, *, at: datetime) -> bool:
        """Revoke a registered certificate named by a CRL entry; an earlier revocation date stands."""
        c = certificates.c
        result = self.connection.execute(
            update(certificates).where(c.issuer == issuer, c.serial == serial,
                                       (c.revoked_at.is_(None)) | (c.revoked_at > at)).values(revoked_at=at)
        )
        return result.rowcount > 0

    def certificate_binding(self, fingerprint: str) -> CertificateBinding | None:
        """Which organisation a certificate is registered to, its validity and revocation."""
        row = self.connection.execute(
            select(certificates).where(certificates.c.fingerprint == fingerprint)
        ).first()
        if row is None:
            return None
        return CertificateBinding(
            org_guid=Guid(row.org_guid), not_before=row.not_before, not_after=row.not_after,
            revoked_at=row.revoked_at,
        )

    def certificates(self) -> list[tuple[str, str, str, datetime, datetime | None]]:
        """(org GUID, fingerprint, subject, not_after, revoked_at) for ``gateway keys list``."""
        rows = self.connection.execute(
            select(certificates.c.org_guid, certificates.c.fingerprint, certificates.c.subject,
                   certificates.c.not_after, certificates.c.revoked_at).order_by(certificates.c.org_guid)
        )
        return [(r.org_guid, r.fingerprint, r.subject, r.not_after, r.revoked_at) for r in rows]


    # -- a regulator's jurisdiction ----------------------------------------------------------------------------
    def jurisdiction(self, org_guid: Guid) -> tuple[str, ...]:
        """The OKTMO prefixes a regulator oversees (none: it oversees nothing yet)."""
        j = jurisdictions.c
        return tuple(self.connection.execute(select(j.oktmo_prefix).where(j.org_guid == str(org_guid))
                                             .order_by(j.oktmo_prefix)).scalars())

    def set_jurisdiction(self, org_guid: Guid, prefixes: tuple[str, ...], *, at: datetime) -> None:
        """Replace a regulator's regions (``gateway orgs load`` from ``jurisdiction = [...]``)."""
        self.connection.execute(delete(jurisdictions).where(jurisdictions.c.org_guid == str(org_guid)))
        if prefixes:
            self.connection.execute(insert(jurisdictions), [
                {"org_guid": str(org_guid), "oktmo_prefix": p, "set_at": at} for p in sorted(set(prefixes))])

    def serves_in(self, org_guid: Guid, prefixes: tuple[str, ...]) -> bool:
        """The organisation holds a live mandate (contract, charter, supply) over a house in one of the regions."""
        if not prefixes:
            return False
        m, h = mandates.c, houses.c
        query = (select(m.document_guid).select_from(mandates.join(houses, h.fias_house_guid == m.fias_house_guid))
                 .where(m.org_guid == str(org_guid), m.annulled.is_(False),
                        or_(*(h.oktmo.startswith(p) for p in prefixes))).limit(1))
        return self.connection.execute(query).first() is not None


def _organisation(row: Any) -> Organisation:
    return Organisation(guid=Guid(row.guid), name=row.name, role=OrgRole(row.role), ogrn=Ogrn(row.ogrn),
                        inn=Inn(row.inn), kpp=Kpp(row.kpp) if row.kpp else None)


_o, _c = organisations.c, certificates.c
#: ``sender``: the organisation, with the signing certificate's binding joined when there is one
_SENDER = (select(_o.guid, _o.name, _o.role, _o.ogrn, _o.inn, _o.kpp, _c.org_guid.label("cert_org"), _c.not_before,
                  _c.not_after, _c.revoked_at)
           .select_from(organisations.outerjoin(certificates, _c.fingerprint == bindparam("fingerprint")))
           .where(_o.guid == bindparam("guid")))
