"""Audit entries as a reader reads them (issue 12, "readable everywhere").

An entry stores column names and raw values (`{"replacement_vehicle_id": [null, "0e49…"]}`); the
timeline, the custody's audit tab and the global audit log show instead the field's label, the
related record's name, a choice's label, money with two decimals and grouping, times in the
user's zone to the minute and "—" for nothing. One home for that, used by every page.

Related names are loaded with one query per related model for a whole page of entries, never per
entry. The models are found through the app registry, so this lower layer imports no app above it.
"""

import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.bidi import text_dir

EMPTY = "—"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Bookkeeping columns nobody reads in a history.
HIDDEN = {"version", "updated_at", "search_text", "id", "entry_hash", "prev_hash"}

# One title per action: whole phrases, so each translates as a whole.
ACTION_TITLES = {
    "custody.created": gettext_lazy("Custody created"),
    "custody.imported": gettext_lazy("Custody imported"),
    "custody.updated": gettext_lazy("Custody edited"),
    "custody.submitted": gettext_lazy("Submitted for approval"),
    "custody.approved": gettext_lazy("Approved"),
    "custody.rejected": gettext_lazy("Rejected and sent back to draft"),
    "custody.handed_over": gettext_lazy("Replacement handed over"),
    "custody.closed": gettext_lazy("Custody closed"),
    "custody.voided": gettext_lazy("Custody voided"),
    "custody.sla_breached": gettext_lazy("SLA target breached"),
    "custody.original_ready": gettext_lazy("Original vehicle ready"),
    "custody.replacement_changed": gettext_lazy("Replacement vehicle changed"),
    "custody.claim_updated": gettext_lazy("Insurance claim updated"),
    "approval.decided": gettext_lazy("Approval level decided"),
    "approval.escalated": gettext_lazy("Approval level escalated"),
    "vehicle.updated": gettext_lazy("Vehicle updated"),
    "vehicle.status_changed": gettext_lazy("Vehicle status changed"),
    "charge.created": gettext_lazy("Charge added"),
    "charge.computed": gettext_lazy("Replacement rental calculated"),
    "charge.updated": gettext_lazy("Charge changed"),
    "charge.posted": gettext_lazy("Charge posted"),
    "charge.voided": gettext_lazy("Charge voided"),
    "charge.removed": gettext_lazy("Charge removed"),
    "charge.invoiced": gettext_lazy("Charge invoiced"),
    "charge.allocated": gettext_lazy("Payment applied to a charge"),
    "payment.recorded": gettext_lazy("Payment recorded"),
    "payment.refunded": gettext_lazy("Refund recorded"),
    "hold.recorded": gettext_lazy("Damage hold recorded"),
    "hold.captured": gettext_lazy("Damage hold captured"),
    "hold.released": gettext_lazy("Damage hold released"),
    "hold.updated": gettext_lazy("Damage hold changed"),
    "invoice.issued": gettext_lazy("Invoice issued"),
    "invoice.created": gettext_lazy("Invoice created"),
    "document.uploaded": gettext_lazy("Document uploaded"),
    "document.superseded": gettext_lazy("Document superseded"),
    "document.deleted": gettext_lazy("Document deleted"),
    "document.signed": gettext_lazy("Document signed"),
    "document.signature_declined": gettext_lazy("Signature declined"),
    "condition.recorded": gettext_lazy("Vehicle condition recorded"),
    "damage.marked": gettext_lazy("Damage marked"),
    "damage.removed": gettext_lazy("Damage mark removed"),
    "claim.updated": gettext_lazy("Insurance claim updated"),
    "notification.resent": gettext_lazy("Notification sent again"),
    "quote.created": gettext_lazy("Quote created"),
    "quote.updated": gettext_lazy("Quote edited"),
    "quote.submitted": gettext_lazy("Quote submitted"),
    "quote.approved": gettext_lazy("Quote approved"),
    "quote.rejected": gettext_lazy("Quote rejected"),
    "quote.sent": gettext_lazy("Quote sent"),
    "quote.accepted": gettext_lazy("Quote accepted"),
    "quote.expired": gettext_lazy("Quote expired"),
    "quote.converted": gettext_lazy("Quote converted"),
    "quote.rates_applied": gettext_lazy("Cost sheet rates applied to the quote"),
    "quote.vehicles_assigned": gettext_lazy("Vehicles assigned to the quote"),
    "user.created": gettext_lazy("User created"),
    "user.invited": gettext_lazy("User invited"),
    "user.updated": gettext_lazy("User changed"),
    "user.deactivated": gettext_lazy("User deactivated"),
    "user.reactivated": gettext_lazy("User reactivated"),
    "user.password_changed": gettext_lazy("Password changed"),
    "token.created": gettext_lazy("API token created"),
    "token.revoked": gettext_lazy("API token revoked"),
    "system.switches_changed": gettext_lazy("System switches changed"),
}
# Titles of actions no one listed above: "<object>: <verb>", both translated.
_VERBS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("changed"),
    "deleted": gettext_lazy("deleted"),
    "submit": gettext_lazy("submitted"),
    "approve": gettext_lazy("approved"),
    "reject": gettext_lazy("rejected"),
    "apply": gettext_lazy("applied"),
}


