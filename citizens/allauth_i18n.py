"""Messages django-allauth shows to users, listed so that our catalogue translates them.

allauth ships no Vietnamese catalogue. Django merges every catalogue of a language and the
project's (LOCALE_PATHS) wins, so translating allauth's own msgids here makes allauth speak
Vietnamese without patching it. Keep the msgids exactly as allauth writes them.
"""

from django.utils.translation import gettext_noop

ALLAUTH_MESSAGES = [
    gettext_noop("The username and/or password you specified are not correct."),
    gettext_noop("Too many failed login attempts. Try again later."),
    gettext_noop("This account is currently inactive."),
    gettext_noop("The third-party account is already connected to a different account."),
]
