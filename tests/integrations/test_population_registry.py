"""The population-database client against its simulator, over real HTTP; the wire format; the population."""

from __future__ import annotations

import pytest

from integrations.population_registry import get_population_registry, wire
from integrations.population_registry.base import RegistryError, RegistryUnavailable
from integrations.population_registry.simulator.population import PROVINCE_INDEX, Population

pytestmark = pytest.mark.django_db


def test_a_lookup_returns_the_citizen_parsed_from_the_soap_answer(population_registry_simulator):
    # given: a person of the synthetic population
    person = population_registry_simulator.person(1234)
    # when
    record = get_population_registry().lookup(person.personal_id, request_id="r-1", official="clerk")
    # then: every field survives the XML round trip, diacritics included
    assert record == person
    assert record.full_name == f"{person.family_name} {person.middle_name} {person.given_name}"


def test_an_unknown_id_is_not_found_rather_than_an_error(population_registry_simulator):
    person = population_registry_simulator.person(7)
    absent = person.personal_id[:3] + str(int(person.personal_id[3]) ^ 1) + person.personal_id[4:]
    assert get_population_registry().lookup(absent, request_id="r-2", official="clerk") is None


def test_the_bulk_lookup_answers_in_the_same_record_format(population_registry_simulator):
    # given: 1,500 IDs (over 1,000 per request), one in ten unknown
    population = population_registry_simulator.population
    ids = [population.personal_id(i) for i in range(1500)]
    ids[::10] = [pid[:3] + str(int(pid[3]) ^ 1) + pid[4:] for pid in ids[::10]]
    # when
    found = get_population_registry().lookup_bulk(ids, request_id="r-3", official="batch")
    # then: the found ones, parsed by the per-record parser, equal the per-record answers
    assert len(found) == 1350
    assert found[ids[1]] == population.person(1)
    assert population_registry_simulator.stats()["records"]["XacMinhThongTinNhanThanLoRequest"] == 1500


def test_the_verification_call_answers_ton_tai(population_registry_simulator):
    person = population_registry_simulator.person(99)
    registry = get_population_registry()
    assert registry.exists(person.personal_id, person.full_name, request_id="r-4", official="clerk") is True
    assert registry.exists(person.personal_id, "Nguyễn Văn Khác", request_id="r-5", official="clerk") is False


def test_a_server_fault_is_unavailable_and_a_malformed_answer_too(population_registry_simulator):
    registry = get_population_registry()
    pid = population_registry_simulator.person(3).personal_id
    population_registry_simulator.faults(fail_next=1, status=503)
    with pytest.raises(RegistryUnavailable):
        registry.lookup(pid, request_id="r-6", official="clerk")
    population_registry_simulator.faults(malformed_next=1)
    with pytest.raises(RegistryUnavailable):
        registry.lookup(pid, request_id="r-7", official="clerk")
    # and the next call works again
    assert registry.lookup(pid, request_id="r-8", official="clerk") is not None


def test_transient_errors_are_retried_by_the_shared_helper(population_registry_simulator, settings):
    settings.POPULATION_REGISTRY_RETRIES = 2
    population_registry_simulator.faults(fail_next=2, status=503)
    pid = population_registry_simulator.person(5).personal_id
    assert get_population_registry().lookup(pid, request_id="r-9", official="clerk") is not None
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 1  # the third attempt


def test_a_refused_request_is_permanent(population_registry_simulator, settings):
    registry = get_population_registry()
    with pytest.raises(RegistryError) as caught:
        registry._post(b"<not-soap/>", action="x")
    assert caught.value.permanent is True


@pytest.mark.parametrize(
    "answer",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<Envelope><Body><CongdanCollection><CongDan>",
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="cp500"?><x/>',
        b"<x>&undefined;</x>",
        b"",
        b"<Envelope><Body><CongdanCollection><CongDan><SoDinhDanh>1</SoDinhDanh></CongDan></CongdanCollection></Body></Envelope>",
    ],
)
def test_dangerous_or_malformed_xml_is_refused_by_the_parser(answer):
    with pytest.raises(wire.WireError):
        wire.parse_collection(answer)


def test_the_synthetic_population_holds_valid_ids_and_decodes_them_back():
    population = Population(size=5_000_000, seed=11)
    for i in (0, 1, 62, 63, 12_345, 4_999_999):
        person = population.person(i)
        pid = person.personal_id
        assert population.index(pid) == i
        # domain.md §3.1: province code, century-and-sex digit, two-digit birth year
        assert pid[:3] in PROVINCE_INDEX
        century = 1900 + 100 * (int(pid[3]) // 2)
        assert century + int(pid[4:6]) == int(person.birth_date[:4])
        assert (int(pid[3]) % 2 == 1) == (person.sex == "Nữ")
    assert population.find("001095012345") is None or population.find("001095012345").personal_id == "001095012345"
    assert population.index(Population(size=10, seed=11).personal_id(3)) == 3


def test_the_population_has_year_only_dates_deceased_people_and_diacritics():
    population = Population(size=20_000)
    people = [population.person(i) for i in range(20_000)]
    assert any(len(p.birth_date) == 4 for p in people)
    assert any(len(p.birth_date) == 7 for p in people)
    assert any(p.deceased for p in people)
    assert any("ễ" in p.full_name or "ữ" in p.full_name for p in people)
