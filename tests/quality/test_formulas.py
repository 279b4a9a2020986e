"""Each indicator on a hand-built data set with known answers (pauses, extensions, withdrawn, refused and
stopped dossiers, periods that cross months and years)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from quality.facts import by_month, differences, quality_refresh, recount, sql_recount, table_totals
from quality.models import DossierFact, Target
from quality.selectors import Filters, cube, indicator_rows, ranking, scores, totals, trend

pytestmark = pytest.mark.django_db


def period(start, end, **kw) -> Filters:
    return Filters(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), **kw)


def values(filters: Filters) -> dict:
    return {r.code: r.value for r in indicator_rows(filters, totals(filters))}


@pytest.fixture
def counted(dataset):
    quality_refresh()
    return dataset


def test_march_2026_every_indicator_has_its_hand_worked_value(counted):
    march = period("2026-03-01", "2026-03-31")
    t = totals(march)
    assert (t["submitted"], t["received"], t["resolved"]) == (6, 4, 4)
    assert (t["resolved_early"], t["resolved_on_time"], t["resolved_late"]) == (2, 1, 1)
    assert (t["refused"], t["withdrawn"], t["stopped"]) == (1, 1, 1)
    v = values(march)
    # resolved in March: early (issued 6/3), paused (on the due day), extended_late (after the new date),
    # month_end (early)
    assert v["on_time_rate"] == 75.0
    assert v["early_rate"] == 50.0
    # working days net of pauses: 4 + (1 + 2) + 15.5 + 2 = 24.5 over 4 dossiers
    assert abs(v["avg_resolution_days"] - 6.125) <= 0.005
    assert t["resolution_mdays"] == 24500
    # received in March: early, paused, extended_late, stopped (month_end was received in February)
    assert v["online_submit_rate"] == 50.0  # early and stopped were submitted online
    assert v["digitisation_rate"] == 75.0  # extended_late has no document at all
    assert v["reuse_rate"] == 25.0  # paused reused one component
    assert v["sync_rate"] == 25.0  # only early's status reached the national portal
    assert v["e_result_rate"] == 25.0  # one electronic result among four resolved
    assert v["online_payment_rate"] == 50.0  # early paid online, paused at the counter
    assert v["satisfaction_rate"] == 50.0  # a "very satisfied" and a "dissatisfied"


def test_a_period_across_the_new_year_counts_the_holiday_out(counted):
    winter = period("2025-12-15", "2026-01-31")
    t = totals(winter)
    assert (t["received"], t["resolved"], t["resolved_on_time"]) == (1, 1, 1)
    # 29/12 08:00 to 5/1 08:00: 29, 30, 31 December and 2 January (1 January is a holiday)
    assert t["resolution_mdays"] == 4000
    v = values(winter)
    assert v["on_time_rate"] == 100.0 and v["avg_resolution_days"] == 4.0
    assert v["online_submit_rate"] == 100.0  # submitted on the national portal
    assert v["satisfaction_rate"] == 100.0
    assert v["online_payment_rate"] is None  # nothing paid: no data, not zero


def test_a_period_across_a_month_end_takes_results_by_their_issue_day(counted):
    assert totals(period("2026-02-01", "2026-03-01"))["resolved"] == 0  # month_end was issued on 2 March
    edge = period("2026-02-27", "2026-03-02")
    t = totals(edge)
    assert (t["received"], t["resolved"], t["resolved_early"]) == (3, 1, 1)
    assert t["resolution_mdays"] == 2000  # Friday 27/2 and Monday 2/3, whole days


def test_the_whole_year_and_the_monthly_trend(counted):
    year = period("2025-12-01", "2026-12-31")
    v = values(year)
    assert v["on_time_rate"] == 80.0  # 4 of 5 (extended_late was late even after its new appointment)
    assert v["avg_resolution_days"] == 5.7  # (4 + 3 + 15.5 + 4 + 2) / 5
    months = {m["month"].strftime("%Y-%m"): (m["received"], m["resolved"], m["on_time_rate"]) for m in trend(year)}
    assert months == {
        "2025-12": (1, 0, None),
        "2026-01": (0, 1, 100.0),
        "2026-02": (1, 0, None),
        "2026-03": (4, 4, 75.0),
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-01", "2026-03-31"),  # one whole month
        ("2025-12-15", "2026-01-31"),  # a part of December, the whole of January
        ("2026-02-27", "2026-03-02"),  # no whole month
        ("2025-12-01", "2026-12-31"),  # whole months only
        ("2025-12-30", "2026-03-06"),  # parts at both ends
    ],
)
def test_whole_months_from_the_monthly_table_give_the_same_totals_as_the_days(counted, start, end):
    f = period(start, end)
    assert totals(f, cube(f)) == totals(f)
    assert differences(by_month(table_totals()), table_totals(monthly=True)) == []


def test_withdrawn_refused_and_stopped_dossiers_are_not_resolved(counted):
    facts = {f.dossier_id: f for f in DossierFact.objects.all()}
    for name in ("withdrawn", "refused", "stopped"):
        fact = facts[counted[name].pk]
        assert fact.resolved_day is None and fact.outcome == ""
    assert facts[counted["stopped"].pk].received_day == dt.date(2026, 3, 5)
    assert facts[counted["withdrawn"].pk].received_day is None


def test_scores_use_the_years_targets_and_show_missing_data(counted):
    Target.objects.create(year=2026, indicator="on_time_rate", target=90)
    Target.objects.create(year=2026, indicator="satisfaction_rate", target=50)
    march = period("2026-03-01", "2026-03-31")
    rows = indicator_rows(march, totals(march))
    by = {r.code: r for r in rows}
    assert by["on_time_rate"].points == round(20 * 75 / 90, 2)  # 16.67
    assert by["on_time_rate"].target_set and not by["sync_rate"].target_set
    assert by["sync_rate"].points == 4.5  # 18 × 25 / 100
    assert by["satisfaction_rate"].points == 6  # target reached: the whole 6 points
    assert by["avg_resolution_days"].points == 0 and not by["avg_resolution_days"].spec.scored
    # Feedback comes from an optional model: without it the indicator is "not measured", never a fake 0 %.
    from quality.selectors import feedback_source

    assert by["feedback_on_time_rate"].available == (feedback_source() is not None)
    if feedback_source() is None:
        assert by["feedback_on_time_rate"].value is None and by["feedback_on_time_rate"].points == 0
    score = scores(rows)
    group = {g["group"].number: g["points"] for g in score["groups"]}
    assert group[1] == 4.5 and group[2] == 16.67
    assert group[3] == round(8 * 0.75 + 7 * 0.25 + 7 * 0.25, 2)
    assert score["total"] == round(sum(group.values()), 2)
    assert sum(g.max_points for g in (x["group"] for x in score["groups"])) == 100


def test_filters_by_procedure_sector_and_agency(counted, other_agency, procedure):
    from procedures.models import Procedure

    other = Procedure.objects.create(code="QT.D.01", name="Khác", sector="Dược", agency=other_agency, time_limit_days=5)
    march = period("2026-03-01", "2026-03-31")
    assert totals(Filters(march.start, march.end, agency_id=other_agency.pk))["received"] == 0
    assert totals(Filters(march.start, march.end, procedure_id=other.pk))["received"] == 0
    assert totals(Filters(march.start, march.end, sector=procedure.sector))["received"] == 4
    assert [r["code"] for r in ranking(march, "procedure")] == [procedure.code]


def test_the_incremental_counters_equal_a_recount_and_the_sql_count(counted):
    stored = table_totals()
    assert differences(stored, recount()) == []
    assert (
        differences(stored, sql_recount(), ["submitted", "received", "resolved", "refused", "withdrawn", "stopped"])
        == []
    )
    # A second refresh with nothing new changes nothing.
    assert quality_refresh()["changed"] == 0
    assert table_totals() == stored


def test_quality_rebuild_prints_both_and_fails_on_a_difference(counted, capsys):
    from django.core.management.base import CommandError

    from quality.models import DailyAggregate

    call_command("quality_rebuild")
    out = capsys.readouterr().out
    assert "aggregates equal the recount" in out
    assert "aggregates: submitted=8, submitted_online=5, received=6" in out
    assert "recount   : submitted=8, submitted_online=5, received=6" in out
    # Tamper with a stored counter: the check reports it and exits non-zero.
    row = DailyAggregate.objects.filter(received__gt=0).first()
    DailyAggregate.objects.filter(pk=row.pk).update(received=row.received + 1)
    with pytest.raises(CommandError, match="differ"):
        call_command("quality_rebuild", "--check")
    # The rebuild repairs it (and says the incremental counters had drifted).
    call_command("quality_rebuild")
    out = capsys.readouterr().out
    assert "differed from the recount in 1 cells" in out and "aggregates equal the recount" in out
