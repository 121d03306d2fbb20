from __future__ import annotations

from django.urls import URLPattern, path

from partners.commissions import views

app_name = "commissions"

urlpatterns: list[URLPattern] = [
    # partner side
    path("partners/commissions/", views.line_list, name="lines"),
    path("partners/commissions/<int:pk>/", views.line_detail, name="line"),
    path("partners/statements/", views.statement_list, name="statements"),
    path("partners/payout/", views.payout, name="payout"),
    path("partners/statements/<str:period>.csv", views.statement_csv_view, name="statement-csv"),
    path("partners/statements/<str:period>.pdf", views.statement_pdf_view, name="statement-pdf"),
    path("partners/statements/<str:period>/", views.statement_detail, name="statement"),
    # back-office
    path("backoffice/partners/plans/", views.plan_list, name="plans"),
    path(
        "backoffice/partners/<int:pk>/plan/", views.partner_plan_assign, name="partner-plan-assign"
    ),
    path("backoffice/partners/plans/<int:pk>/", views.plan_detail, name="plan"),
    path("backoffice/partners/runs/", views.run_list, name="runs"),
    path("backoffice/partners/recompute/", views.recompute_list, name="recomputes"),
    path("backoffice/partners/recompute/<int:pk>/", views.recompute_detail, name="recompute"),
    path("backoffice/partners/disputes/", views.dispute_list, name="disputes"),
    path("backoffice/partners/disputes/<int:pk>/", views.dispute_detail, name="dispute"),
]
