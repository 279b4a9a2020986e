from django.contrib import admin

from places.models import AdministrativeUnit, UnitMapping


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "generation", "parent_code", "valid_from", "valid_to")
    list_filter = ("generation", "level")
    search_fields = ("code", "name")


@admin.register(UnitMapping)
class UnitMappingAdmin(admin.ModelAdmin):
    list_display = ("old_level", "old_code", "new_code", "relation", "effective")
    list_filter = ("relation", "old_level")
    search_fields = ("old_code", "new_code")
