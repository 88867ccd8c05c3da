"""Corrections made on the record by support (never a silent edit of what a provider posted): each is a new
version of the object, whose change set names the operator and the reason (``Provenance.of_operator``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.domain.model import Cadastral
from gateway.domain.values import CadastralNumber, Guid
from gateway.errors import Code, ObjectRejected
from gateway.registry.unit_of_work import UnitOfWork


def set_cadastral_number(uow: UnitOfWork, premises_guid: Guid, number: str, *, now: datetime) -> None:
    """The premises takes ``number`` as its CadastralNumber (the link with EGRN created); refused with a code if
    the number is malformed, the premises unknown, or another premises carries the number already."""
    cadastral = CadastralNumber(number)
    current = uow.houses.get_premises(premises_guid)
    if current is None:
        raise ObjectRejected(f"no premises {premises_guid} is registered", code=Code.PREMISES_NOT_FOUND)
    holder = uow.houses.premises_with_cadastral_number(cadastral)
    if holder is not None and holder != current.guid:
        raise ObjectRejected(f"CadastralNumber {cadastral} is carried by premises {holder} already",
                             code=Code.VALUE_INVALID)
    if current.data.cadastral.number == cadastral:
        return
    with uow.savepoint():
        uow.houses.update_premises(current, replace(current.data, cadastral=Cadastral.of(cadastral)), at=now)
