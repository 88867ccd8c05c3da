"""The straightforward pipeline: what a user could write in an afternoon to take the same signed messages in,
measured in the same run as the gateway and its floor.

lxml parse → lxml XSD validation → signxml XAdES verification → decode the records → SQLAlchemy ORM objects
added to a session and committed, into two plain tables of its own (``baseline_readings``,
``baseline_accounts``) in the same database. No authority, no rules, no versions, no queue, no signed answer,
no archive — the gateway's extra work. signxml has no GOST: the pipeline is given an RSA-signed twin of each
message (the same body, signed with RSA-2048), which is what such a user would have to accept.
"""

from __future__ import annotations

import base64
import copy
import time
import uuid
from datetime import date
from decimal import Decimal

from cryptography import x509
from lxml import etree
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier
from sqlalchemy import Date, Engine, Integer, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from gateway.signing import keys, sign
from gateway.xsd import Service
from gateway.xsd.schemas import validator

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
DM = "http://dom.gosuslugi.ru/schema/integration/device-metering/"
MDB = "http://dom.gosuslugi.ru/schema/integration/metering-device-base/"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
IR = "http://dom.gosuslugi.ru/schema/integration/individual-registry-base/"
AB = "http://dom.gosuslugi.ru/schema/integration/account-base/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"


class _Base(DeclarativeBase):
    pass


class Reading(_Base):
    __tablename__ = "baseline_readings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(String(36), index=True)
    resource: Mapped[str] = mapped_column(String(20))
    reading_date: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Numeric(22, 7))
    transport_guid: Mapped[str] = mapped_column(String(36))


class Account(_Base):
    __tablename__ = "baseline_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), index=True)
    premises: Mapped[str] = mapped_column(String(36))
    surname: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    persons: Mapped[int] = mapped_column(Integer)
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    transport_guid: Mapped[str] = mapped_column(String(36))


def prepare(engine: Engine) -> None:
    """The pipeline's own tables (set-up, not measured)."""
    _Base.metadata.create_all(engine)


def rsa_twin(message: bytes) -> bytes:
    """The same envelope with its body re-signed with a TEST-ONLY RSA-2048 certificate (set-up)."""
    envelope = etree.fromstring(message)
    body = envelope.find(f"{{{SOAP}}}Body")[0]
    for old in body.findall(f"{{{DS}}}Signature"):
        body.remove(old)
    issued = _rsa()
    sign(body, key=issued.key, cert=issued.cert)
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return data


_ISSUED: list[keys.Issued] = []


def _rsa() -> keys.Issued:
    if not _ISSUED:
        _ISSUED.append(keys.issue_test_certificate(keys.issue_test_ca(), org_name="baseline", ogrn="1027700999017",
                                                   inn="7709990015", algorithm="rsa"))
    return _ISSUED[0]


def _verified(message: bytes, service: Service) -> etree._Element:
    envelope = etree.fromstring(message)
    body = envelope.find(f"{{{SOAP}}}Body")[0]
    if not validator(service).validate(body):
        raise AssertionError("baseline: message does not conform to the schema")
    der = base64.b64decode("".join(body.findtext(f".//{{{DS}}}X509Certificate", "").split()))
    XAdESVerifier().verify(copy.deepcopy(body), x509_cert=x509.load_der_x509_certificate(der),
                           expect_config=XAdESSignatureConfiguration(location="./", expect_references=True))
    return body


def readings(engine: Engine, message: bytes) -> float:
    """Seconds to take one importMeteringDeviceValues message in, committed."""
    started = time.perf_counter()
    body = _verified(message, Service.DEVICE_METERING)
    objects = []
    for values in body.iterchildren(f"{{{DM}}}MeteringDevicesValues"):
        current = values.find(f"{{{DM}}}OneRateDeviceValue/{{{DM}}}CurrentValue")
        objects.append(Reading(device=values.findtext(f"{{{DM}}}MeteringDeviceRootGUID"),
                               resource=current.findtext(f"{{{MDB}}}MunicipalResource/*"),
                               reading_date=date.fromisoformat(current.findtext(f"{{{DM}}}DateValue")),
                               value=Decimal(current.findtext(f"{{{MDB}}}MeteringValue")),
                               transport_guid=current.findtext(f"{{{BASE}}}TransportGUID")))
    with Session(engine) as session:
        session.add_all(objects)
        session.commit()
    return time.perf_counter() - started


def accounts(engine: Engine, message: bytes) -> float:
    """Seconds to take one importAccountData message in, committed."""
    started = time.perf_counter()
    body = _verified(message, Service.HOUSE_MANAGEMENT)
    objects = []
    for account in body.iterchildren(f"{{{HM}}}Account"):
        person = account.find(f"{{{HM}}}PayerInfo/{{{HM}}}Ind")
        objects.append(Account(number=account.findtext(f"{{{AB}}}AccountNumber") or str(uuid.uuid4()),
                               premises=account.findtext(f"{{{HM}}}Accommodation/{{{HM}}}PremisesGUID"),
                               surname=person.findtext(f"{{{IR}}}Surname"),
                               first_name=person.findtext(f"{{{IR}}}FirstName"),
                               persons=int(account.findtext(f"{{{HM}}}LivingPersonsNumber")),
                               area=Decimal(account.findtext(f"{{{HM}}}TotalSquare")),
                               transport_guid=account.findtext(f"{{{BASE}}}TransportGUID")))
    with Session(engine) as session:
        session.add_all(objects)
        session.commit()
    return time.perf_counter() - started
