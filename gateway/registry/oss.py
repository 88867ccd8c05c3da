"""Protocols of owners' general meetings and owners' individual decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, insert, select, update

from gateway.domain.model import NsiRef
from gateway.domain.oss import (
    AgendaItem,
    Attachment,
    Choice,
    Form,
    ItemResult,
    Majority,
    ProtocolData,
    StoredProtocol,
    Tally,
    VotingNotice,
)
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry.houses import json_ready
from gateway.registry.tables import owner_decisions, premises, protocols, votings
from gateway.registry.versions import History


def _data_json(data: ProtocolData) -> dict[str, Any]:
    ready: dict[str, Any] = json_ready({
        "number": data.number, "date": data.date, "form": data.form.value, "meeting_type": data.meeting_type,
        "annual": data.annual, "declared_competent": data.declared_competent, "place": data.place,
        "meeting_at": data.meeting_at, "decisions_from": data.decisions_from, "decisions_to": data.decisions_to,
        "resolution_place": data.resolution_place,
        "items": [{**asdict(i), "decision_type": asdict(i.decision_type) if i.decision_type else None}
                  for i in data.items],
        "attachments": [asdict(a) for a in data.attachments],
    })
    return ready


def _data(row: RowMapping) -> ProtocolData:
    raw = row["data"]
    items = tuple(AgendaItem(
        number=i["number"], question=i["question"],
        decision_type=NsiRef(i["decision_type"]["code"], Guid(i["decision_type"]["guid"]["value"]),
                             i["decision_type"].get("name")) if i["decision_type"] else None,
        agree=Decimal(i["agree"]), against=Decimal(i["against"]), abstain=Decimal(i["abstain"]),
        declared_made=i["declared_made"]) for i in raw["items"])
    attachments = tuple(Attachment(a["name"], a["description"], Guid(a["guid"]["value"]), a["sha"])
                        for a in raw["attachments"])
    return ProtocolData(FiasHouseGuid(row["fias_house_guid"]), raw["number"], date.fromisoformat(raw["date"]),
                        Form(raw["form"]), raw["meeting_type"], raw["annual"], raw["declared_competent"], items,
                        attachments, raw.get("place"), raw.get("meeting_at"), raw.get("decisions_from"),
                        raw.get("decisions_to"), raw.get("resolution_place"))


def _tally_columns(tally: Tally) -> dict[str, Any]:
    return {"total_votes": tally.total_votes, "cast_votes": tally.cast, "competent": tally.competent,
            "results": [{"number": r.number, "majority": r.majority.value, "made": r.made,
                         "declared_made": r.declared_made} for r in tally.items],
            "flags": ",".join(tally.flags)}


def _protocol(row: RowMapping) -> StoredProtocol:
    tally = Tally(Decimal(row["total_votes"]), Decimal(row["cast_votes"]), bool(row["competent"]),
                  tuple(ItemResult(r["number"], Majority(r["majority"]), r["made"], r["declared_made"])
                        for r in row["results"]),
                  tuple(f for f in row["flags"].split(",") if f))
    return StoredProtocol(Guid(row["guid"]), Guid(row["voting_guid"]), row["version_number"], Guid(row["posted_by"]),
                          Guid(row["house_guid"]), _data(row), tally, row["updated_at"])


class OssRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def total_votes(self, house_guid: Guid) -> Decimal:
        """All owners' votes: the areas of the house's premises, common property excluded."""
        p = premises.c
        total = self.connection.execute(select(func.coalesce(func.sum(p.total_area), 0)).where(
            p.house_guid == str(house_guid), p.is_common_property.is_not(True))).scalar()
        return Decimal(total or 0)

    def premises_by_number(self, house_guid: Guid) -> dict[str, tuple[Guid, Decimal]]:
        p = premises.c
        rows = self.connection.execute(select(p.number, p.guid, p.total_area).where(p.house_guid == str(house_guid)))
        return {r.number: (Guid(r.guid), Decimal(r.total_area or 0)) for r in rows}

    def add(self, guid: Guid, voting: Guid, data: ProtocolData, tally: Tally, *, house_guid: Guid, org: Guid,
            at: datetime) -> StoredProtocol:
        version = Guid.new()
        self.connection.execute(insert(protocols).values(
            guid=str(guid), version_guid=str(version), version_number=1, voting_guid=str(voting),
            house_guid=str(house_guid), fias_house_guid=str(data.fias_house_guid), posted_by=str(org),
            number=data.number, protocol_date=data.date, data=_data_json(data), created_at=at, updated_at=at,
            **_tally_columns(tally)))
        self._history.capture(protocols, "guid", [str(guid)], new=True)
        return self.get(guid)  # type: ignore[return-value]

    def retally(self, protocol: StoredProtocol, tally: Tally, *, at: datetime) -> None:
        """The registry's count changed (owners' decisions arrived): a new version with the new result."""
        self.connection.execute(update(protocols).where(protocols.c.guid == str(protocol.guid)).values(
            version_guid=str(Guid.new()), version_number=protocols.c.version_number + 1, updated_at=at,
            **_tally_columns(tally)))
        self._history.capture(protocols, "guid", [str(protocol.guid)])

    def get(self, guid: Guid) -> StoredProtocol | None:
        row = self.connection.execute(select(protocols).where(protocols.c.guid == str(guid))).mappings().first()
        return _protocol(row) if row else None

    def voting_taken(self, voting: Guid) -> bool:
        return self.connection.execute(select(protocols.c.id).where(protocols.c.voting_guid == str(voting))
                                       ).first() is not None

    def find(self, *, house: FiasHouseGuid | None = None, guids: Iterable[Guid] = (),
             votings: Iterable[Guid] = ()) -> list[StoredProtocol]:
        p = protocols.c
        query = select(protocols)
        if house is not None:
            query = query.where(p.fias_house_guid == str(house))
        elif guid_list := [str(g) for g in guids]:
            query = query.where(p.guid.in_(guid_list))
        elif voting_list := [str(g) for g in votings]:
            query = query.where(p.voting_guid.in_(voting_list))
        else:
            return []
        return [_protocol(r) for r in self.connection.execute(query.order_by(p.id)).mappings()]

    def record_decisions(self, protocol: Guid, rows: list[tuple[Guid, int, str, Guid, Decimal, Choice]], *,
                         org: Guid, message: Guid) -> None:
        """Owners' decisions (guid, question, owner, premises, votes, choice); an owner's earlier decision on
        the same question for the same premises is superseded, not deleted (the table is its own history)."""
        changeset, at = self._history.changeset()
        d = owner_decisions.c
        self.connection.execute(update(owner_decisions).where(  # one batched statement for the rows
            d.protocol_guid == str(protocol), d.question == bindparam("b_question"), d.owner == bindparam("b_owner"),
            d.premises_guid == bindparam("b_premises"), d.superseded_at.is_(None)).values(
            superseded_at=at, superseded_in=changeset),
            [{"b_question": question, "b_owner": owner, "b_premises": str(premises_guid)}
             for _, question, owner, premises_guid, _, _ in rows])
        self.connection.execute(insert(owner_decisions), [
            {"guid": str(guid), "protocol_guid": str(protocol), "question": question, "owner": owner,
             "premises_guid": str(premises_guid), "votes": votes, "choice": choice.value, "posted_by": str(org),
             "message_guid": str(message), "recorded_at": at, "changeset_id": changeset}
            for guid, question, owner, premises_guid, votes, choice in rows])

    def decided(self, protocol: Guid) -> tuple[dict[int, tuple[Decimal, Decimal, Decimal]],
                                               dict[tuple[int, str], dict[str, Decimal]]]:
        """Votes per question (agree, against, abstain) from the kept decisions, and who voted how many of
        each premises' votes per question ((question, premises GUID) → owner → votes)."""
        d = owner_decisions.c
        rows = self.connection.execute(select(d.question, d.choice, d.owner, d.premises_guid, d.votes).where(
            d.protocol_guid == str(protocol), d.superseded_at.is_(None)))
        votes: dict[int, list[Decimal]] = {}
        used: dict[tuple[int, str], dict[str, Decimal]] = {}
        order = {Choice.AGREE.value: 0, Choice.AGAINST.value: 1, Choice.ABSTAIN.value: 2}
        for r in rows:
            counts = votes.setdefault(r.question, [Decimal(0)] * 3)
            counts[order[r.choice]] += Decimal(r.votes)
            owners = used.setdefault((r.question, r.premises_guid), {})
            owners[r.owner] = owners.get(r.owner, Decimal(0)) + Decimal(r.votes)
        return {q: (v[0], v[1], v[2]) for q, v in votes.items()}, used

    # notices (importVotingMessage) ---------------------------------------------------------------------

    def add_notice(self, guid: Guid, notice: VotingNotice, *, house_guid: Guid, org: Guid, at: datetime) -> None:
        version = Guid.new()
        data = json_ready({"form": notice.form.value, "meeting_type": notice.meeting_type, "annual": notice.annual,
                           "administrator": notice.administrator, "notice_date": notice.notice_date,
                           "items": [{"number": i.number, "question": i.question,
                                      "decision_type": i.decision_type.code if i.decision_type else None}
                                     for i in notice.items]})
        self.connection.execute(insert(votings).values(
            guid=str(guid), version_guid=str(version), house_guid=str(house_guid),
            fias_house_guid=str(notice.fias_house_guid), posted_by=str(org), form=notice.form.value,
            starts_at=notice.starts_at, ends_at=notice.ends_at, data=data, created_at=at, updated_at=at))
        self._history.capture(votings, "guid", [str(guid)], new=True)

    def notice_house(self, voting: Guid) -> FiasHouseGuid | None:
        """The house of a voting announced by a notice, if there was one."""
        found = self.connection.execute(select(votings.c.fias_house_guid).where(votings.c.guid == str(voting))
                                        ).scalar()
        return FiasHouseGuid(found) if found else None
