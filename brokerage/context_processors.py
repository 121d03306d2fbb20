from django.conf import settings


def shell(request) -> dict:
    """What every page's chrome needs: the broker's name and which surface we are on."""
    path = request.path
    if path.startswith("/backoffice/"):
        surface = "backoffice"
    elif path.startswith("/partners/"):
        surface = "partners"
    else:
        surface = "portal"
    return {"BROKER_NAME": settings.BROKER_NAME, "surface": surface}
