from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def vnd(amount) -> str:
    """1500000 -> '1.500.000 VND' in Vietnamese, '1,500,000 VND' in English."""
    if amount is None:
        return ""
    grouped = f"{int(amount):,}"
    if (get_language() or "vi").startswith("vi"):
        grouped = grouped.replace(",", ".")
    return f"{grouped} VND"
