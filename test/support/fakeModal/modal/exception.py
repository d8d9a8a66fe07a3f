"""The exception classes crabbox's helper tells apart (by isinstance against modal.exception, as with the real client)."""


class Error(Exception):
    pass


class NotFoundError(Error):
    pass


class AuthError(Error):
    pass


class InvalidError(Error):
    pass
