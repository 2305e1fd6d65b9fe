"""`{% chart chart %}`: a Chart (orbit/charts.py) as inline SVG, a legend, and the table of its numbers.

{% load charts %}
{% chart weekly_payouts csv_url=request.path|add:"?csv=weekly_payouts" %}
"""

from django import template

from orbit.charts import Chart, layout

register = template.Library()


@register.inclusion_tag("includes/chart.html")
def chart(chart: Chart, csv_url: str = ""):
    return {
        "chart": chart,
        "geometry": layout(chart),
        "legend": [{"index": index % 8, "name": series.name} for index, series in enumerate(chart.series)],
        "formatted_rows": [(row[0], [chart.format(value) for value in row[1:]]) for row in chart.rows()],
        "csv_url": csv_url,
    }
