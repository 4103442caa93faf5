from django import forms

from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class BranchForm(forms.ModelForm):
    class Meta:
        model = Branch
        fields = ["code", "name", "city", "timezone", "active"]


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "customer_no",
            "kind",
            "full_name",
            "email",
            "phone",
            "national_id",
            "driving_licence_no",
            "driving_licence_expiry",
            "address",
            "notes",
            "active",
        ]
        widgets = {
            "driving_licence_expiry": DATE,
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class VehicleClassForm(forms.ModelForm):
    class Meta:
        model = VehicleClass
        fields = ["code", "name", "daily_rate", "monthly_rate"]


class VehicleForm(forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = [
            "plate",
            "vin",
            "make",
            "model",
            "year",
            "vehicle_class",
            "branch",
            "status",
            "odometer_km",
            "fuel_level",
            "registration_expiry",
            "insurance_expiry",
        ]
        widgets = {"registration_expiry": DATE, "insurance_expiry": DATE}

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches

    # Plate/VIN normalization and the VIN rule live on the model (Vehicle.clean_fields/clean),
    # so the API and the pages apply the same rules.


class RentalAgreementForm(forms.ModelForm):
    class Meta:
        model = RentalAgreement
        fields = [
            "agreement_no",
            "customer",
            "vehicle",
            "branch",
            "start_at",
            "end_at",
            "daily_rate",
            "monthly_rate",
            "deposit_amount",
            "status",
        ]
        widgets = {"start_at": DATETIME, "end_at": DATETIME}

    def __init__(self, *args, branches=None, vehicles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches
        if vehicles is not None:
            self.fields["vehicle"].queryset = vehicles


class SpecialRateCodeForm(forms.ModelForm):
    class Meta:
        model = SpecialRateCode
        fields = ["code", "description", "daily_rate", "active"]


class TaxProfileForm(forms.ModelForm):
    class Meta:
        model = TaxProfile
        fields = ["name", "rate_percent", "is_default"]
