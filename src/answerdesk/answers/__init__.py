"""Grounded answers: prompts, citations, the extractive mode and the answer pipeline."""
