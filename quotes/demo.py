"""Demo quotes: three companies' quotes (draft, sent, accepted) with their cost sheets, made through the
real services by the demo users, so numbers, approvals, audit and events are all genuine."""

import base64
import io
from datetime import timedelta

from django.utils import timezone

from audit.context import acting_as
from fleet.choices import CustomerKind
from fleet.models import Customer, VehicleClass

from . import services
from .models import CostElement, Quote

# Acquisition cost and monthly running costs per class (maintenance, insurance, registration,
# roadside, replacement, other), the way a UAE lessor would start.
COSTS = {
    "ECON": ("55000", "150", "180", "40", "15", "40", "0"),
    "COMP": ("70000", "180", "220", "45", "15", "50", "0"),
    "MID": ("95000", "220", "300", "50", "20", "60", "0"),
    "SUV-M": ("120000", "300", "400", "50", "20", "80", "0"),
    "SUV-L": ("175000", "380", "520", "60", "25", "100", "0"),
    "LUX": ("260000", "450", "750", "70", "25", "140", "0"),
}

# (company, target status, [(class, quantity, months, monthly rate before pricing)])
PLAN = [
    ("Gulf Horizon Contracting LLC", "draft", [("SUV-M", 10, 24, "4000.00")]),
    ("Al Noor Logistics LLC", "sent", [("COMP", 6, 36, "2300.00"), ("MID", 2, 36, "3100.00")]),
    ("Desert Rose Hospitality LLC", "accepted", [("SUV-L", 4, 12, "7800.00")]),
]


def _signature() -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(image).line([(20, 70), (80, 20), (140, 75), (200, 25), (280, 60)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def ensure_cost_elements(admin) -> int:
    """The cost elements of the demo's vehicle classes, set by the admin through the settings service."""
    created = 0
    for vehicle_class in VehicleClass.objects.filter(code__in=COSTS):
        if CostElement.objects.filter(vehicle_class=vehicle_class).exists():
            continue
        values = dict(
            zip(["acquisition_cost", *services.pricing.MONTHLY_COSTS], COSTS[vehicle_class.code], strict=True)
        )
        with acting_as(admin, "web"):
            services.save_cost_element(admin, vehicle_class, values)
        created += 1
    return created


def create_demo_quotes(users: dict) -> list[Quote]:
    sales, finance, manager = users["operator"], users["finance"], users["manager"]
    ensure_cost_elements(users["admin"])
    classes = {c.code: c for c in VehicleClass.objects.filter(code__in=COSTS)}
    valid_until = timezone.localdate() + timedelta(days=30)
    quotes = []
    for company_name, target, lines in PLAN:
        customer = Customer.objects.filter(full_name=company_name, kind=CustomerKind.COMPANY).first()
        if customer is None or Quote.objects.filter(customer=customer).exists():
            continue
        with acting_as(sales, "web"):
            quote = services.create_quote(
                sales,
                {
                    "customer_id": customer.pk,
                    "valid_until": valid_until,
                    "notes": "Corporate lease; delivery to the customer's office.",
                    "lines": [
                        {
                            "vehicle_class_id": classes[code].pk,
                            "quantity": quantity,
                            "term_months": months,
                            "monthly_rate": rate,
                            "maintenance_included": True,
                            "roadside_included": True,
                            "replacement_included": code != "ECON",
                        }
                        for code, quantity, months, rate in lines
                    ],
                },
            )
            sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
        if target != "draft":
            with acting_as(sales, "web"):
                services.submit_cost_sheet(sales, sheet.pk)
            with acting_as(finance, "web"):
                services.approve_cost_sheet(finance, sheet.pk, "Margins checked")
            with acting_as(sales, "web"):
                services.apply_cost_sheet(sales, sheet.pk)
                services.submit_quote(sales, quote.pk)
            with acting_as(manager, "web"):
                services.approve_quote(manager, quote.pk, "Approved for sending")
            with acting_as(sales, "web"):
                quote, _url = services.send_quote(sales, quote.pk)
        if target == "accepted":
            token = services.review_token(quote)
            with acting_as(None, "web", ip="203.0.113.24"):
                services.accept_quote(
                    token, "Mariam Al Suwaidi", _signature(), "203.0.113.24", "Demo (iPhone)"
                )
        quotes.append(Quote.objects.get(pk=quote.pk))
    return quotes
