"""The exception names crabbox's helper tells apart (by class name, as with the real client)."""


class Error(Exception):
    pass


class NotFoundError(Error):
    pass


class AuthError(Error):
    pass


class InvalidError(Error):
    pass
