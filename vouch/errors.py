"""The one domain error: a machine code and a sentence for a person.

Services raise it; the API renders it as `{"error": {"code", "message", "details"}}`
and the portal shows the message beside the form or action that caused it.
"""


class VouchError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, details: list | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(VouchError):
    status = 404


class Conflict(VouchError):
    status = 409


class Invalid(VouchError):
    status = 422
