"""Price charts drawn on the server: a small inline SVG of a quote's hourly closes.

No JavaScript and no inline style (our CSP allows neither): the line's colour comes from the
stylesheet through the up/down class, everything else from SVG presentation attributes.
"""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .orbit_ui import price

register = template.Library()

# Room for half the stroke at the edges, in SVG units.
PADDING = 2


def chart_points(closes, *, width: int, height: int) -> list[tuple[float, float]]:
    """Where each close falls in a box of width by height: oldest at the left, highest at the top."""
    low, high = min(closes), max(closes)
    step = (width - 2 * PADDING) / (len(closes) - 1)
    span = high - low
    points = []
    for index, close in enumerate(closes):
        # Float is fine here: these are drawing coordinates, not prices.
        y = height / 2 if not span else PADDING + float((high - close) / span) * (height - 2 * PADDING)
        points.append((PADDING + index * step, y))
    return points


@register.simple_tag
def price_chart(quote, width=120, height=32):
    """`{% price_chart quote %}`, or `{% price_chart quote width=600 height=160 %}` for a big one.

    Nothing when the quote has fewer than two closes: one point draws no line.
    """
    closes = getattr(quote, "closes", None) or ()
    if len(closes) < 2:
        return ""
    width, height = int(width), int(height)
    points = chart_points(closes, width=width, height=height)
    polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    trend = "up" if closes[-1] >= closes[0] else "down"
    label = _("%(symbol)s hourly closes: from %(first)s to %(last)s (low %(low)s, high %(high)s)") % {
        "symbol": quote.symbol,
        "first": price(closes[0]),
        "last": price(closes[-1]),
        "low": price(min(closes)),
        "high": price(max(closes)),
    }
    # The area under the line closes the polyline along the bottom edge.
    area = f"{points[0][0]:.1f},{height} {polyline} {points[-1][0]:.1f},{height}"
    return format_html(
        '<svg class="price-chart price-chart-{trend}" viewBox="0 0 {width} {height}" width="{width}" '
        'height="{height}" role="img" aria-label="{label}" focusable="false"><title>{label}</title>'
        '<polygon class="price-chart-area" points="{area}" stroke="none"/>'
        '<polyline class="price-chart-line" points="{polyline}" fill="none" stroke-width="1.5" '
        'stroke-linejoin="round" stroke-linecap="round" vector-effect="non-scaling-stroke"/></svg>',
        trend=trend,
        width=width,
        height=height,
        label=label,
        area=area,
        polyline=polyline,
    )
