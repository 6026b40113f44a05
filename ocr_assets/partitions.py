"""Containers are dynamic partitions: one per ingested folder of PDFs (or single PDF) in the inbox."""

from dagster import DynamicPartitionsDefinition

containers = DynamicPartitionsDefinition(name="containers")
