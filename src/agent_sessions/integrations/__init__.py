"""Adapters that plug agent-sessions into agent frameworks, each behind an optional extra.

- :mod:`agent_sessions.integrations.openai_agents`: the OpenAI Agents SDK's ``Session``
  protocol (``pip install 'agent-sessions[openai-agents]'``).
- :mod:`agent_sessions.integrations.langchain`: LangChain's ``BaseChatMessageHistory``
  (``pip install 'agent-sessions[langchain]'``).
- :mod:`agent_sessions.integrations.model_context`: what both read with
  ``use_context_messages=True`` (a compaction's summary, then the messages after it).

Importing this package imports neither framework; each module imports its own.
"""
