"""HubSpot CRM pieces beyond deals and contacts: object types, property definitions, search filters.

Pure tables and functions the :class:`~harness.systems.HubSpot` fake uses for
companies, products, line items and notes, for ``/crm/v3/properties/{type}`` and for
``POST /crm/v3/objects/{type}/search``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ASSOCIATION_TYPE_IDS",
    "OBJECT_TYPE_IDS",
    "REQUIRED_ON_CREATE",
    "PropertyDefinition",
    "SearchError",
    "builtin_definition",
    "line_item_amount",
    "match_filter_groups",
]

#: object type ids as HubSpot numbers them (``0-3`` is a deal)
OBJECT_TYPE_IDS = {"contact": "0-1", "company": "0-2", "deal": "0-3", "product": "0-7", "line_item": "0-8",
                   "note": "0-46"}
#: HUBSPOT_DEFINED association type ids (v4), both directions
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("deal", "contact"): 3, ("contact", "deal"): 4,
    ("deal", "company"): 341, ("company", "deal"): 342,
    ("contact", "company"): 279, ("company", "contact"): 280,
    ("deal", "line_item"): 19, ("line_item", "deal"): 20,
    # notes (an engagement) on the records they are logged on
    ("note", "contact"): 202, ("contact", "note"): 201,
    ("note", "company"): 190, ("company", "note"): 189,
    ("note", "deal"): 214, ("deal", "note"): 213,
}
#: properties whose values are numbers (HubSpot still sends them as strings)
NUMBER_PROPERTIES = frozenset({
    "amount", "price", "quantity", "discount", "hs_discount_percentage", "hs_cost_of_goods_sold",
    "numberofemployees", "annualrevenue", "num_associated_contacts", "hs_product_id", "hs_object_id",
})
DATE_PROPERTIES = frozenset({"closedate", "createdate", "hs_lastmodifieddate", "lastmodifieddate", "hs_timestamp"})
#: properties a create must carry, per object type (HubSpot's 400 without them)
REQUIRED_ON_CREATE = {"note": ("hs_timestamp",)}

_OPERATORS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                        "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
_FIELD_TYPES = ("text", "textarea", "number", "date", "select", "radio", "checkbox", "booleancheckbox",
                "calculation_equation", "phonenumber", "html", "file")


class SearchError(ValueError):
    """A search or property-definition request HubSpot rejects with a 400."""


@dataclass(frozen=True, kw_only=True)
class PropertyDefinition:
    """One property of an object type, as ``/crm/v3/properties/{type}`` describes it."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    group_name: str = ""
    description: str = ""
    options: tuple[Mapping[str, Any], ...] = ()
    hubspot_defined: bool = True
    created_at: str = "2019-08-06T02:41:52.818Z"

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "updatedAt": self.created_at, "createdAt": self.created_at, "name": self.name,
            "label": self.label, "type": self.type, "fieldType": self.field_type,
            "description": self.description, "groupName": self.group_name,
            "options": [dict(o) for o in self.options], "displayOrder": -1, "calculated": False,
            "externalOptions": False, "hasUniqueValue": False, "hidden": False,
            "modificationMetadata": {"archivable": not self.hubspot_defined, "readOnlyDefinition": self.hubspot_defined,
                                     "readOnlyValue": False},
            "formField": True, "archived": False,
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        return body

    def check(self, value: str | None) -> str | None:
        """``None`` when ``value`` fits; otherwise HubSpot's error code for it."""
        if value is None or value == "":
            return None
        if self.type == "enumeration" and self.options:
            allowed = {str(o.get("value")) for o in self.options}
            parts = value.split(";") if self.field_type == "checkbox" else [value]
            if any(p not in allowed for p in parts):
                return "INVALID_OPTION"
        if self.type == "number":
            try:
                Decimal(value)
            except InvalidOperation:
                return "INVALID_INTEGER"
        if self.type == "bool" and value not in ("true", "false"):
            return "INVALID_BOOLEAN"
        return None

    @staticmethod
    def parse(body: Any, *, created_at: str) -> PropertyDefinition:
        """A user-defined property from a ``POST /crm/v3/properties/{type}`` body."""
        if not isinstance(body, Mapping):
            raise SearchError("Invalid input JSON: the body must be a property definition object")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise SearchError(f"Invalid input: missing required field(s) {', '.join(missing)}")
        name = str(body["name"])
        if not name.replace("_", "").isalnum() or not name[0].isalpha() or name != name.lower():
            raise SearchError(f"Property name {name!r} must start with a letter and hold only lowercase "
                              "letters, digits and '_'")
        if body["type"] not in _TYPES:
            raise SearchError(f"Invalid type {body['type']!r}; expected one of {', '.join(_TYPES)}")
        if body["fieldType"] not in _FIELD_TYPES:
            raise SearchError(f"Invalid fieldType {body['fieldType']!r}; expected one of {', '.join(_FIELD_TYPES)}")
        options = body.get("options") or []
        if not isinstance(options, list) or not all(isinstance(o, Mapping) and "value" in o for o in options):
            raise SearchError("options must be a list of {label, value} objects")
        if body["type"] == "enumeration" and not options:
            raise SearchError("An enumeration property needs at least one option")
        return PropertyDefinition(
            name=name, label=str(body["label"]), type=str(body["type"]), field_type=str(body["fieldType"]),
            group_name=str(body["groupName"]), description=str(body.get("description") or ""),
            options=tuple(dict(o) for o in options), hubspot_defined=False, created_at=created_at,
        )


