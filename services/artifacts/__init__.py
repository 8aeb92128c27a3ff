"""Artefact storage: content-addressed objects in a local folder or S3."""
