from brokerage.exceptions import ApplicationError


class KycError(ApplicationError):
    """A verification or AML step that can't be taken, with the reason in words."""
