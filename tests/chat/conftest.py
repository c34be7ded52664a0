"""Chat tests use the shared fixtures of tests/conftest.py (llm_app, llm_client, llm_runtime, fake_openai)."""
