"""The access-control matrix, written by hand (security.md T07, T09, T11; docs/security.md "In place").

For every URL pattern of the portal: the status each role gets for GET, and for POST where the route changes
state. Object URLs carry citizen A's / agency A's objects (route_kwargs.py); the roles are in route_world.py.

How an expectation is read (`expected()`):
- a role's own key wins, then the first group of the entry that holds the role, then "*";
- API client roles (gateway, facility system, national portal, API token) send no session cookie: on routes
  outside /api/ they are anonymous by construction and get the anonymous expectation;
- values: an HTTP status, LOGIN (302 to the sign-in page), ADMIN_LOGIN (302 to /admin/login/), or
  (302, "/path") for a redirect to a given place.
A route without an entry fails the suite (test_every_route_has_an_entry), and so does an entry for a route
that no longer exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOGIN = "login"
ADMIN_LOGIN = "admin-login"

APPLICANTS = ("citizen_a", "citizen_b", "organisation", "representative")
OTHER_APPLICANTS = ("citizen_b", "organisation", "representative")
STAFF_A = ("clerk_a", "officer_a", "leader_a", "signer_a", "records_a")
STAFF_B = ("clerk_b", "officer_b")
STAFF = STAFF_A + STAFF_B
FACILITY = ("facility", "facility_b")
API_CLIENTS = ("gateway", "facility_api", "national", "token_b")
SIGNED_IN = APPLICANTS + STAFF + ("admin",) + FACILITY
# Staff in the broad sense: the portal's staff accounts and the superuser.
ALL_STAFF = (*STAFF, "admin")

GROUPS: dict[str, tuple[str, ...]] = {
    "applicants": APPLICANTS,
    "other_applicants": OTHER_APPLICANTS,
    "staff_a": STAFF_A,
    "staff_b": STAFF_B,
    "staff": STAFF,
    "all_staff": ALL_STAFF,
    "facilities": FACILITY,
    "api_clients": API_CLIENTS,
    "signed_in": SIGNED_IN,
}


@dataclass(frozen=True)
class Entry:
    get: dict[str, Any]
    post: dict[str, Any] | None = None  # None: the route changes nothing (a POST must answer 405 or refuse)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def E(get: dict[str, Any], post: dict[str, Any] | None = None, note: str = "") -> Entry:
    return Entry(get=get, post=post, note=note)


def expected(spec: dict[str, Any], role: str, *, api_route: bool) -> Any:
    if role in API_CLIENTS and not api_route and role not in spec:
        role = "anonymous"
    if role in spec:
        return spec[role]
    for key, value in spec.items():
        if key in GROUPS and role in GROUPS[key]:
            return value
    return spec["*"]


# The applicant pages: signed-in citizens and organisations; staff and facility members get 404 (not theirs).
APPLICANT_PAGE = {"anonymous": LOGIN, "applicants": 200, "*": 404}
# Citizen A's own object: everyone else who is signed in gets 404 (no existence oracle).
A_ONLY = {"anonymous": LOGIN, "citizen_a": 200, "*": 404}
# Pages for agency staff: other accounts get 403 (the page exists for everyone; nothing of A is on it).
STAFF_PAGE = {"anonymous": LOGIN, "staff": 200, "*": 403}
# Agency A's dossier on a staff page: agency B's staff get 404, non-staff 403.
AGENCY_A_OBJECT = {"anonymous": LOGIN, "staff_a": 200, "staff_b": 404, "*": 403}
FACILITY_PAGE = {"anonymous": LOGIN, "facilities": 200, "*": 403}
PUBLIC = {"*": 200}
GET_ONLY = {"anonymous": LOGIN, "*": 405}  # the POST of a signed-in page that only reads
PUBLIC_GET_ONLY = {"*": 405}

ROUTES: dict[str, Entry] = {
    # --- the portal's own pages ---------------------------------------------------------------------------
    "portal:home": E(PUBLIC, PUBLIC_GET_ONLY),
    "portal:after-login": E({"anonymous": LOGIN, "*": 302}, PUBLIC_GET_ONLY),
    "healthz": E(PUBLIC, PUBLIC_GET_ONLY),
    "set_language": E({"*": (302, "/")}, {"*": (302, "/")}, "Django's language switch; no next URL: back home"),
    # --- allauth (sign-in, sign-out, passwords for staff, the VNeID sign-in) ------------------------------
    "account_login": E(
        {"anonymous": 200, "*": (302, "/after-login/")},
        {"anonymous": 200, "*": (302, "/after-login/")},
        "an empty form is refused with errors; a signed-in user is sent on",
    ),
    "account_logout": E({"anonymous": (302, "/"), "*": 200}, {"*": (302, "/")}),
    "account_inactive": E(PUBLIC, PUBLIC_GET_ONLY),
    "account_signup": E(
        {"anonymous": 200, "*": (302, "/after-login/")},
        {"anonymous": 200, "*": (302, "/after-login/")},
        "sign-up is closed (the adapter refuses it); the page says so",
    ),
    "account_reauthenticate": E(
        {"anonymous": LOGIN, "applicants": 403, "*": 200},
        {"anonymous": LOGIN, "applicants": 403, "*": 200},
        "applicants have no password to confirm (VNeID only)",
    ),
    "account_email": E({"anonymous": LOGIN, "*": 200}, {"anonymous": LOGIN, "*": (302, "/accounts/email/")}),
    "account_email_verification_sent": E(PUBLIC, PUBLIC_GET_ONLY),
    "account_change_password": E(
        {"anonymous": LOGIN, "applicants": (302, "/accounts/password/set/"), "*": 200},
        {"anonymous": LOGIN, "applicants": (302, "/accounts/password/set/"), "*": 200},
    ),
    "account_set_password": E(
        {"anonymous": LOGIN, "applicants": 200, "*": (302, "/accounts/password/change/")},
        {"anonymous": LOGIN, "applicants": 200, "*": (302, "/accounts/password/change/")},
    ),
    "account_reset_password": E(PUBLIC, PUBLIC, "the same answer for any address (no account oracle)"),
    "account_confirm_login_code": E(
        {"anonymous": LOGIN, "*": (302, "/after-login/")}, {"anonymous": LOGIN, "*": (302, "/after-login/")}
    ),
    "account_confirm_email": E(PUBLIC, {"*": 404}, "a guessed key: the page says it is invalid; POST 404"),
    "account_reset_password_from_key_done": E(PUBLIC, PUBLIC_GET_ONLY),
    "account_reset_password_from_key": E(PUBLIC, PUBLIC, "a guessed key: 'bad token' page, nothing changes"),
    "account_reset_password_done": E(PUBLIC, PUBLIC_GET_ONLY),
    # allauth's two-factor pages: staff and facility members (applicants sign in through VNeID: 404)
    "mfa_index": E(
        {"anonymous": LOGIN, "applicants": 404, "*": 200}, {"anonymous": LOGIN, "applicants": 404, "*": 405}
    ),
    "mfa_authenticate": E(
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/after-login/")},
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/after-login/")},
    ),
    "mfa_reauthenticate": E(
        {"anonymous": LOGIN, "applicants": 404, "*": 200}, {"anonymous": LOGIN, "applicants": 404, "*": 200}
    ),
    "mfa_activate_totp": E(
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
        "changing the second factor asks for the password again",
    ),
    "mfa_deactivate_totp": E(
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
    ),
    "mfa_view_recovery_codes": E(
        {"anonymous": LOGIN, "*": 404}, {"anonymous": LOGIN, "applicants": 404, "*": 405}, "no recovery codes set"
    ),
    "mfa_generate_recovery_codes": E(
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
        {"anonymous": LOGIN, "applicants": 404, "*": (302, "/accounts/reauthenticate/")},
    ),
    "mfa_download_recovery_codes": E({"anonymous": LOGIN, "*": 404}, {"anonymous": LOGIN, "*": 404}),
    "socialaccount_login_cancelled": E(PUBLIC, PUBLIC_GET_ONLY),
    "socialaccount_login_error": E({"*": 401}, PUBLIC_GET_ONLY),
    "socialaccount_signup": E({"*": LOGIN}, {"*": LOGIN}, "only inside a pending VNeID sign-in"),
    "socialaccount_connections": E({"anonymous": LOGIN, "*": 200}, {"anonymous": LOGIN, "*": 200}),
    # allauth's old /accounts/social/ addresses: redirects to the /3rdparty/ ones above
    "accounts/social/login/cancelled/": E({"*": 301}, {"*": 301}),
    "accounts/social/login/error/": E({"*": 301}, {"*": 301}),
    "accounts/social/signup/": E({"*": 301}, {"*": 301}),
    "accounts/social/connections/": E({"*": 301}, {"*": 301}),
    "openid_connect_login": E(PUBLIC, {"*": 302}, "GET: the 'continue to VNeID' page; POST: off to VNeID"),
    "openid_connect_callback": E({"*": 401}, {"*": 401}, "no state in the session: refused"),
    # --- the REST API -----------------------------------------------------------------------------------
    "api:procedure-list": E(PUBLIC, PUBLIC_GET_ONLY),
    "api:procedure-detail": E(PUBLIC, PUBLIC_GET_ONLY),
    "api:dossier-list": E(
        {"anonymous": 403, "gateway": 403, "facility_api": 403, "national": 403, "*": 200},
        {"anonymous": 403, "gateway": 403, "facility_api": 403, "national": 403, "*": 415},
        "each caller lists their own dossiers; POST wants multipart",
    ),
    "api:dossier-detail": E(
        {"anonymous": 403, "gateway": 403, "facility_api": 403, "national": 403, "citizen_a": 200, "*": 404},
        {"anonymous": 403, "gateway": 403, "facility_api": 403, "national": 403, "*": 405},
    ),
    "api:staff-dossier-receive": E(
        {"anonymous": 403, "gateway": 403, "facility_api": 403, "national": 403, "*": 405},
        {"clerk_a": 200, "staff_b": 404, "*": 403},
        "only a reception clerk of the deciding agency receives; agency B: 404",
    ),
    "api:population-lookup": E({"gateway": 405, "*": 401}, {"gateway": 400, "*": 401}, "gateway key only"),
    "api:population-verify": E({"gateway": 405, "*": 401}, {"gateway": 400, "*": 401}),
    "api:population-verify-bulk": E({"gateway": 403, "*": 401}, {"gateway": 403, "*": 401}, "no bulk scope: 403"),
    "api:facility-birth-issue": E(
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 400, "facility_b": 400, "facility_api": 400, "applicants": 403, "all_staff": 403, "*": 401},
    ),
    "api:facility-death-issue": E(
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 400, "facility_b": 400, "facility_api": 400, "applicants": 403, "all_staff": 403, "*": 401},
    ),
    "api:facility-documents": E(
        {"facility": 200, "facility_b": 200, "facility_api": 200, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
        "each facility lists its own documents",
    ),
    "api:facility-document": E(
        {"facility": 200, "facility_b": 404, "facility_api": 200, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
    ),
    "api:facility-document-reissue": E(
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 400, "facility_b": 404, "facility_api": 400, "applicants": 403, "all_staff": 403, "*": 401},
        "another facility's document: 404; the owner's empty request: 400",
    ),
    "api:facility-document-pdf": E(
        {"facility": 200, "facility_b": 404, "facility_api": 200, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
    ),
    "api:facility-report": E(
        {"facility": 200, "facility_b": 200, "facility_api": 200, "applicants": 403, "all_staff": 403, "*": 401},
        {"facility": 405, "facility_b": 405, "facility_api": 405, "applicants": 403, "all_staff": 403, "*": 401},
    ),
    "api:facility-rules": E(PUBLIC, PUBLIC_GET_ONLY),
    "api:facility-standards": E(PUBLIC, PUBLIC_GET_ONLY),
    "api:national-dossier-inbound": E({"*": 401}, {"national": 400, "*": 401}, "signed requests only"),
    "api:national-rating-inbound": E({"*": 401}, {"national": 400, "*": 401}),
    "api-schema": E(PUBLIC, PUBLIC_GET_ONLY),
    "api-docs": E(PUBLIC, PUBLIC_GET_ONLY),
    # --- catalogue ----------------------------------------------------------------------------------------
    "procedures:catalogue": E(PUBLIC, PUBLIC_GET_ONLY),
    "procedures:procedure-detail": E(
        PUBLIC,
        {"citizen_a": 400, "citizen_b": 400, "representative": 400, "*": 403},
        "citizens apply here (an empty form: 400); organisations use the step-by-step application",
    ),
    "procedures:procedure-document-template": E(PUBLIC, PUBLIC_GET_ONLY),
    "procedures:procedure-result-template": E(PUBLIC, PUBLIC_GET_ONLY),
    "procedures:dossier-detail": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "procedures:dossier-receipt": E(A_ONLY, GET_ONLY),
    # --- staff workspace --------------------------------------------------------------------------------
    "workspace:home": E(
        {
            "anonymous": LOGIN,
            "clerk_a": (302, "/workspace/q/to_receive/"),
            "clerk_b": (302, "/workspace/q/to_receive/"),
            "officer_a": (302, "/workspace/q/mine/"),
            "officer_b": (302, "/workspace/q/mine/"),
            "leader_a": (302, "/workspace/q/to_assign/"),
            "signer_a": (302, "/workspace/q/to_sign/"),
            "records_a": (302, "/workspace/q/to_issue/"),
            "*": 403,
        },
        GET_ONLY,
    ),
    "workspace:queue": E(
        {"anonymous": LOGIN, "clerk_a": 200, "clerk_b": 200, "staff": 404, "*": 403},
        {"anonymous": LOGIN, "clerk_a": 200, "clerk_b": 200, "staff": 404, "*": 403},
        "the 'to receive' queue is a reception clerk's; POST searches by ID number (body only)",
    ),
    "workspace:bulk": E(
        GET_ONLY,
        {
            "anonymous": LOGIN,
            "clerk_a": (302, "/workspace/q/to_receive/"),
            "clerk_b": (302, "/workspace/q/to_receive/"),
            "staff": 404,
            "*": 403,
        },
        "nothing selected: back to the queue",
    ),
    "workspace:dossier": E(AGENCY_A_OBJECT, GET_ONLY),
    "workspace:act": E(
        GET_ONLY,
        {"anonymous": LOGIN, "leader_a": 400, "staff_b": 404, "*": 403},
        "assigning is the leader's; without an officer: 400; agency B: 404",
    ),
    "workspace:document": E(AGENCY_A_OBJECT, GET_ONLY),
    "workspace:official": E(AGENCY_A_OBJECT, GET_ONLY),
    "counter:home": E({"anonymous": LOGIN, "clerk_a": 200, "clerk_b": 200, "*": 403}, GET_ONLY),
    "counter:new": E(
        GET_ONLY, {"anonymous": LOGIN, "clerk_a": 302, "clerk_b": 302, "*": 403}, "a new intake with its own token"
    ),
    "counter:intake": E(
        {"anonymous": LOGIN, "clerk_a": 200, "clerk_b": 404, "*": 403},
        {"anonymous": LOGIN, "clerk_a": 200, "clerk_b": 404, "*": 403},
        "clerk A's own intake only",
    ),
    "counter:done": E(AGENCY_A_OBJECT, GET_ONLY),
    "counter:receipt": E(AGENCY_A_OBJECT, GET_ONLY),
    "counter:books": E(STAFF_PAGE, {"anonymous": LOGIN, "staff": 400, "*": 403}, "each agency's own books"),
    "counter:book-job": E(AGENCY_A_OBJECT, GET_ONLY),
    "counter:book-download": E(AGENCY_A_OBJECT, GET_ONLY),
    # --- applicant pages (/me/) ---------------------------------------------------------------------------
    "citizens:identity": E(APPLICANT_PAGE, {"anonymous": LOGIN, "applicants": (302, "/me/identity/"), "*": 404}),
    "citizens:data-access": E(APPLICANT_PAGE, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:apply": E(
        APPLICANT_PAGE, {"anonymous": LOGIN, "applicants": 302, "*": 404}, "each applicant starts their own draft"
    ),
    "citizens:draft-submit": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "citizen_a": (302, "/me/drafts/{draft.token}/review/"), "*": 404},
        "A's draft: the review page lists what is missing",
    ),
    "citizens:draft-delete": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "citizen_a": (302, "/me/dossiers/"), "*": 404},
    ),
    "citizens:contact-code": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "*": 404},
        "no channel given: 404 even for A",
    ),
    "citizens:draft-document": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:draft-step": E(A_ONLY, {"anonymous": LOGIN, "citizen_a": 400, "*": 404}),
    "citizens:my-dossiers": E(APPLICANT_PAGE, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:dossier": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:dossier-document": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:dossier-supplement": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "citizen_a": (302, "/me/dossiers/{dossier.reference}/"), "*": 404},
    ),
    "citizens:dossier-withdraw": E(A_ONLY, {"anonymous": LOGIN, "citizen_a": 400, "*": 404}, "a reason is required"),
    "citizens:dossier-rate": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "citizen_a": (302, "/me/dossiers/{dossier.reference}/"), "*": 404},
    ),
    "citizens:payment-begin": E(
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
        {"anonymous": LOGIN, "citizen_a": (302, "/me/dossiers/{dossier.reference}/"), "*": 404},
    ),
    "citizens:payment-return": E(
        {"anonymous": LOGIN, "citizen_a": (302, "/me/dossiers/{dossier.reference}/"), "*": 404},
        {"anonymous": LOGIN, "applicants": 405, "*": 404},
    ),
    "citizens:payment-receipt": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:payment-callback": E(
        PUBLIC_GET_ONLY, {"*": 400}, "server-to-server, CSRF-exempt: the HMAC signature is the check (unsigned: 400)"
    ),
    "citizens:feedback": E(APPLICANT_PAGE, {"anonymous": LOGIN, "applicants": 400, "*": 404}),
    "citizens:feedback-detail": E(A_ONLY, {"anonymous": LOGIN, "applicants": 405, "*": 404}),
    "citizens:lookup": E(PUBLIC, {"*": 400}, "public: dossier code + secret; an empty form: 400"),
    # --- reconciliation jobs (gateway operators: the admin's permission) ----------------------------------
    "reconciliation:jobs": E(
        {"anonymous": LOGIN, "admin": 200, "*": 403}, {"anonymous": LOGIN, "admin": 200, "*": 403}
    ),
    "reconciliation:job": E({"anonymous": LOGIN, "admin": 200, "*": 403}, {"anonymous": LOGIN, "admin": 200, "*": 403}),
    "reconciliation:progress": E(
        {"anonymous": LOGIN, "admin": 200, "*": 403}, {"anonymous": LOGIN, "admin": 200, "*": 403}
    ),
    "reconciliation:pause": E(
        {"anonymous": LOGIN, "admin": 405, "*": 403},
        {"anonymous": LOGIN, "admin": (302, "/reconciliation/{job.pk}/"), "*": 403},
    ),
    "reconciliation:resume": E(
        {"anonymous": LOGIN, "admin": 405, "*": 403},
        {"anonymous": LOGIN, "admin": (302, "/reconciliation/{job.pk}/"), "*": 403},
    ),
    "reconciliation:export": E(
        {"anonymous": LOGIN, "admin": 200, "*": 403}, {"anonymous": LOGIN, "admin": 200, "*": 403}
    ),
    "reconciliation:corrections": E(
        {"anonymous": LOGIN, "admin": 405, "*": 403},
        {"anonymous": LOGIN, "admin": (302, "/reconciliation/{job.pk}/"), "*": 403},
    ),
    # --- health facilities --------------------------------------------------------------------------------
    "facilities:list": E(FACILITY_PAGE, GET_ONLY),
    "facilities:issue-birth": E(FACILITY_PAGE, FACILITY_PAGE, "an empty form is shown again with errors"),
    "facilities:issue-death": E(FACILITY_PAGE, FACILITY_PAGE),
    "facilities:detail": E({"anonymous": LOGIN, "facility": 200, "facility_b": 404, "*": 403}, GET_ONLY),
    "facilities:pdf": E(
        {"anonymous": LOGIN, "facility": 200, "citizen_a": 200, "*": 404},
        GET_ONLY,
        "the issuing facility, and the mother (A) whose ID the document names",
    ),
    "facilities:reissue": E(
        {"anonymous": LOGIN, "facility": 200, "facility_b": 404, "*": 403},
        {"anonymous": LOGIN, "facility": 200, "facility_b": 404, "*": 403},
    ),
    "facilities:reports": E(FACILITY_PAGE, GET_ONLY),
    "facilities:alerts": E(
        {"anonymous": LOGIN, "all_staff": 200, "*": 403}, GET_ONLY, "the ministry's overview: no personal data"
    ),
    "facilities:my-documents": E(
        {"anonymous": LOGIN, "*": 200}, GET_ONLY, "the signed-in person's own documents (by their ID number)"
    ),
    "facilities:verify": E(PUBLIC, PUBLIC_GET_ONLY, "public QR page: no personal data"),
    # --- quality dashboard: leaders (own agency) and the ministry ----------------------------------------
    "quality:dashboard": E({"anonymous": LOGIN, "leader_a": 200, "admin": 200, "*": 403}, GET_ONLY),
    "quality:dossiers": E(
        {"anonymous": LOGIN, "leader_a": 400, "admin": 400, "*": 403}, GET_ONLY, "no number chosen: 400"
    ),
    "quality:export-xlsx": E({"anonymous": LOGIN, "leader_a": 200, "admin": 200, "*": 403}, GET_ONLY),
    "quality:export-pdf": E({"anonymous": LOGIN, "leader_a": 200, "admin": 200, "*": 403}, GET_ONLY),
    # --- official documents ----------------------------------------------------------------------------------
    "documents:verify": E(PUBLIC, PUBLIC_GET_ONLY, "public QR page: kind, number, dossier code; no personal data"),
    "documents:list": E({"anonymous": LOGIN, "citizen_a": 200, "staff_a": 200, "*": 404}, GET_ONLY),
    "documents:download": E({"anonymous": LOGIN, "citizen_a": 200, "staff_a": 200, "*": 404}, GET_ONLY),
    "documents:download-seq": E({"anonymous": LOGIN, "citizen_a": 200, "staff_a": 200, "*": 404}, GET_ONLY),
    # --- privacy (data subjects: applicants and facility members; staff accounts get 404) ----------------
    "privacy:overview": E({"anonymous": LOGIN, "all_staff": 404, "*": 200}, PUBLIC_GET_ONLY),
    "privacy:export": E(PUBLIC_GET_ONLY, {"anonymous": LOGIN, "all_staff": 404, "*": 200}, "each person's own data"),
    "privacy:request-new": E(
        {"anonymous": LOGIN, "all_staff": 404, "*": 200}, {"anonymous": LOGIN, "all_staff": 404, "*": 400}
    ),
    "privacy:request": E(A_ONLY, PUBLIC_GET_ONLY),
    "privacy:consent-withdraw": E(
        PUBLIC_GET_ONLY,
        {"anonymous": LOGIN, "citizen_a": (302, "/privacy/requests/"), "*": 404},
        "A's consent: withdrawn, and the withdrawal is a tracked request",
    ),
}

# --- the admin: one rule per URL family ------------------------------------------------------------------
# Who reaches the admin at all: staff accounts (is_staff) and the superuser. Everyone else is sent to the
# admin's sign-in. Staff without model permissions get 403 on model pages; the superuser gets what the
# ModelAdmin allows. Models whose admin refuses even the superuser are listed below, by hand.

# No "add" in the admin (rows are written by the code, received from outside, or kept as written).
ADMIN_NO_ADD = {
    "portal.auditrecord",
    "mfa.authenticator",
    "integrations.outboxmessage",
    "integrations.nationalportalreconciliation",
    "integrations.gatewaymessage",
    "procedures.cataloguesyncrun",
    "procedures.nationalcataloguelink",
    "procedures.nationalinboundsubmission",
    "procedures.dossierrating",
    "procedures.procedureversion",
    "procedures.notificationlog",
    "procedures.dossier",
    "citizens.citizenprofile",
    "citizens.organisationprofile",
    "citizens.payment",
    "citizens.feedback",
    "facilities.facilityalert",
    "facilities.healthdocument",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "privacy.privacyrequest",
    "privacy.retentionaction",
}
# No "delete" (audit and message logs, dossiers and their documents, payments, requests, the breach register).
ADMIN_NO_DELETE = {
    "portal.auditrecord",
    "mfa.authenticator",
    "integrations.outboxmessage",
    "integrations.nationalportalreconciliation",
    "integrations.gatewaymessage",
    "procedures.cataloguesyncrun",
    "procedures.nationalinboundsubmission",
    "procedures.dossierrating",
    "procedures.procedureversion",
    "procedures.notificationlog",
    "procedures.dossier",
    "citizens.organisationprofile",
    "citizens.payment",
    "citizens.feedback",
    "facilities.facilityalert",
    "facilities.healthdocument",
    "privacy.privacyrequest",
    "privacy.retentionaction",
    "privacy.breachrecord",
}
# Read-only change pages (a POST is refused even for the superuser).
ADMIN_NO_CHANGE = {
    "portal.auditrecord",
    "mfa.authenticator",
    "integrations.nationalportalreconciliation",
    "integrations.gatewaymessage",
    "procedures.cataloguesyncrun",
    "procedures.nationalinboundsubmission",
    "procedures.dossierrating",
    "procedures.procedureversion",
    "procedures.notificationlog",
    "citizens.citizenprofile",
    "citizens.organisationprofile",
    "citizens.payment",
    "privacy.retentionaction",
}
# Admins that show staff only their own agency's rows: another agency's row "does not exist" for them.
ADMIN_AGENCY_SCOPED = {"citizens.feedback"}
# Change forms that save an empty POST (every field optional or read-only): back to the list.
ADMIN_CHANGE_SAVES_EMPTY = {"integrations.outboxmessage", "axes.accesslog"}

# The admin site's own pages (not a model's). Non-staff: ADMIN_LOGIN unless given.
ADMIN_SITE: dict[str, Entry] = {
    "admin:index": E({"all_staff": 200}, {"all_staff": 200}),
    "admin:login": E(
        {"anonymous": LOGIN, "all_staff": (302, "/admin/"), "*": 403},
        {"anonymous": LOGIN, "all_staff": (302, "/admin/"), "*": 403},
        "the admin signs in through allauth (two factors); a signed-in non-staff account: 403",
    ),
    "admin:logout": E({"all_staff": 405, "*": (302, "/admin/")}, {"all_staff": (302, "/"), "*": (302, "/admin/")}),
    "admin:password_change": E({"all_staff": 200}, {"all_staff": 200}),
    "admin:password_change_done": E({"all_staff": 200}, {"all_staff": 405}),
    "admin:autocomplete": E({"all_staff": 403}, {"all_staff": 405}, "no model has autocomplete fields"),
    "admin:jsi18n": E({"all_staff": 200}, {"all_staff": 405}),
    "admin:view_on_site": E({"all_staff": 404}, {"all_staff": 404}, "dossiers have no public page"),
    "admin:app_list": E({"staff": 404, "admin": 200}, {"staff": 404, "admin": 200}),
    "admin/(?P<url>.*)$": E({"all_staff": 404}, {"all_staff": 404}),
    "admin:auth_user_password_change": E({"staff": 403, "admin": 200}, {"staff": 403, "admin": 200}),
    "admin:procedures_cataloguesyncrun_run": E(
        {"all_staff": 405}, {"staff": 403, "admin": 302}, "starts a catalogue sync (superuser)"
    ),
    "admin:procedures_procedure_preview": E({"staff": 403, "admin": 200}, {"staff": 403, "admin": 200}),
    "admin:procedures_procedure_publish": E({"all_staff": 405}, {"staff": 403, "admin": 302}),
    "admin:procedures_procedure_unpublish": E({"all_staff": 405}, {"staff": 403, "admin": 302}),
    "admin:procedures_procedure_duplicate": E({"all_staff": 405}, {"staff": 403, "admin": 302}),
    "admin:procedures_procedure_import": E({"staff": 403, "admin": 200}, {"staff": 403, "admin": 200}),
    "admin:procedures_procedure_export": E({"staff": 403, "admin": 200}, {"staff": 403, "admin": 200}),
    "admin:procedures_calendaryear_seed": E({"all_staff": 405}, {"staff": 403, "admin": 302}),
    "admin:procedures_calendaryear_recompute": E({"all_staff": 405}, {"staff": 403, "admin": 302}),
    "admin:procedures_calendaryear_unconfirmed": E({"staff": 403, "admin": 200}, {"staff": 403, "admin": 200}),
}
ADMIN_FAMILIES = ("changelist", "add", "history", "delete", "change", "object")
# Families whose POST changes something (history and the bare object URL only read).
ADMIN_POST_FAMILIES = ("changelist", "add", "delete", "change")
# The roles every admin pattern is requested as: no session, a signed-in non-staff account, staff of two
# agencies without admin permissions, the superuser. Every other role is the same case as one of these (an
# applicant or facility member is non-staff; every agency role is staff without model permissions); each of
# them is checked on ADMIN_SAMPLE.
ADMIN_ROLES = ("anonymous", "citizen_a", "clerk_a", "clerk_b", "admin")
ADMIN_SAMPLE = ("admin:index", "admin:procedures_dossier_changelist", "admin:procedures_dossier_change")
# Read-only routes: their POST is checked for these roles (405, or the sign-in for pages behind it).
READ_ONLY_POST_ROLES = ("anonymous", "citizen_a", "clerk_a", "facility")
# Who may see citizen A's data somewhere in the portal: a refusal given to anyone else must not show it.
A_DATA_ROLES = ("citizen_a", *STAFF_A, "facility")


def admin_expected(family: str, model: str, role: str, method: str, *, has_object: bool) -> object:
    """The rule of one admin URL family for one role (see the lists above)."""
    if role not in ALL_STAFF:
        return ADMIN_LOGIN
    if family == "object":
        return 302  # the bare object URL forwards to its change page
    superuser = role == "admin"
    if family == "changelist":
        return 200 if superuser else 403
    if family == "add":
        return 200 if superuser and model not in ADMIN_NO_ADD else 403
    if family == "history":
        if not has_object or (role in STAFF_B and model in ADMIN_AGENCY_SCOPED):
            return (302, "/admin/")  # Django: "… does not exist", back to the index
        return 200 if superuser else 403
    if family == "delete":
        if not superuser or model in ADMIN_NO_DELETE:
            return 403
        return 200 if has_object else (302, "/admin/")
    # change
    if not superuser or (method == "POST" and model in ADMIN_NO_CHANGE):
        return 403
    if not has_object:
        return (302, "/admin/")
    if method == "POST" and model in ADMIN_CHANGE_SAVES_EMPTY:
        return 302
    return 200
