"""Conversations and messages: the chat API customers and the widget talk to."""
