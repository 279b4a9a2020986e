"""The population gateway: the one door (purpose, quota, breaker, cache, message log) and its REST API."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.gateway import (
    Caller,
    CircuitBreaker,
    GatewayRefused,
    gateway_lookup,
    gateway_verify,
    message_log_verify,
)
from integrations.gateway_models import GatewayMessage

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/population/lookup/"
VERIFY = "/api/v1/population/verify/"
BULK = "/api/v1/population/verify-bulk/"


def caller(**overrides):
    values = {
        "system": "portal",
        "acting_user": "clerk",
        "purpose": "Tiếp nhận hồ sơ",
        "dossier_code": "G18.001.02-260315-180042",
    }
    values.update(overrides)
    return Caller(**values)


def absent_id(pid: str) -> str:
    return pid[:3] + str(int(pid[3]) ^ 1) + pid[4:]


def post(client, url, key, body):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}")


# --- the service ----------------------------------------------------------------------------------


def test_a_lookup_is_found_and_logged_without_personal_data(population_registry_simulator, caplog):
    person = population_registry_simulator.living(10)
    caplog.set_level(logging.DEBUG)
    outcome = gateway_lookup(caller=caller(), personal_id=person.personal_id)
    assert outcome.status == "found"
    assert outcome.record.full_name == person.full_name
    entry = GatewayMessage.objects.get()
    assert (entry.caller, entry.acting_user, entry.purpose, entry.outcome) == (
        "portal",
        "clerk",
        "Tiếp nhận hồ sơ",
        "found",
    )
    assert entry.dossier_code == "G18.001.02-260315-180042"
    assert entry.request_id == outcome.request_id
    assert len(entry.request_digest) == len(entry.response_digest) == 64
    # no raw personal data in the message log row or the application log
    row = json.dumps(list(GatewayMessage.objects.values().get().values()), default=str)
    assert person.personal_id not in row
    assert person.given_name not in row
    assert person.personal_id not in caplog.text


def test_not_found_and_unavailable_are_distinct_answers(population_registry_simulator):
    person = population_registry_simulator.living(20)
    assert gateway_lookup(caller=caller(), personal_id=absent_id(person.personal_id)).status == "not_found"
    population_registry_simulator.faults(fail_next=1, status=503)
    assert gateway_lookup(caller=caller(), personal_id=person.personal_id).status == "unavailable"
    outcomes = list(GatewayMessage.objects.values_list("outcome", flat=True))
    assert outcomes == ["not_found", "unavailable"]


def test_a_lookup_needs_a_purpose_and_a_reference(population_registry_simulator):
    pid = population_registry_simulator.living(30).personal_id
    with pytest.raises(GatewayRefused) as missing_purpose:
        gateway_lookup(caller=caller(purpose=" "), personal_id=pid)
    assert missing_purpose.value.code == "purpose_required"
    with pytest.raises(GatewayRefused) as missing_reference:
        gateway_lookup(caller=caller(dossier_code=""), personal_id=pid)
    assert missing_reference.value.code == "reference_required"
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 0


def test_a_second_lookup_comes_from_the_short_lived_cache(population_registry_simulator):
    pid = population_registry_simulator.living(40).personal_id
    first = gateway_lookup(caller=caller(), personal_id=pid)
    second = gateway_lookup(caller=caller(), personal_id=pid)
    assert (first.cached, second.cached) == (False, True)
    assert second.record == first.record
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 1
    assert list(GatewayMessage.objects.values_list("operation", flat=True)) == ["lookup", "lookup-cached"]


def test_the_circuit_opens_after_repeated_failures_and_spares_the_registry(population_registry_simulator, settings):
    settings.GATEWAY_BREAKER_FAILURES = 2
    settings.GATEWAY_CACHE_SECONDS = 0
    pid = population_registry_simulator.living(50).personal_id
    population_registry_simulator.faults(fail_next=10, status=503)
    statuses = [gateway_lookup(caller=caller(), personal_id=pid).status for _ in range(4)]
    assert statuses == ["unavailable"] * 4
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 0  # failed before parsing
    assert population_registry_simulator.server.state.faults.fail_next == 8  # only two calls went out


def test_the_breaker_half_opens_after_the_reset_time_and_closes_on_success():
    now = [100.0]
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    now[0] += 30
    assert breaker.allow()  # one trial call
    assert not breaker.allow()  # and only one
    breaker.failure()
    assert breaker.state == "open"
    now[0] += 30
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_verify_gives_a_per_field_result(population_registry_simulator):
    person = population_registry_simulator.living(60)
    day = person.birth_date.split("-")
    typed = f"{day[2]}/{day[1]}/{day[0]}"
    ok = gateway_verify(
        caller=caller(), personal_id=person.personal_id, full_name=person.full_name.upper(), birth_date=typed
    )
    assert ok.status == "verified"
    wrong = gateway_verify(
        caller=caller(), personal_id=person.personal_id, full_name=person.full_name, birth_date="1900"
    )
    assert wrong.status == "mismatch"
    assert wrong.verdict.category == "wrong_dob"
    assert (wrong.verdict.name_match, wrong.verdict.dob_match) == (True, False)
    invalid = gateway_verify(caller=caller(), personal_id="12345", full_name="A", birth_date="1990")
    assert invalid.status == "invalid"


def test_the_message_log_chain_verifies_and_reports_the_first_broken_link(population_registry_simulator, capsys):
    pid = population_registry_simulator.living(70).personal_id
    for _ in range(3):
        gateway_lookup(caller=caller(), personal_id=pid)
    assert message_log_verify().ok
    call_command("gateway_log_verify")
    assert "3 entries" in capsys.readouterr().out
    # tamper with the second entry (a privileged connection bypassing the service)
    second = GatewayMessage.objects.order_by("id")[1]
    GatewayMessage.objects.filter(pk=second.pk).update(purpose="something else")
    report = message_log_verify()
    assert (report.ok, report.first_broken_id, report.checked) == (False, second.pk, 1)
    with pytest.raises(CommandError, match=f"entry {second.pk}"):
        call_command("gateway_log_verify")


def test_a_deleted_last_entry_is_detected_by_the_head(population_registry_simulator):
    pid = population_registry_simulator.living(80).personal_id
    gateway_lookup(caller=caller(), personal_id=pid)
    gateway_lookup(caller=caller(), personal_id=pid)
    GatewayMessage.objects.order_by("-id").first().delete()
    assert message_log_verify().problem.startswith("chain head")


# --- the API --------------------------------------------------------------------------------------


def lookup_body(pid, **overrides):
    body = {"personal_id": pid, "purpose": "Tiêm chủng", "acting_user": "bs.lan", "consent_reference": "CONSENT-1"}
    body.update(overrides)
    return body


def test_api_lookup_found_not_found_and_unavailable(client, population_registry_simulator, gateway_client_factory):
    system, key = gateway_client_factory()
    person = population_registry_simulator.living(100)
    found = post(client, LOOKUP, key, lookup_body(person.personal_id))
    assert found.status_code == 200
    assert found.json()["status"] == "found"
    assert found.json()["citizen"]["full_name"] == person.full_name
    assert post(client, LOOKUP, key, lookup_body(absent_id(person.personal_id))).json()["status"] == "not_found"
    assert post(client, LOOKUP, key, lookup_body(absent_id(person.personal_id))).status_code == 404
    population_registry_simulator.faults(fail_next=1, status=500)
    other = population_registry_simulator.living(200)
    down = post(client, LOOKUP, key, lookup_body(other.personal_id))
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    entry = GatewayMessage.objects.order_by("id").first()
    assert (entry.client_id, entry.caller, entry.acting_user) == (system.pk, system.code, "bs.lan")


def test_api_refuses_a_wrong_key_a_missing_scope_and_a_missing_purpose(
    client, population_registry_simulator, gateway_client_factory
):
    _, key = gateway_client_factory("ho-so-suc-khoe", scopes=["verify"])
    pid = population_registry_simulator.living(110).personal_id
    assert post(client, LOOKUP, key + "x", lookup_body(pid)).status_code == 401
    assert post(client, LOOKUP, "nonsense", lookup_body(pid)).status_code == 401
    assert client.post(LOOKUP, lookup_body(pid), content_type="application/json").status_code in (401, 403)
    assert post(client, LOOKUP, key, lookup_body(pid)).status_code == 403  # no lookup scope
    _, full = gateway_client_factory("khai-sinh")
    missing = post(client, LOOKUP, full, lookup_body(pid, purpose=""))
    assert missing.status_code == 400
    no_reference = post(client, LOOKUP, full, lookup_body(pid, consent_reference=""))
    assert no_reference.status_code == 400
    assert no_reference.json()["code"] == "reference_required"
    assert GatewayMessage.objects.count() == 0


def test_api_refuses_when_the_daily_quota_is_exhausted(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory(daily_quota=2)
    pid = population_registry_simulator.living(120).personal_id
    assert post(client, LOOKUP, key, lookup_body(pid)).status_code == 200
    assert post(client, LOOKUP, key, lookup_body(pid)).status_code == 200
    exhausted = post(client, LOOKUP, key, lookup_body(pid))
    assert exhausted.status_code == 429
    assert exhausted.json()["code"] == "quota_exhausted"


def test_api_rate_limit_per_system(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory(rate="2/min")
    pid = population_registry_simulator.living(130).personal_id
    codes = [post(client, LOOKUP, key, lookup_body(pid)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_api_ids_travel_in_bodies_only(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory()
    pid = population_registry_simulator.living(140).personal_id
    response = client.get(LOOKUP, {"personal_id": pid}, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 405


def test_api_verify_answers_per_field(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory()
    person = population_registry_simulator.living(150)
    body = lookup_body(
        person.personal_id, full_name=person.full_name.replace(" ", "  "), birth_date=person.birth_date[:4]
    )
    answer = post(client, VERIFY, key, body).json()
    assert answer["status"] == "verified"
    assert answer["fields"] == {"personal_id": "found", "full_name": "match", "birth_date": "partial_match"}
    body["full_name"] = "Nguyen Van A"
    assert post(client, VERIFY, key, body).json()["fields"]["full_name"] == "mismatch"


def test_api_bulk_verify_classifies_every_record(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory()
    people = [population_registry_simulator.living(300 + 10 * n) for n in range(3)]
    records = [
        {
            "reference": "a",
            "personal_id": people[0].personal_id,
            "full_name": people[0].full_name,
            "birth_date": people[0].birth_date,
        },
        {
            "reference": "b",
            "personal_id": people[1].personal_id,
            "full_name": "Lê Văn Sai",
            "birth_date": people[1].birth_date,
        },
        {"reference": "c", "personal_id": absent_id(people[2].personal_id), "full_name": "X", "birth_date": "1990"},
        {"reference": "d", "personal_id": "123456789", "full_name": "X", "birth_date": "1990"},
        {"reference": "e", "personal_id": "abc", "full_name": "X", "birth_date": "1990"},
    ]
    body = {"purpose": "Làm sạch dữ liệu tiêm chủng", "acting_user": "batch", "records": records}
    answer = post(client, BULK, key, body)
    assert answer.status_code == 200
    got = {r["reference"]: (r["status"], r["category"], r["sub_reason"]) for r in answer.json()["results"]}
    assert got == {
        "a": ("verified", "matched", ""),
        "b": ("mismatch", "wrong_name", ""),
        "c": ("not_found", "id_not_found", ""),
        "d": ("mismatch", "other", "old_id_only"),
        "e": ("invalid", "other", "invalid_input"),
    }
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanLoRequest") == 1


def test_api_bulk_unavailable_is_a_503(client, population_registry_simulator, gateway_client_factory):
    _, key = gateway_client_factory()
    person = population_registry_simulator.living(400)
    population_registry_simulator.faults(fail_next=1, status=503)
    records = [{"personal_id": person.personal_id, "full_name": person.full_name, "birth_date": person.birth_date}]
    answer = post(client, BULK, key, {"purpose": "p", "acting_user": "u", "records": records})
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"


def test_the_gateway_operations_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (LOOKUP, VERIFY, BULK):
        assert path in text
    assert "GatewayApiKey" in text


def test_a_client_certificate_fingerprint_from_the_tls_proxy_authenticates(
    client, population_registry_simulator, gateway_client_factory, settings
):
    settings.GATEWAY_CLIENT_CERT_HEADER = "HTTP_X_SSL_CLIENT_FINGERPRINT"
    system, _ = gateway_client_factory("chung-tu")
    system.cert_fingerprint = "ab" * 32
    system.save()
    pid = population_registry_simulator.living(500).personal_id
    body = json.dumps(lookup_body(pid))
    ok = client.post(LOOKUP, body, content_type="application/json", HTTP_X_SSL_CLIENT_FINGERPRINT="AB:" * 31 + "AB")
    assert ok.status_code == 200
    unknown = client.post(LOOKUP, body, content_type="application/json", HTTP_X_SSL_CLIENT_FINGERPRINT="cd" * 32)
    assert unknown.status_code == 401


def test_a_system_is_created_with_a_key_shown_once_and_stored_as_a_digest(client, population_registry_simulator):
    from io import StringIO

    from integrations.gateway_models import GatewayClient

    out = StringIO()
    call_command("gateway_client_create", "so-suc-khoe", "--scopes", "lookup", stdout=out)
    key = out.getvalue().strip().rsplit(" ", 1)[-1]
    system = GatewayClient.objects.get(code="so-suc-khoe")
    assert key.split(".", 1)[1] not in (system.key_digest, system.key_prefix)
    pid = population_registry_simulator.living(600).personal_id
    assert post(client, LOOKUP, key, lookup_body(pid)).status_code == 200
    assert post(client, VERIFY, key, lookup_body(pid, full_name="A", birth_date="1990")).status_code == 403
