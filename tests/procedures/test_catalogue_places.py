"""Administrative units: the shipped 2025 and legacy lists, reused codes, and the old -> new mapping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from places.models import AdministrativeUnit, UnitMapping
from places.services import unit_on, unit_successors

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(db):
    call_command("load_admin_units")


def count(generation, level):
    return AdministrativeUnit.objects.filter(generation=generation, level=level).count()


def test_the_shipped_lists_have_the_official_counts(units):
    assert count("2025", "province") == 34
    assert count("2025", "commune") == 3321
    assert count("2025", "district") == 0  # no districts after the reform
    assert (count("legacy", "province"), count("legacy", "district"), count("legacy", "commune")) == (63, 696, 10035)
    assert not AdministrativeUnit.objects.filter(generation="2025", valid_from__isnull=True).exists()
    assert not AdministrativeUnit.objects.filter(generation="legacy", valid_to__isnull=True).exists()
    current = set(AdministrativeUnit.objects.filter(generation="2025", level="commune").values_list("code", flat=True))
    parents = set(AdministrativeUnit.objects.filter(generation="2025", level="province").values_list("code", flat=True))
    assert (
        set(AdministrativeUnit.objects.filter(generation="2025", level="commune").values_list("parent_code", flat=True))
        <= parents
    )
    assert set(UnitMapping.objects.values_list("new_code", flat=True)) <= current


def test_a_reused_code_names_different_units_before_and_after_the_reform(units):
    assert unit_on(level="commune", code="26740", day=dt.date(2025, 6, 30)).name == "Phường Bến Nghé"
    assert unit_on(level="commune", code="26740", day=dt.date(2025, 7, 1)).name == "Phường Sài Gòn"
    assert unit_on(level="province", code="79", day=dt.date(2026, 1, 1)).name == "Thành phố Hồ Chí Minh"
    assert "UBTVQH15" in unit_on(level="commune", code="26740", day=dt.date(2026, 1, 1)).note


def test_every_old_commune_has_a_successor_and_splits_have_one_default(units):
    legacy = set(AdministrativeUnit.objects.filter(generation="legacy", level="commune").values_list("code", flat=True))
    mapped = set(UnitMapping.objects.filter(old_level="commune").values_list("old_code", flat=True))
    assert legacy == mapped
    split = set(
        UnitMapping.objects.filter(old_level="commune").exclude(relation="whole").values_list("old_code", flat=True)
    )
    assert len(split) == 471
    for code in sorted(split)[:25]:
        relations = [m.relation for m in unit_successors(old_code=code)]
        assert relations.count("default") == 1
        assert relations[0] == "default"
    assert UnitMapping.objects.filter(old_level="district").count() == 5  # island districts without communes


def test_loading_again_changes_nothing(units):
    before = (AdministrativeUnit.objects.count(), UnitMapping.objects.count())
    call_command("load_admin_units")
    assert (AdministrativeUnit.objects.count(), UnitMapping.objects.count()) == before
