"""Every call to another system: population DB gateway, national portal, payment, VNeID; and their simulators.

This package is a leaf: it never imports procedures/ or citizens/.
"""
