"""Benchmarks of the session service: session records, and message history."""

from __future__ import annotations

from .common import BACKENDS, SIZES, BenchmarkStore, export_document, message_text


class SessionRecords:
    """Create, get, list and token updates with ``size`` sessions already stored."""

    params = (BACKENDS, SIZES)
    param_names = ("backend", "size")
    timeout = 120

    def setup(self, backend, size):
        self.store = BenchmarkStore(backend)
        self.service = self.store.service
        self.session_ids = self.store.seed_sessions(size)
        self.session_id = self.session_ids[len(self.session_ids) // 2]

    def teardown(self, backend, size):
        self.store.close()

    def time_create_session(self, backend, size):
        self.service.create("bench-actor-0", title="new session", metadata={"source": "asv"})

    def time_get_session(self, backend, size):
        self.service.get(self.session_id)

    def time_list_sessions(self, backend, size):
        self.service.list(limit=size)

    def time_update_token_usage(self, backend, size):
        self.service.update_token_usage(self.session_id, prompt_tokens=120, completion_tokens=40)


class MessageHistory:
    """Append, export and import on a conversation of ``size`` messages."""

    params = (BACKENDS, SIZES)
    param_names = ("backend", "size")
    timeout = 120

    def setup(self, backend, size):
        self.store = BenchmarkStore(backend)
        self.service = self.store.service
        self.session_id = self.store.seed_conversation(size)
        self.document = export_document(size)
        self.content = message_text(size + 1)

    def teardown(self, backend, size):
        self.store.close()

    def time_append_message(self, backend, size):
        self.service.append_message(self.session_id, "user", self.content, token_count=42)

    def time_export_session(self, backend, size):
        self.service.export_session(self.session_id)

    def time_import_session(self, backend, size):
        self.service.import_session(self.document)
