from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from brokerage import views
from brokerage.permissions import session_passed_mfa

backoffice = [
    path("backoffice/", views.dashboard, name="dashboard"),
    path("backoffice/staff/", views.staff, name="staff"),
    path("backoffice/staff/invite/", views.staff_invite_view, name="staff-invite"),
    path("backoffice/staff/<int:pk>/roles/", views.staff_roles_view, name="staff-roles"),
    path("backoffice/audit/", views.audit, name="audit"),
]

# The Django admin is for superusers' repairs only, and only after the same login as the
# back-office (password and second factor): its own password-only form is replaced.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.has_permission = lambda request: bool(  # type: ignore[method-assign]
    request.user.is_active and request.user.is_superuser and session_passed_mfa(request)
)

urlpatterns = [
    path("", include((backoffice, "brokerage"))),
    path("", include("clients.urls")),
    path("", include("kyc.urls")),
    path("", include("kyc.documents.urls")),
    path("", include("kyc.screening.urls")),
    path("", include("kyc.providers.urls")),
    path("", include("kyc.riskscore.urls")),
    path("", include("wallets.urls")),
    path("", include("wallets.payments.urls")),
    path("", include("wallets.withdrawals.urls")),
    path("", include("wallets.transfers.urls")),
    path("", include("partners.urls")),
    path("", include("partners.commissions.urls")),
    path("", include("risk.urls")),
    path("", include("reports.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("", views.home, name="home"),
]

handler403 = "brokerage.views.error_403"
handler404 = "brokerage.views.error_404"
handler500 = "brokerage.views.error_500"
