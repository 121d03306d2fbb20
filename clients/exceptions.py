from brokerage.exceptions import ApplicationError


class ClientError(ApplicationError):
    pass
