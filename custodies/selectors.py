"""Custody reads shared by the list page, the API and exports: branch-scoped, N+1-free, indexed filters."""

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.permissions import in_branch, scope_to_branches, visible_branch_ids
from core import rawsql
from core.dates import on_days
from core.kept import Kept
from fleet.models import RentalAgreement, Vehicle

from . import sla
from .choices import CustodianType, CustodyStatus, ReasonCode, SlaState, SlaTarget
from .models import Custody
from .sla import state_q as sla_state_q

LIST_ORDERINGS = {
    "created_at",
    "custody_no",
    "status",
    "incident_at",
    "effective_from",
    "expected_return_at",
    "custodian_name",
    "sla_approve_due_at",
}


def custodies_for(user) -> QuerySet[Custody]:
    # Only what lists show is joined: PostgreSQL's planning time grows steeply with the number of
    # joined tables (11 relations took ~50 ms to plan per query, 6 take ~1 ms; docs/performance.md).
    # A detail page loads the few other relations it shows (vehicle classes, users) one by one.
    return scope_to_branches(
        Custody.objects.select_related(
            "branch", "customer", "agreement", "original_vehicle", "replacement_vehicle"
        ),
        user,
    )


# The users a custody's record names (the detail page's overview: who created, submitted... it).
RECORD_USER_FIELDS = ("created_by", "submitted_by", "handed_over_by", "closed_by", "voided_by")


def record_users(custody: Custody) -> dict:
    """The users RECORD_USER_FIELDS name, by id, in one query (each foreign key would load on its own)."""
    ids = {getattr(custody, f"{name}_id") for name in RECORD_USER_FIELDS} - {None}
    if not ids:
        return {}
    user_model = Custody._meta.get_field("created_by").related_model
    return user_model.objects.only("id", "email", "full_name").in_bulk(ids)


# What a custody's API representation shows of the references custodies_for() joins (NamedRef,
# AgreementRef, CustomerRef, VehicleRef): compiling and decoding every column of six tables was half
# of a detail request's CPU (docs/performance.md, issue 14). A field left out still loads on access.
DETAIL_REFERENCE_FIELDS = (
    "branch__code",
    "branch__name",
    "agreement__agreement_no",
    "customer__customer_no",
    "customer__full_name",
    *(
        f"{vehicle}__{field}"
        for vehicle in ("original_vehicle", "replacement_vehicle")
        for field in ("plate", "make", "model", "status")
    ),
)


DETAIL_COLUMNS = (*(f.name for f in Custody._meta.concrete_fields), *DETAIL_REFERENCE_FIELDS)


# What a list row shows (API list, list page): the row's own columns, the few columns of the five
# joined references, and the SLA columns sla.current_view reads. Fetched with .values() — one query,
# no model instances: building 51 instances of 6 models per page (every column, ~1,000 datetimes)
# cost 25–35 ms against 7–8 ms for these (docs/performance.md).
LIST_COLUMNS = (
    "id",
    "custody_no",
    "status",
    "branch_id",
    "branch__code",
    "branch__name",
    "customer_id",
    "customer__customer_no",
    "customer__full_name",
    "agreement_id",
    "custodian_type",
    "custodian_name",
    "original_vehicle_id",
    "original_vehicle__plate",
    "original_vehicle__make",
    "original_vehicle__model",
    "original_vehicle__status",
    "replacement_vehicle_id",
    "replacement_vehicle__plate",
    "replacement_vehicle__make",
    "replacement_vehicle__model",
    "replacement_vehicle__status",
    "reason_code",
    "reason_subcode",
    "incident_at",
    "effective_from",
    "expected_return_at",
    "created_at",
    "updated_at",
    "version",
)
# The SLA state (sla.current_view) reads due, at-risk-from, met and breached of the current target.
LIST_COLUMNS += tuple(column for target in SlaTarget.values for column in sla.fields(target))


