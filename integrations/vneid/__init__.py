"""VNeID, the national electronic identification: the sign-in itself runs through allauth's OpenID Connect client.

This package holds the stand-alone VNeID simulator (an OpenID Connect provider) used in development and tests.
"""
