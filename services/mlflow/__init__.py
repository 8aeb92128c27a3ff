"""The MLflow Model Registry REST API (/api/2.0/mlflow and its /ajax-api twin), spoken by
Registrum: MLflow's JSON shapes, field names and error codes over our commands and views.
Every write is one of our commands through the same dispatcher as /api/v1, so it is
authorised, recorded and governed the same way."""
