"""Promotion gates as policy code: CEL rules per stage (and risk class) in a YAML
document, evaluated against one version's facts. Pure: no IO, no event store, no HTTP.

- document: parse_policy(text) -> Policy
- facts: Facts (and Approval, Artifact, Lineage), the evidence a rule reads
- evaluate: evaluate(policy, stage, facts, version=n) -> Evaluation
- cel, checks: the only modules that know the CEL library (cel-python)
"""
