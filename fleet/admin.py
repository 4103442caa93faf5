"""Django admin for reference data: every save goes through `fleet.services.save_record` (permission,
validation, the vehicle-status guard, audit); records are never deleted here (deactivate them)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit import services as audit

from . import services
from .models import (
    Branch,
    CompanyProfile,
    Customer,
    RentalAgreement,
    SpecialRateCode,
    TaxProfile,
    Vehicle,
    VehicleClass,
)


class ThroughServices(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        services.save_record(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class VehicleAdminForm(forms.ModelForm):
    # No Meta: the admin builds the fields; this only adds the status guard's message.
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and "status" in self.changed_data:
            refusal = services.status_change_refusal(self.instance)
            if refusal:
                self.add_error("status", refusal)
        return cleaned


@admin.register(Branch)
class BranchAdmin(ThroughServices):
    list_display = ["code", "name", "city", "active", "insurer_calendar_days"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(ThroughServices):
    list_display = ["customer_no", "full_name", "kind", "phone", "active"]
    search_fields = ["customer_no", "full_name", "phone", "email"]
    list_filter = ["kind", "active"]


@admin.register(VehicleClass)
class VehicleClassAdmin(ThroughServices):
    list_display = ["code", "name", "daily_rate", "monthly_rate"]


@admin.register(Vehicle)
class VehicleAdmin(ThroughServices):
    form = VehicleAdminForm
    list_display = ["plate", "make", "model", "vehicle_class", "branch", "status"]
    list_filter = ["status", "branch", "vehicle_class"]
    search_fields = ["plate", "vin"]
    list_select_related = ["vehicle_class", "branch"]


@admin.register(RentalAgreement)
class RentalAgreementAdmin(ThroughServices):
    list_display = ["agreement_no", "customer", "vehicle", "branch", "start_at", "end_at", "status"]
    list_filter = ["status", "branch"]
    search_fields = ["agreement_no"]
    list_select_related = ["customer", "vehicle", "branch"]
    raw_id_fields = ["customer", "vehicle"]


admin.site.register(SpecialRateCode, ThroughServices)
admin.site.register(TaxProfile, ThroughServices)


class CompanyProfileForm(forms.ModelForm):
    logo_file = forms.ImageField(
        label=_("Logo"), required=False, help_text=_("PNG or JPEG, printed on invoices and forms.")
    )

    class Meta:
        model = CompanyProfile
        fields = ["name", "name_ar", "address", "address_ar", "trn", "phone", "email", "website"]

    def save(self, commit=True):
        upload = self.cleaned_data.get("logo_file")
        if upload:
            self.instance.logo = upload.read()
            self.instance.logo_content_type = upload.content_type or "image/png"
        return super().save(commit)


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):
    form = CompanyProfileForm
    list_display = ["name", "trn"]

    def save_model(self, request, obj, form, change):
        # Audited like AuditedAdmin, without the logo's bytes (they are not JSON).
        fields = [*CompanyProfileForm.Meta.fields]
        before = audit.snapshot(CompanyProfile.objects.get(pk=obj.pk), fields) if change else {}
        super().save_model(request, obj, form, change)
        changes = audit.diff(before, audit.snapshot(obj, fields))
        if form.cleaned_data.get("logo_file"):
            changes["logo"] = [None, obj.logo_content_type]
        verb = "updated" if change else "created"
        audit.record(f"companyprofile.{verb}", obj, changes=changes, message="Django admin")

    def has_add_permission(self, request):
        # One seller: the first profile is the one documents print.
        return not CompanyProfile.objects.exists()
