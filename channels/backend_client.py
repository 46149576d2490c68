"""The account backend's client for the channel service: the shared one (common/backend_client.py).

`BackendError` is the shared `ApiError`, under the name this service's modules and tests know."""

from common.backend_client import ApiError, BackendClient, BackendUnavailable

BackendError = ApiError

__all__ = ["ApiError", "BackendClient", "BackendError", "BackendUnavailable"]
