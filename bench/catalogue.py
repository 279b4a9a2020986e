"""Bench catalogue search in-process: diacritic-free search over a large catalogue on PostgreSQL.

Runs the real stack through Django's test client (no network): PostgreSQL from DATABASE_URL,
DEBUG off, the full middleware. It fills the catalogue with the generator (illustrative LT.*
procedures) up to --size published procedures (2,000 by default; --quick uses 500), then measures
search requests on the HTML page and on the API with queries with and without diacritics and with
filters. Baseline in the same run: the same page and API call without a search term (the first
page of the unfiltered catalogue).

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench .venv/bin/python bench/catalogue.py [--quick]

The last line is the headline: `catalogue_search_p95: <ms> ms` (HTML and API searches together).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from benchenv import percentile

os.environ["CELERY_BROKER_URL"] = "memory://"

QUERIES = [
    {"q": "cap giay phep"},
    {"q": "Cấp giấy phép hoạt động"},
    {"q": "dang ky"},
    {"q": "Đăng ký lưu hành"},
    {"q": "thiet bi y te loai c"},
    {"q": "my pham", "service_level": "full"},
    {"q": "gia han", "applicant_type": "organisation"},
    {"q": "LT.0001"},
    {"q": "khong co thu tuc nao nhu the"},
]


def timed(client, url: str, params: dict) -> float:
    t0 = time.perf_counter()
    response = client.get(url, params)
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, (url, params, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller catalogue, fewer rounds (under a minute)")
    parser.add_argument("--size", type=int, default=None, help="published procedures to search (default 2000)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    size = args.size or (500 if args.quick else 2000)
    rounds = args.rounds or (10 if args.quick else 40)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from procedures.catalogue_io import catalogue_import
    from procedures.demo import SHIPPED_CATALOGUE
    from procedures.generator import catalogue_generate
    from procedures.models import Procedure

    call_command("migrate", verbosity=0)
    report = catalogue_import(content=SHIPPED_CATALOGUE.read_bytes(), filename=SHIPPED_CATALOGUE.name)
    assert report.ok, report.errors
    published = Procedure.objects.filter(is_published=True).count()
    generated = 0
    if published < size:
        start = Procedure.objects.filter(code__startswith="LT.").count() + 1
        generated = catalogue_generate(count=size - published, seed=2026, start=start)
    published = Procedure.objects.filter(is_published=True).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE procedures_procedure")
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'procedures_procedure_search_trgm'")
        trigram = cursor.fetchone()[0] == 1

    client = Client()
    for params in QUERIES[:3]:  # warm-up: templates, connections, translations
        client.get("/procedures/", params)
        client.get("/api/v1/procedures/", params)

    baseline_html, baseline_api, search_html, search_api = [], [], [], []
    for _ in range(rounds):
        baseline_html.append(timed(client, "/procedures/", {}))
        baseline_api.append(timed(client, "/api/v1/procedures/", {}))
        for params in QUERIES:
            search_html.append(timed(client, "/procedures/", params))
            search_api.append(timed(client, "/api/v1/procedures/", params))

    # What the searches find, so a fast answer can be told from an empty one.
    from procedures.selectors import procedure_search

    hits = {params["q"]: procedure_search(**params).count() for params in QUERIES}
    quick = " (quick)" if args.quick else ""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; rounds: {rounds}{quick}")
    print(
        f"catalogue: {published} published procedures ({generated} generated now, LT.* illustrative; "
        f"{report.created + report.updated} shipped MoH rows); trigram index: {'yes' if trigram else 'NO'}"
    )
    print("matches per query: " + "; ".join(f"{q!r} {n}" for q, n in hits.items()))
    both = search_html + search_api
    for name, values in (
        ("baseline GET /procedures/ (no search)", baseline_html),
        ("baseline GET /api/v1/procedures/", baseline_api),
        ("search GET /procedures/?q=…", search_html),
        ("search GET /api/v1/procedures/?q=…", search_api),
        ("search, both", both),
    ):
        print(
            f"{name:40s} p50 {percentile(values, 0.5):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms  "
            f"mean {statistics.fmean(values):7.1f} ms  (n={len(values)})"
        )
    print(f"catalogue_search_p95: {percentile(both, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
