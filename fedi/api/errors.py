"""Mastodon-shaped errors: ``{"error": …}`` with the right status, never HTML.

OAuth endpoints answer RFC 6749 errors: ``{"error": code, "error_description": …}``.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An answer other than success; caught by the endpoint wrapper."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse({"error": self.message}, status_code=self.status,
                            headers=self.headers)


class OAuthError(ApiError):
    """An RFC 6749 error from the token or revocation endpoint."""

    def __init__(self, status: int, code: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, description, headers)
        self.code = code

    def response(self) -> Response:
        return JSONResponse({"error": self.code, "error_description": self.message},
                            status_code=self.status, headers=self.headers)


def not_found() -> ApiError:
    return ApiError(404, "Record not found")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, f"Validation failed: {message}")
