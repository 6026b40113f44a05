"""Dagster-free processing for each stage. The assets in `ocr_assets` call these; the benchmark does too,
so pipeline efficiency can be measured with and without Dagster."""
