"""Fakes per port, for unit tests that script what the real service would do (a failed
publish, a replaced cluster, a view that fails to apply). Each fake is held to the same
contract test as the real adapter (tests/integration/test_*_contract.py), so what a unit
test learns from a fake holds for the real thing."""
