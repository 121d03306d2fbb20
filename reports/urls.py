from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("backoffice/reports/", views.report_list, name="report-list"),
]