def builtin_definition(kind: str, name: str) -> PropertyDefinition:
    """The definition of a built-in (or seeded) property."""
    if name in NUMBER_PROPERTIES:
        kind_type, field = "number", "number"
    elif name in DATE_PROPERTIES:
        kind_type, field = "datetime", "date"
    else:
        kind_type, field = "string", "text"
    group = {"deal": "dealinformation", "contact": "contactinformation", "company": "companyinformation",
             "product": "productinformation", "line_item": "lineiteminformation",
             "note": "engagement"}.get(kind, "")
    return PropertyDefinition(name=name, label=name.replace("_", " ").title(), type=kind_type,
                              field_type=field, group_name=group)


def line_item_amount(props: Mapping[str, str | None]) -> str | None:
    """HubSpot's calculated ``amount``: ``price * quantity`` less the discount, as a string."""
    try:
        price = Decimal(props.get("price") or "0")
        qty = Decimal(props.get("quantity") or "1")
        discount = Decimal(props.get("discount") or "0")
        percent = Decimal(props.get("hs_discount_percentage") or "0")
    except InvalidOperation:
        return None
    total = price * qty * (1 - percent / 100) - discount * qty
    text = format(total.quantize(Decimal("0.01")), "f")
    return text[:-3] if text.endswith(".00") else text


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(have: str, want: Any, op: str) -> bool:
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return {"LT": a < b, "LTE": a <= b, "GT": a > b, "GTE": a >= b}[op]
    return {"LT": have < str(want), "LTE": have <= str(want), "GT": have > str(want),
            "GTE": have >= str(want)}[op]


def _equal(have: str, want: Any) -> bool:
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return a == b
    return have.lower() == str(want).lower()


def _test(props: Mapping[str, str | None], flt: Mapping[str, Any]) -> bool:
    op = flt["operator"]
    have = props.get(flt["propertyName"])
    if op == "HAS_PROPERTY":
        return have not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return have in (None, "")
    if have is None:
        return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    if op == "EQ":
        return _equal(have, flt.get("value"))
    if op == "NEQ":
        return not _equal(have, flt.get("value"))
    if op in ("IN", "NOT_IN"):
        hit = any(_equal(have, v) for v in flt.get("values") or [])
        return hit if op == "IN" else not hit
    if op == "BETWEEN":
        return _compare(have, flt.get("value"), "GTE") and _compare(have, flt.get("highValue"), "LTE")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(flt.get("value", "")).lower().strip("*")
        hit = token in have.lower()
        return hit if op == "CONTAINS_TOKEN" else not hit
    return _compare(have, flt.get("value"), op)


def match_filter_groups(groups: Any, defined: Sequence[str] | frozenset[str] | set[str]
                        ) -> Any:
    """Validate ``filterGroups`` and return a predicate over a record's properties.

    Groups are OR-ed, filters in a group AND-ed, as HubSpot documents; the
    limits (5 groups, 6 filters each, 18 in all) and unknown operators or
    properties raise :class:`SearchError`.
    """
    if groups is None:
        groups = []
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise SearchError("filterGroups must be a list of {filters: [...]} objects")
    if len(groups) > MAX_FILTER_GROUPS:
        raise SearchError(f"Too many filter groups: {len(groups)} (at most {MAX_FILTER_GROUPS})")
    total = 0
    checked: list[list[Mapping[str, Any]]] = []
    for group in groups:
        filters = group.get("filters") or []
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"A filter group holds at most {MAX_FILTERS_PER_GROUP} filters")
        total += len(filters)
        for flt in filters:
            if not isinstance(flt, Mapping) or flt.get("operator") not in _OPERATORS:
                raise SearchError(f"Unknown operator in filter {flt!r}; expected one of {', '.join(sorted(_OPERATORS))}")
            if flt.get("propertyName") not in defined:
                raise SearchError(f"There was a problem with the request: property "
                                  f"{flt.get('propertyName')!r} does not exist")
        checked.append(filters)
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: {total} (at most {MAX_FILTERS} in all groups)")

    def predicate(props: Mapping[str, str | None]) -> bool:
        if not checked:
            return True
        return any(all(_test(props, f) for f in filters) for filters in checked)

    return predicate