class ListRow(dict):
    """A `.values()` row that also reads as attributes, so sla/display helpers take it like a Custody."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    @property
    def pk(self):
        return self["id"]


# What the list page prints (custodies/_list_results.html through display.ListRows): fewer columns
# and joins than the API's rows; plus the SLA columns, and the sort column (page_columns()).
PAGE_COLUMNS = (
    "id",
    "custody_no",
    "status",
    "reason_code",
    "customer__full_name",
    "custodian_name",
    "original_vehicle__plate",
    "replacement_vehicle__plate",
    "branch__code",
    "created_at",
) + tuple(column for target in SlaTarget.values for column in sla.fields(target))


def page_columns(ordering: str | None) -> tuple[str, ...]:
    """PAGE_COLUMNS and the column the page is sorted by (the cursor of the next page reads it)."""
    field = (ordering or "").lstrip("-")
    if field in LIST_ORDERINGS | {"reason_code"} and field not in PAGE_COLUMNS:
        return (*PAGE_COLUMNS, field)
    return PAGE_COLUMNS


# The recent customers per branch scope, kept for CUSTODY_RECENT_CUSTOMERS_SECONDS (core.kept); a custody
# or customer saved in this process forgets them (apps.py watches both models).
RECENT_CUSTOMERS = Kept("recent_customers", lambda: settings.CUSTODY_RECENT_CUSTOMERS_SECONDS)


def forget_recent_customers(**kwargs) -> None:
    """A custody or customer saved in this process shows in its next page's filter at once (in other
    server processes within CUSTODY_RECENT_CUSTOMERS_SECONDS)."""
    RECENT_CUSTOMERS.forget()


def recent_customers(user, custodies: int = 300) -> list[tuple]:
    """(customer id, name) of the `custodies` custodies the user sees that were created last, newest
    first (repeats included): the same rows as
    `custodies_for(user).order_by("-created_at").values_list("customer_id", "customer__full_name")[:n]`.

    The list page's customer filter reads them on every page. The query is written by hand
    (identifiers from the models, values as parameters): the ORM built, compiled and decoded it for
    ~0.5 ms of CPU, the SQL alone costs ~0.2 ms. Tested against the ORM query. Its rows are then kept
    per branch scope for a short while: the database spent ~2 ms on the 300 customer lookups of every
    list page, the costliest statement of the page.
    """
    ids = visible_branch_ids(user)
    if ids is not None and not ids:
        return []
    key = (None if ids is None else frozenset(ids), custodies)
    return RECENT_CUSTOMERS.get(key, lambda: _read_recent_customers(ids, custodies))


def _read_recent_customers(ids, custodies: int) -> list[tuple]:
    from fleet.models import Customer

    connection = rawsql.read_connection(Custody)
    custody_table, branch_fk, customer_fk, created = rawsql.names(
        connection, Custody, "branch", "customer", "created_at"
    )
    customer_table, customer_pk, name = rawsql.names(connection, Customer, "id", "full_name")
    where, params = "", []
    if ids is not None:
        branch_pk = Custody._meta.get_field("branch").target_field
        where = f" WHERE c.{branch_fk} IN ({', '.join(['%s'] * len(ids))})"
        params = [branch_pk.get_db_prep_value(i, connection) for i in sorted(ids, key=str)]
    sql = (
        f"SELECT c.{customer_fk}, cu.{name} FROM {custody_table} c"  # noqa: S608 - identifiers from the models
        f" INNER JOIN {customer_table} cu ON cu.{customer_pk} = c.{customer_fk}{where}"
        f" ORDER BY c.{created} DESC LIMIT {int(custodies)}"
    )
    rows = rawsql.fetch(connection, sql, params)
    to_id = Customer._meta.pk.to_python  # SQLite answers a UUID as text
    return [(to_id(pk), full_name) for pk, full_name in rows]


# A custody that took its original car out of use: handed over, and not voided.
TOOK_OUT_Q = Q(handed_over_at__isnull=False, status__in=[CustodyStatus.ACTIVE, CustodyStatus.CLOSED])


def out_of_use_since(vehicles: QuerySet) -> QuerySet:
    """`vehicles` annotated with `since`: when the latest custody that took each out handed it over,
    else the car's last change (a workshop visit). One correlated subquery per car, answered by the
    partial index `custody_original_handed_over`. The dashboard and the analytics chart age cars by it."""
    from django.db.models import DateTimeField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    latest = Custody.objects.filter(TOOK_OUT_Q, original_vehicle=OuterRef("pk")).order_by("-handed_over_at")
    return vehicles.annotate(
        since=Coalesce(
            Subquery(latest.values("handed_over_at")[:1]), "updated_at", output_field=DateTimeField()
        )
    )


def custodies_that_took_out(vehicle_ids) -> dict:
    """{vehicle id: {"pk", "custody_no"}} of the latest custody that took each car out (one query)."""
    found: dict = {}
    for row in (
        Custody.objects.filter(TOOK_OUT_Q, original_vehicle_id__in=list(vehicle_ids))
        .order_by("original_vehicle_id", "-handed_over_at")
        .values("original_vehicle_id", "pk", "custody_no")
    ):
        found.setdefault(row["original_vehicle_id"], row)
    return found


def list_rows(qs: QuerySet[Custody], columns: tuple[str, ...] = LIST_COLUMNS) -> QuerySet:
    """The list columns of `qs` as dicts (paginate() orders and slices it); the API's by default."""
    return qs.values(*columns)


