"""The suite's own fixtures (Azurite, the Azure ML stand-in, the identity endpoint, app settings), shared as is."""

from tests.conftest import aml, app_env, azurite, identity  # noqa: F401 - pytest finds fixtures by name