def action_title(action: str, object_type: str = "") -> str:
    if action in ACTION_TITLES:
        return str(ACTION_TITLES[action])
    noun, _sep, verb = action.partition(".")
    model = _model_for(object_type or noun)
    noun_label = capfirst(str(model._meta.verbose_name)) if model else noun.replace("_", " ").capitalize()
    verb_label = _VERBS.get(verb) or verb.replace("_", " ")
    return _("%(object)s: %(event)s") % {"object": noun_label, "event": verb_label}


@dataclass
class Change:
    label: str
    before: str
    after: str

    @property
    def before_dir(self) -> str:
        return text_dir(self.before)

    @property
    def after_dir(self) -> str:
        return text_dir(self.after)


@dataclass
class Entry:
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    title: str
    object_label: str
    object_repr: str
    created: bool  # every "before" empty: a new record (shows its values, not a list of arrows)
    changes: list[Change] = field(default_factory=list)
    message: str = ""


# ---- models and fields --------------------------------------------------------------------------------

_MODELS: dict[str, type[models.Model]] | None = None


def _model_for(object_type: str):
    global _MODELS
    if _MODELS is None:
        _MODELS = {}
        for model in apps.get_models():
            if model._meta.app_label in ("admin", "contenttypes", "sessions"):
                continue
            _MODELS.setdefault(model._meta.model_name, model)
    return _MODELS.get((object_type or "").replace("_", ""))


def _field(model, name: str):
    if model is None:
        return None
    for candidate in model._meta.concrete_fields:
        if name in (candidate.name, candidate.attname):
            return candidate
    return None


def field_label(model, name: str) -> str:
    found = _field(model, name)
    if found is not None and found.verbose_name:
        return capfirst(str(found.verbose_name))
    return name.removesuffix("_id").replace("_", " ").capitalize()


# ---- values -------------------------------------------------------------------------------------------


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def money_text(value) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return formats.number_format(number, 2, use_l10n=True, force_grouping=True)


