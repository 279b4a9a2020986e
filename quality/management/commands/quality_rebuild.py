"""Rebuild the service-quality counters and prove they equal a full recount from the dossiers."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from quality.facts import by_month, differences, grand_totals, quality_rebuild, recount, sql_recount, table_totals
from quality.indicators import COUNTERS

SQL_COUNTERS = ("submitted", "received", "resolved", "refused", "withdrawn", "stopped")


class Command(BaseCommand):
    help = "Rebuild the daily service-quality counters from the dossiers and check them against a recount."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Only compare the stored counters with a recount; change nothing."
        )
        parser.add_argument("--batch", type=int, default=2000, help="Dossiers per batch (default 2000).")

    def _print_totals(self, title: str, totals) -> None:
        grand = grand_totals(totals)
        self.stdout.write(f"{title}: " + ", ".join(f"{c}={grand[c]}" for c in COUNTERS))

    def handle(self, *args, check: bool = False, batch: int = 2000, **options):
        if check:
            stored, counted = table_totals(), recount(batch=batch)
            self._print_totals("stored ", stored)
            self._print_totals("recount", counted)
            problems = differences(stored, counted)
        else:
            result = quality_rebuild(batch=batch)
            drift = differences(result["before"], result["recount"])
            self._print_totals("before rebuild (incremental)", result["before"])
            if drift:
                self.stdout.write(f"the incremental counters differed from the recount in {len(drift)} cells:")
                for line in drift[:20]:
                    self.stdout.write(f"  {line}")
            self.stdout.write("rebuilt, now recounting from the dossiers")
            counted = recount(batch=batch)
            stored = table_totals()
            self._print_totals("aggregates", stored)
            self._print_totals("recount   ", counted)
            problems = differences(stored, counted)
        # The monthly table holds the same numbers rolled up.
        problems += [f"monthly: {line}" for line in differences(table_totals(monthly=True), by_month(counted))]
        # An independent count of the simple counters with SQL GROUP BY on the dossier table.
        problems += [f"sql: {line}" for line in differences(stored, sql_recount(), SQL_COUNTERS)]
        self.stdout.write(f"cells (day x agency x procedure): {len(stored)}; differences: {len(problems)}")
        if problems:
            for line in problems[:50]:
                self.stderr.write(line)
            raise CommandError(f"the aggregates differ from the recount in {len(problems)} cells")
        self.stdout.write(self.style.SUCCESS("aggregates equal the recount"))
