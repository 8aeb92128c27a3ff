"""Generators of the checked-in contract files under schemas/ (OpenAPI, AsyncAPI, JSON
Schema): `python -m services.contracts.generate`."""
