from brokerage.exceptions import ApplicationError


class CommissionError(ApplicationError):
    """A commission plan or run that can't be accepted, in words for the person who asked."""
