from brokerage.exceptions import ApplicationError


class PartnerError(ApplicationError):
    """A partners rule refused the request (tree, attribution, onboarding)."""
