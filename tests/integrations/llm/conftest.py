"""The LLM adapter tests use the session's fake OpenAI-compatible server (fixtures in tests/conftest.py)."""