def datetime_text(value) -> str:
    """A stored time in the user's zone, to the minute, in the language's one format."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            only_date = parse_date(value)
            return date_text(only_date) if only_date else value
        value = parsed
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "SHORT_DATETIME_FORMAT")


def date_text(value) -> str:
    if isinstance(value, str):
        value = parse_date(value) or value
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def value_text(model_field, value, names: dict) -> str:
    if _empty(value):
        return EMPTY
    if model_field is None:
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or EMPTY
        if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and parse_datetime(value):
            return datetime_text(value)
        return str(value)
    if model_field.is_relation and model_field.related_model is not None:
        return names.get((model_field.related_model, str(value)), str(value))
    if model_field.choices:
        labels = {str(k): v for k, v in model_field.flatchoices}
        return str(labels.get(str(value), value))
    if isinstance(model_field, models.BooleanField):
        return _("Yes") if value else _("No")
    if isinstance(model_field, models.DateTimeField):
        return datetime_text(value)
    if isinstance(model_field, models.DateField):
        return date_text(value)
    if isinstance(model_field, models.DecimalField):
        if model_field.decimal_places == 2:
            return money_text(value)
        number = Decimal(str(value))
        number = number.quantize(Decimal(1)) if number == number.to_integral() else number.normalize()
        return formats.number_format(number, use_l10n=True, force_grouping=True)
    if isinstance(model_field, models.IntegerField | models.PositiveIntegerField) and isinstance(value, int):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _related_names(raw_entries) -> dict:
    """{(model, pk string): str(record)} for every related id named in the entries: one query per model."""
    wanted: dict[type[models.Model], set[str]] = {}
    for entry in raw_entries:
        model = _model_for(entry.object_type)
        for name, pair in (entry.changes or {}).items():
            found = _field(model, name)
            if found is None or not found.is_relation or found.related_model is None:
                continue
            for value in pair if isinstance(pair, list) else []:
                if not _empty(value):
                    wanted.setdefault(found.related_model, set()).add(str(value))
    names = {}
    for model, ids in wanted.items():
        pk = model._meta.pk
        valid = []
        for raw in ids:
            with suppress(ValidationError):  # a malformed id in an old entry is shown as stored
                valid.append(pk.to_python(raw))
        for obj in model._base_manager.filter(pk__in=valid):
            names[(model, str(obj.pk))] = str(obj)
    return names


@lru_cache(maxsize=64)
def _template_pattern(template: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex, re.DOTALL)


def message_text(stored: str) -> str:
    """An entry's note (stored in English by audit.record) in the reader's language; a note no
    template knows (a user's words, an older entry) as stored."""
    if not stored:
        return ""
    translated = _(stored)
    if translated != stored:
        return translated
    from .services import MESSAGE_TEMPLATES

    for template in MESSAGE_TEMPLATES:
        with translation.override("en"):
            english = str(template)
        found = _template_pattern(english).fullmatch(stored)
        if found:
            return str(template) % found.groupdict()
    return stored


def _actor(entry) -> str:
    user = entry.actor if entry.actor_id else None
    if user is not None:
        return user.get_full_name() or user.email
    return entry.actor_email or _("System")


def present(raw_entries) -> list[Entry]:
    """Audit entries (with `actor` selected) as `Entry` rows ready to print."""
    raw_entries = list(raw_entries)
    names = _related_names(raw_entries)
    result = []
    for entry in raw_entries:
        model = _model_for(entry.object_type)
        changes = []
        stored = entry.changes or {}
        # A model may word some of its values itself (a system charge line in the reader's language).
        reworded = getattr(model, "audit_reworded", None)
        pairs = [
            (name, pair)
            for name, pair in (reworded(stored) if reworded else stored).items()
            if name not in HIDDEN and isinstance(pair, list) and len(pair) == 2
        ]
        created = bool(pairs) and all(_empty(pair[0]) for _name, pair in pairs)
        for name, (before, after) in pairs:
            if created and _empty(after):
                continue
            found = _field(model, name)
            changes.append(
                Change(
                    field_label(model, name),
                    value_text(found, before, names),
                    value_text(found, after, names),
                )
            )
        result.append(
            Entry(
                id=entry.id,
                at=timezone.localtime(entry.at),
                actor=_actor(entry),
                source=entry.get_source_display(),
                action=entry.action,
                title=action_title(entry.action, entry.object_type),
                object_label=capfirst(str(model._meta.verbose_name)) if model else "",
                # Some records' names carry an id (an approval level's); a reader gets nothing from it.
                object_repr="" if _UUID.search(entry.object_repr or "") else entry.object_repr,
                created=created,
                changes=changes,
                message=message_text(entry.message),
            )
        )
    return result


def action_choices(prefixes: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(action, title) pairs for an "Action" filter, by title; only `prefixes` when given."""
    pairs = [
        (action, str(title))
        for action, title in ACTION_TITLES.items()
        if not prefixes or action.startswith(prefixes)
    ]
    return sorted(pairs, key=lambda pair: pair[1])


CUSTODY_ACTION_PREFIXES = (
    "custody.",
    "approval.",
    "vehicle.",
    "charge.",
    "payment.",
    "hold.",
    "invoice.",
    "document.",
    "condition.",
    "damage.",
    "claim.",
    "notification.",
)
