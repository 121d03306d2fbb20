from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerage.permissions import backoffice_view
from kyc.screening.forms import ScreenNameForm
from kyc.screening.selectors import active_versions, recent_screenings, screen_name


@backoffice_view("view_kyc")
def overview(request: HttpRequest) -> HttpResponse:
    """The active list versions, a name screened on demand (nothing stored), recent alerts."""
    form = ScreenNameForm(request.GET or None)
    result = None
    if form.is_valid():
        result = screen_name(
            name=form.cleaned_data["name"],
            dob=form.cleaned_data["dob"] or None,
            country=form.cleaned_data["country"] or None,
        )
    return render(
        request,
        "screening/overview.html",
        {
            "form": form,
            "result": result,
            "versions": active_versions(),
            "screenings": recent_screenings(decisions=("alert", "strong"), limit=50),
        },
    )