@dataclass
class CustodyFilters:
    status: list[str] = field(default_factory=list)
    reason_code: str | None = None
    branch_id: UUID | None = None
    custodian_type: str | None = None
    customer_id: UUID | None = None
    agreement_id: UUID | None = None
    plate: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sla_state: str | None = None
    overdue: bool = False
    q: str | None = None

    def errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        bad = [s for s in self.status if s not in CustodyStatus.values]
        if bad:
            errors["status"] = [f"Unknown status: {', '.join(bad)}."]
        if self.reason_code and self.reason_code not in ReasonCode.values:
            errors["reason_code"] = ["Unknown reason."]
        if self.custodian_type and self.custodian_type not in CustodianType.values:
            errors["custodian_type"] = ["Unknown custodian type."]
        if self.sla_state and self.sla_state not in SlaState.values:
            errors["sla_state"] = ["Unknown SLA state."]
        if self.date_from and self.date_to and self.date_to < self.date_from:
            errors["date_to"] = ["Must not be before date_from."]
        return errors

    def plan_fits_any_values(self, user) -> bool:
        """True when the list's statements have one best plan whatever their values — all branches, no
        filter but the status (one index serves any status) — so they may be prepared
        (core.rawsql.prepared). A branch scope or another filter can make a value rare, and a text
        search's generic plan reads the whole table for a rare name."""
        only_status = not any(
            (
                self.reason_code,
                self.branch_id,
                self.custodian_type,
                self.customer_id,
                self.agreement_id,
                self.plate,
                self.date_from,
                self.date_to,
                self.sla_state,
                self.overdue,
                self.q,
            )
        )
        return only_status and visible_branch_ids(user) is None


def overdue_q(now: datetime) -> Q:
    """Active and past the expected return (the daily overdue reminder, the list filter and the KPI)."""
    return Q(status=CustodyStatus.ACTIVE, expected_return_at__lt=now)


def filter_custodies(
    qs: QuerySet[Custody], f: CustodyFilters, now: datetime | None = None
) -> QuerySet[Custody]:
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.reason_code:
        qs = qs.filter(reason_code=f.reason_code)
    if f.branch_id:
        qs = qs.filter(branch_id=f.branch_id)
    if f.custodian_type:
        qs = qs.filter(custodian_type=f.custodian_type)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.agreement_id:
        qs = qs.filter(agreement_id=f.agreement_id)
    if f.plate:
        # Plate → vehicle ids first: `original_vehicle_id IN (...) OR replacement_vehicle_id IN (...)`
        # is two index scans, where an OR across two joins reads the whole custody table.
        vehicle_ids = _vehicle_ids(f.plate.strip().upper())
        qs = qs.filter(Q(original_vehicle_id__in=vehicle_ids) | Q(replacement_vehicle_id__in=vehicle_ids))
    qs = qs.filter(on_days("created_at", f.date_from, f.date_to))
    if f.sla_state:
        qs = qs.filter(sla_state_q(f.sla_state, now or timezone.now()))
    if f.overdue:
        qs = qs.filter(overdue_q(now or timezone.now()))
    if f.q:
        term = f.q.strip()
        upper = term.upper()
        # Every branch of the OR is indexed, so PostgreSQL combines index scans (BitmapOr) instead of
        # reading the table: exact matches use b-trees, plates and agreement numbers are looked up
        # first (no joins in the OR), the custodian name "contains" uses the trigram index (0003).
        vehicle_ids = _vehicle_ids(upper)
        agreement_ids = list(RentalAgreement.objects.filter(agreement_no=upper).values_list("pk", flat=True))
        qs = qs.filter(
            Q(custody_no=upper)
            | Q(custody_no=f"CST-{term}")
            | Q(original_vehicle_id__in=vehicle_ids)
            | Q(replacement_vehicle_id__in=vehicle_ids)
            | Q(agreement_id__in=agreement_ids)
            | Q(incident_ref=term)
            | Q(custodian_name__icontains=term)
        )
    return qs


def _vehicle_ids(plate: str) -> list:
    return list(Vehicle.objects.filter(plate=plate).values_list("pk", flat=True))


def held_vehicle_ids(start: datetime, end: datetime | None):
    """Replacement vehicles held by approved/active custodies overlapping [start, end) (a subquery)."""
    qs = Custody.objects.filter(
        status__in=[CustodyStatus.APPROVED, CustodyStatus.ACTIVE], replacement_vehicle__isnull=False
    ).filter(Q(reserved_until__isnull=True) | Q(reserved_until__gt=start))
    if end is not None:
        qs = qs.filter(Q(reserved_from__isnull=True) | Q(reserved_from__lt=end))
    return qs.values("replacement_vehicle_id")


