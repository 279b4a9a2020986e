# ruff: noqa
# Annotated samples for python.yml, run by `semgrep scan --test .semgrep` (make security and
# tests/security/test_semgrep_rules.py): the line after each "ruleid" annotation must be reported, the line
# after each "ok" annotation must not.
# Deliberately unsafe code: never imported, excluded from the scans of the shipped code.
import logging
import os
import pickle
import subprocess
import urllib.request
from urllib.request import urlopen

import httpx
import requests
import yaml
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import FileResponse, HttpResponse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)
INDEX = "procedures_search_trgm"


def html_samples(applicant, request):
    # ruleid: django-mark-safe-non-literal
    html = mark_safe(f"<b>{applicant.full_name}</b>")
    # ruleid: django-mark-safe-non-literal
    other = SafeString(applicant.address)
    # ok: django-mark-safe-non-literal
    fixed = mark_safe("<br>")
    # ruleid: django-format-html-preformatted
    a = format_html(f"<b>{applicant.full_name}</b>")
    # ruleid: django-format-html-preformatted
    b = format_html("<b>%s</b>" % applicant.full_name)
    # ruleid: django-format-html-preformatted
    c = format_html(applicant.note)
    # ok: django-format-html-preformatted
    d = format_html("<b>{}</b>", applicant.full_name)
    return html, other, fixed, a, b, c, d


def reflect_view(request):
    name = request.GET.get("name", "")
    # ruleid: django-httpresponse-html-from-request
    return HttpResponse(f"<p>Hello {name}</p>")


def reflect_typed_view(request):
    # ruleid: django-httpresponse-html-from-request
    return HttpResponse(request.GET["q"], content_type="text/html; charset=utf-8")


def export_view(request, exporter):
    fmt = request.GET.get("format", "json")
    content, content_type = exporter(fmt)
    # ok: django-httpresponse-html-from-request
    return HttpResponse(content, content_type=content_type)


def reflect_escaped_view(request):
    name = request.GET.get("name", "")
    # ok: django-httpresponse-html-from-request
    return HttpResponse(f"<p>Hello {escape(name)}</p>")


def reflect_plain_view(request):
    # ok: django-httpresponse-html-from-request
    return HttpResponse(request.GET.get("name", ""), content_type="text/plain; charset=utf-8")


def sql_samples(Dossier, reference, table):
    with connection.cursor() as cursor:
        # ruleid: sql-built-from-strings
        cursor.execute(f"SELECT id FROM procedures_dossier WHERE reference = '{reference}'")
        # ruleid: sql-built-from-strings
        cursor.execute("SELECT id FROM procedures_dossier WHERE reference = '%s'" % reference)
        # ruleid: sql-built-from-strings
        cursor.execute("SELECT id FROM procedures_dossier WHERE reference = '{}'".format(reference))
        # ruleid: sql-built-from-strings
        cursor.execute("SELECT COUNT(*) FROM " + table)
        # ok: sql-built-from-strings
        cursor.execute("SELECT id FROM procedures_dossier WHERE reference = %s", [reference])
        # ok: sql-built-from-strings
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    # ruleid: sql-built-from-strings
    Dossier.objects.annotate(x=RawSQL(f"SELECT '{reference}'", []))
    # ok: sql-built-from-strings
    Dossier.objects.annotate(x=RawSQL("SELECT %s", [reference]))
    # ruleid: django-queryset-extra
    Dossier.objects.filter(state="open").extra(where=[f"reference = '{reference}'"])
    # ok: django-queryset-extra
    Dossier.objects.filter(state="open", reference=reference)
    # ruleid: django-raw-query
    Dossier.objects.raw("SELECT * FROM procedures_dossier WHERE reference = %s", [reference])
    # ok: django-raw-query
    Dossier.objects.filter(reference=reference)


# ruleid: django-csrf-exempt-outside-allow-list
@csrf_exempt
def dossier_upload_view(request):
    return HttpResponse(status=204)


# ok: django-csrf-exempt-outside-allow-list
@csrf_exempt
def payment_callback_view(request):
    return HttpResponse(status=204)


