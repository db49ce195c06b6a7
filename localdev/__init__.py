"""Local stand-ins for the demo and the tests: Azurite, an Azure ML REST stand-in, a managed-identity endpoint.

Not deployed (see .funcignore); the app never imports this package.
"""
