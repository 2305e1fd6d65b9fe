"""The creator statement in the browser: what this week may pay, past payouts, appeals.

Thin over incentives.selectors (reads) and settlement.appeal_payout (the one write).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from orbit.ratelimit import check_rate
from orbit.web import signed_in, web_view

from . import selectors, settlement
from .models import Payout

STATEMENT = "incentives/statement.html"
PAYOUT_ROW = "incentives/_payout_row.html"


@require_GET
@web_view
@signed_in
def statement(request):
    return render(request, STATEMENT, {"statement": selectors.creator_statement(request.user)})


@require_POST
@web_view
@signed_in
def appeal(request, id: int):  # the payout's id
    payout_id = id
    check_rate(scope="comment", user=request.user)
    message = request.POST.get("message", "")
    try:
        settlement.appeal_payout(payout_id=payout_id, creator=request.user, message=message)
    except Payout.DoesNotExist:
        raise Payout.DoesNotExist(selectors.NO_SUCH_PAYOUT) from None
    except settlement.SettlementError as exc:
        refused = {"appeal_error": str(exc), "appeal_message": message, "appeal_payout_id": payout_id}
        if request.htmx:
            payout = selectors.statement_payout(user=request.user, payout_id=payout_id)
            return render(request, PAYOUT_ROW, {"payout": payout, **refused}, status=400)
        context = {"statement": selectors.creator_statement(request.user), **refused}
        return render(request, STATEMENT, context, status=400)
    if request.htmx:
        return render(
            request, PAYOUT_ROW, {"payout": selectors.statement_payout(user=request.user, payout_id=payout_id)}
        )
    messages.success(request, _("Your appeal is sent. The reviewers will look at this payout again."))
    return redirect("incentives:statement")
