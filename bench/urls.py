"""The site's URLs plus a trivial view: the baseline a page's speed is compared with (same
middleware, same server, no template or queries of its own)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokerage import urls as site

TRIVIAL_PATH = "/__bench__/trivial"
DEMO_VERIFY_PATH = "/__bench__/demo-pay-verify"


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
@require_POST
def demo_pay_verify(request: HttpRequest) -> HttpResponse:
    """The baseline of payments.webhook_credit: the demo provider's webhook signature
    checked (and its JSON read), nothing stored."""
    from wallets.payments.providers.base import WebhookError
    from wallets.payments.providers.demo import DemoProvider

    try:
        DemoProvider().parse_webhook(body=request.body, headers=request.headers)
    except WebhookError as exc:
        return JsonResponse({"ok": False, "error": exc.message}, status=exc.status)
    return JsonResponse({"ok": True, "duplicate": False})


urlpatterns = [
    path(TRIVIAL_PATH.lstrip("/"), trivial),
    path(DEMO_VERIFY_PATH.lstrip("/"), demo_pay_verify),
    *site.urlpatterns,
]

handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500
