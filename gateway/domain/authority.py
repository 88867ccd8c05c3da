"""Who may post what (DESIGN §3, Authority).

The full rule binds a management organisation to a house through an active management contract or
charter on the date of the data; contracts arrive with importContractData/importCharterData. Until a
house has a contract in the registry, the organisation that first registered the house is its holder.
"""

from __future__ import annotations

from gateway.domain.model import Organisation, OrgRole
from gateway.domain.values import Guid

#: Roles that post house data through the "UO" (management organisation) operations.
HOUSE_UO_ROLES = frozenset({OrgRole.MANAGEMENT_COMPANY, OrgRole.HOA, OrgRole.HOUSING_COOPERATIVE})


def may_post_house_uo(sender: Organisation) -> bool:
    """importHouseUOData is the management organisation's operation; RSOs and regulators use others."""
    return sender.role in HOUSE_UO_ROLES


def holds_house(sender: Organisation, house_holder: Guid) -> bool:
    return sender.guid == house_holder

