from django.contrib import admin

from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "active"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_no", "full_name", "kind", "phone", "active"]
    search_fields = ["customer_no", "full_name", "phone", "email"]
    list_filter = ["kind", "active"]


@admin.register(VehicleClass)
class VehicleClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "daily_rate", "monthly_rate"]


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["plate", "make", "model", "vehicle_class", "branch", "status"]
    list_filter = ["status", "branch", "vehicle_class"]
    search_fields = ["plate", "vin"]
    list_select_related = ["vehicle_class", "branch"]


@admin.register(RentalAgreement)
class RentalAgreementAdmin(admin.ModelAdmin):
    list_display = ["agreement_no", "customer", "vehicle", "branch", "start_at", "end_at", "status"]
    list_filter = ["status", "branch"]
    search_fields = ["agreement_no"]
    list_select_related = ["customer", "vehicle", "branch"]
    raw_id_fields = ["customer", "vehicle"]


admin.site.register(SpecialRateCode)
admin.site.register(TaxProfile)
