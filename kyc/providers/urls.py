from django.urls import URLPattern, path

from kyc.providers import views
from kyc.providers.registry import provider_names

app_name = "kyc_providers"

# One route per provider in kyc/providers/backends/ (kyc_providers:webhook-sumsub, ...);
# spelled out rather than webhooks/<slug>/ so that other apps' webhooks/<psp>/ still resolve.
urlpatterns: list[URLPattern] = [
    path(f"webhooks/{name}/", views.webhook, {"provider": name}, name=f"webhook-{name}")
    for name in provider_names()
]
urlpatterns += [
    path("backoffice/kyc/provider-events/", views.events, name="events"),
]
