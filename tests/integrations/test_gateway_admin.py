"""Administrators manage the gateway's calling systems in admin; the message log stays read-only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from integrations.gateway_models import GatewayClient, GatewayMessage, api_key_digest
from portal.models import AuditRecord
from tests.conftest import totp_enrol

pytestmark = pytest.mark.django_db
ADD = "/admin/integrations/gatewayclient/add/"


@pytest.fixture
def admin_client(client):
    admin = totp_enrol(get_user_model().objects.create_superuser("root", password="root-password-2026"))
    client.force_login(admin)
    client.cookies["portal_language"] = "en"
    return client


def test_a_calling_system_is_created_with_scopes_picked_from_the_list(admin_client):
    response = admin_client.post(
        ADD,
        {
            "code": "tiem-chung",
            "name": "Tiêm chủng",
            "is_active": "on",
            "scopes": ["lookup", "bulk"],
            "daily_quota": "50000",
            "rate": "60/min",
            "cert_fingerprint": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client = GatewayClient.objects.get(code="tiem-chung")
    assert client.scopes == ["lookup", "bulk"]
    assert client.has_scope("bulk")


@pytest.mark.parametrize(("field", "value"), [("rate", "sixty a minute"), ("scopes", ["everything"])])
def test_a_bad_rate_or_an_unknown_scope_is_refused_with_a_message(admin_client, field, value):
    data = {
        "code": "x",
        "name": "X",
        "scopes": ["lookup"],
        "daily_quota": "10",
        "rate": "60/min",
        "cert_fingerprint": "",
    }
    data[field] = value
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not GatewayClient.objects.exists()


def test_issuing_a_key_shows_it_once_stores_only_its_digest_and_is_audited(admin_client):
    client = GatewayClient.objects.create(code="hssk", name="Hồ sơ sức khỏe", scopes=["lookup"])
    response = admin_client.post(
        "/admin/integrations/gatewayclient/",
        {"action": "issue_new_key", "_selected_action": [client.pk]},
        follow=True,
    )
    key = re.search(r"shown only now: ([0-9a-f]{12}\.[\w-]+)", response.content.decode()).group(1)
    client.refresh_from_db()
    assert client.key_digest == api_key_digest(key.split(".", 1)[1])
    assert key not in str(GatewayClient.objects.values().get(pk=client.pk))
    assert AuditRecord.objects.filter(action="gateway.client_key_issued", object_id=str(client.pk)).exists()


def test_the_message_log_cannot_be_added_changed_or_deleted_in_admin(admin_client):
    assert admin_client.get("/admin/integrations/gatewaymessage/").status_code == 200
    assert admin_client.get("/admin/integrations/gatewaymessage/add/").status_code == 403
    assert not GatewayMessage.objects.exists()