def open_samples(request, storage, StoredFile):
    name = request.GET["file"]
    # ruleid: open-path-from-request
    with open(os.path.join("/srv/media", name), "rb") as handle:
        handle.read()
    upload = request.FILES["document"]
    # ruleid: open-path-from-request
    storage.save(os.path.join("uploads", upload.name), upload)
    # ok: open-path-from-request
    with open(os.path.join("/srv/media", os.path.basename(name)), "rb") as handle:
        handle.read()
    stored = StoredFile.objects.get(pk=int(request.GET["id"]))
    # ok: open-path-from-request
    with open(os.path.join("/srv/media", stored.name), "rb") as handle:
        handle.read()
    # ok: open-path-from-request
    return FileResponse(open("/srv/media/fixed.pdf", "rb"))


def http_samples(url):
    # ruleid: http-call-without-timeout
    requests.get(url)
    # ruleid: http-call-without-timeout
    httpx.post(url, json={})
    # ruleid: http-call-without-timeout
    urlopen(url)
    # ruleid: http-call-without-timeout
    urllib.request.urlopen(url)
    session = requests.Session()
    # ruleid: http-call-without-timeout
    session.get(url)
    # ok: http-call-without-timeout
    session.get(url, timeout=(3, 10))
    # ok: http-call-without-timeout
    requests.post(url, json={}, timeout=10)
    # ok: http-call-without-timeout
    urllib.request.urlopen(url, timeout=10)
    # ruleid: http-tls-verify-disabled
    requests.get(url, timeout=10, verify=False)
    # ok: http-tls-verify-disabled
    requests.get(url, timeout=10, verify="/etc/ssl/certs/ca-certificates.crt")


def code_samples(blob, text, source):
    # ruleid: python-unsafe-deserialisation
    pickle.loads(blob)
    # ruleid: python-unsafe-deserialisation
    yaml.load(text)
    # ruleid: python-unsafe-deserialisation
    yaml.load(text, Loader=yaml.Loader)
    # ok: python-unsafe-deserialisation
    yaml.load(text, Loader=yaml.SafeLoader)
    # ok: python-unsafe-deserialisation
    yaml.safe_load(text)
    # ruleid: python-eval-exec
    eval(text)
    # ruleid: python-eval-exec
    exec(source)
    # ok: python-eval-exec
    compile("1 + 1", "<fixed>", "eval")
    # ruleid: subprocess-shell
    subprocess.run(f"pg_dump {text}", shell=True)
    # ruleid: subprocess-shell
    os.system("pg_dump " + text)
    # ok: subprocess-shell
    subprocess.run(["pg_dump", "--format=custom", text], check=True)


def log_samples(citizen, dossier, phone, national_id, national_id_hash, mask_phone):
    # ruleid: logger-personal-data
    logger.info("look-up for %s", citizen.national_id)
    # ruleid: logger-personal-data
    logger.warning("SMS to %s failed", phone)
    # ruleid: logger-personal-data
    logger.error(f"gateway refused {national_id}")
    # ruleid: logger-personal-data
    logging.info("so_dinh_danh %s", citizen.so_dinh_danh)
    # ok: logger-personal-data
    logger.info("SMS to %s failed", mask_phone(phone))
    # ok: logger-personal-data
    logger.info("dossier %s: look-up failed for a phone number", dossier.reference)
    # ok: logger-personal-data
    logger.info("duplicate applicant %s", national_id_hash)


def task_samples(task, dossier, request, form):
    # ruleid: celery-task-argument-not-id
    task.delay(dossier.pk, national_id=dossier.national_id)
    # ruleid: celery-task-argument-not-id
    task.delay(request.POST["phone"])
    # ruleid: celery-task-argument-not-id
    task.apply_async(kwargs={"email": form.cleaned_data["email"]})
    # ruleid: celery-task-argument-not-id
    task.delay(form.cleaned_data)
    # ok: celery-task-argument-not-id
    task.delay(dossier.pk)
    # ok: celery-task-argument-not-id
    task.delay(dossier_id=dossier.pk)
    # ok: celery-task-argument-not-id
    task.apply_async(args=[dossier.pk], countdown=30)
