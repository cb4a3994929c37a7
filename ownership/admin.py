"""Django admin for people and teams."""

from django.contrib import admin

from ownership.models import Person, Team


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "team", "is_active"]
    list_filter = ["is_active", "team"]
    search_fields = ["name", "email"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "email"]
    prepopulated_fields = {"slug": ["name"]}