# The references a custody's transitions read (rules, rental, approval rules) and the API answers
# with (custody_out): joined when the row is locked, so a transition reads none of them with a
# query of its own and the API answers with the row it holds instead of reloading it.
LOCKED_REFERENCES = ("branch", "agreement", "customer", "original_vehicle", "replacement_vehicle")


def lock_custody(custody_id, user=None, *, references: bool = False, only: tuple[str, ...] = ()) -> Custody:
    """The custody row, locked for update (and scoped to the user's branches when a user is given).

    Services take this lock first, then vehicles/charges, so concurrent actions never deadlock.
    references=True also reads LOCKED_REFERENCES in the same query; only the custody's row is locked
    (`FOR UPDATE OF`): a vehicle is locked by the service that changes it, in primary-key order.
    `only`: the columns the caller reads (a charge or a payment needs the branch and the status, not
    the custody's 80 columns); another one loads on access.

    Every write starts here, so each variant's statement is compiled once per process and prepared on
    PostgreSQL (compiling and planning the six-table read cost ~2 ms of CPU a write, running it
    ~0.1 ms). The branch scope is checked on the row, so the statement has one shape for every user.
    """
    if references:
        qs = Custody.objects.select_for_update(of=("self",)).select_related(*LOCKED_REFERENCES)
    else:
        qs = Custody.objects.select_for_update()
    if only:
        qs = qs.only(*{*only, "branch"})
    custody = _one(qs, custody_id, user, f"custodies.lock_custody.{references}.{','.join(sorted(only))}")
    if custody is None:
        raise Custody.DoesNotExist("custody not found")
    return custody


def custody_detail(user, custody_id) -> Custody | None:
    """One custody with every column of its own and the shown columns of its five references (the
    API's detail and every read of one custody by key), or None when it does not exist for the user:
    compiled once, prepared on PostgreSQL."""
    return _one(
        Custody.objects.select_related(*LOCKED_REFERENCES).only(*DETAIL_COLUMNS),
        custody_id,
        user,
        "custodies.custody_detail",
    )


def _one(qs: QuerySet[Custody], custody_id, user, key: str) -> Custody | None:
    """The custody `custody_id` names from `qs`, if `user` (None: anyone) works in its branch. One
    statement per `key` whatever the id or the user: compiled once per process (rawsql.compiled_once)
    and planned once per connection on PostgreSQL (rawsql.prepared); the branch scope is checked on
    the row. A malformed id finds nothing."""
    custody = rawsql.by_key(qs, custody_id, key, prepare=True)
    if custody is None or (user is not None and not in_branch(user, custody.branch_id)):
        return None
    return custody


def holding_custody_no(vehicle) -> str | None:
    """The custody that holds a vehicle now (registered with fleet, whose status changes it guards):
    an approved or active custody holds its replacement, an active one its original."""
    held = Q(replacement_vehicle=vehicle, status__in=[CustodyStatus.APPROVED, CustodyStatus.ACTIVE]) | Q(
        original_vehicle=vehicle, status=CustodyStatus.ACTIVE
    )
    return Custody.objects.filter(held).values_list("custody_no", flat=True).first()


def replacement_options(user, custody, start, end, *, limit=200) -> list:
    """(Shared by the wizard, the approvals inbox and the calendar.) Vehicles that can replace the original in [start, end): available, of the custody's branch,
    not held by an overlapping approved/active custody; the original's class first."""
    from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When

    from fleet import selectors as fleet_selectors

    from . import rules

    qs = fleet_selectors.available_vehicles_for(user, start=start, end=end, branch_id=custody.branch_id)
    if custody.original_vehicle_id:
        qs = qs.exclude(pk=custody.original_vehicle_id)
    if start is not None:
        holds = rules.overlapping_holds(OuterRef("pk"), start, end, exclude_custody_id=custody.pk)
        qs = qs.exclude(Exists(holds))
    class_id = custody.original_vehicle.vehicle_class_id if custody.original_vehicle_id else None
    qs = qs.annotate(
        other_class=Case(
            When(vehicle_class_id=class_id, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    )
    vehicles = list(qs.order_by("other_class", "vehicle_class__code", "plate")[:limit])
    for vehicle in vehicles:
        vehicle.same_class = class_id is not None and vehicle.vehicle_class_id == class_id
    return vehicles
