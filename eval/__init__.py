"""Quality evaluation against human ground truth (see eval/run.py)."""
