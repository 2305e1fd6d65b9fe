"""Tags for admin templates."""

from django import template

from orbit.admin_export import export_url

register = template.Library()


@register.simple_tag
def export_csv_url(changelist) -> str:
    """The CSV of the list on screen, with its filters, search and order."""
    return export_url(changelist.opts, changelist.get_query_string())
