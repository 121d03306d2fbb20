"""The site's URLs plus a trivial view: the baseline a page's speed is compared with (same
middleware, same server, no template or queries of its own)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from brokerage import urls as site

TRIVIAL_PATH = "/__bench__/trivial"


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path(TRIVIAL_PATH.lstrip("/"), trivial), *site.urlpatterns]

handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500
