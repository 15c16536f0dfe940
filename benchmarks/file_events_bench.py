"""Benchmarks of file events: recording one, and the files a long session touched."""

from __future__ import annotations

from .common import BACKENDS, BenchmarkStore

CONVERSATION_SIZE = 200
TOUCHED_EVENTS = 10_000
TOUCHED_PATHS = 500


class FileEventRecording:
    """Record one file event (an edit with its diff) on a conversation of 200 messages."""

    params = (BACKENDS,)
    param_names = ("backend",)
    timeout = 120

    def setup(self, backend):
        self.store = BenchmarkStore(backend)
        self.service = self.store.service
        self.session_id = self.store.seed_conversation(CONVERSATION_SIZE)
        messages = self.service.get_messages(self.session_id)
        self.message_id = messages[len(messages) // 2].id
        self.diff = "@@ -10,2 +10,2 @@\n-    return None\n+    return self.cache.get(key)\n"

    def teardown(self, backend):
        self.store.close()

    def time_record_file_event(self, backend):
        self.service.record_file_event(
            self.session_id,
            self.message_id,
            "edit",
            file_path="src/agent/cache.py",
            diff=self.diff,
        )


class FilesTouched:
    """``files_touched`` on a session of 10,000 file events over 500 paths."""

    params = (BACKENDS,)
    param_names = ("backend",)
    timeout = 300

    def setup(self, backend):
        self.store = BenchmarkStore(backend)
        self.service = self.store.service
        self.session_id = self.store.seed_file_events(
            CONVERSATION_SIZE, TOUCHED_EVENTS, TOUCHED_PATHS
        )

    def teardown(self, backend):
        self.store.close()

    def time_files_touched(self, backend):
        self.service.files_touched(self.session_id)
