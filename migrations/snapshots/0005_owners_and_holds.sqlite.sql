-- agent-sessions schema snapshot: revision 0005_owners_and_holds on sqlite; frozen
CREATE TABLE agent_sessions_alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT agent_sessions_alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE sessions (
	id VARCHAR(26) NOT NULL, 
	actor_name VARCHAR(255) NOT NULL, 
	title VARCHAR(500), 
	metadata JSON NOT NULL, 
	prompt_tokens BIGINT NOT NULL, 
	completion_tokens BIGINT NOT NULL, 
	message_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	external_id VARCHAR(255), 
	parent_session_id VARCHAR(26), 
	forked_at_sequence INTEGER, 
	owner_id VARCHAR(255), 
	hold_reason TEXT, 
	held_at DATETIME, 
	CONSTRAINT pk_sessions PRIMARY KEY (id), 
	CONSTRAINT ck_sessions_counters_non_negative CHECK (prompt_tokens >= 0 AND completion_tokens >= 0 AND message_count >= 0), 
	CONSTRAINT ck_sessions_fork_point_with_parent CHECK ((parent_session_id IS NULL AND forked_at_sequence IS NULL) OR (parent_session_id IS NOT NULL AND forked_at_sequence >= 0))
);

CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);

CREATE UNIQUE INDEX ix_sessions_actor_name_external_id ON sessions (actor_name, external_id);

CREATE INDEX ix_sessions_created_at ON sessions (created_at);

CREATE INDEX ix_sessions_owner_id_created_at_id ON sessions (owner_id, created_at, id);

CREATE INDEX ix_sessions_parent_session_id ON sessions (parent_session_id);

CREATE TABLE session_rewinds (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	to_sequence INTEGER NOT NULL, 
	through_sequence INTEGER NOT NULL, 
	reason TEXT, 
	created_at DATETIME NOT NULL, 
	undone_at DATETIME, 
	CONSTRAINT pk_session_rewinds PRIMARY KEY (id), 
	CONSTRAINT fk_session_rewinds_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_rewinds_sequences_ordered CHECK (to_sequence >= 0 AND through_sequence > to_sequence)
);

CREATE INDEX ix_session_rewinds_session_id_created_at ON session_rewinds (session_id, created_at);

CREATE TABLE session_token_usage (
	session_id VARCHAR(26) NOT NULL, 
	usage_key VARCHAR(255) NOT NULL, 
	prompt_tokens BIGINT NOT NULL, 
	completion_tokens BIGINT NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	CONSTRAINT pk_session_token_usage PRIMARY KEY (session_id, usage_key), 
	CONSTRAINT fk_session_token_usage_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_token_usage_tokens_non_negative CHECK (prompt_tokens >= 0 AND completion_tokens >= 0)
);

CREATE TABLE session_compactions (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	through_sequence INTEGER NOT NULL, 
	summary TEXT NOT NULL, 
	metadata JSON NOT NULL, 
	token_count BIGINT, 
	created_at DATETIME NOT NULL, 
	rewound_by VARCHAR(26), 
	CONSTRAINT pk_session_compactions PRIMARY KEY (id), 
	CONSTRAINT fk_session_compactions_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT fk_session_compactions_rewound_by_session_rewinds FOREIGN KEY(rewound_by) REFERENCES session_rewinds (id) ON DELETE SET NULL, 
	CONSTRAINT ck_session_compactions_through_sequence_positive CHECK (through_sequence >= 1)
);

CREATE INDEX ix_session_compactions_rewound_by ON session_compactions (rewound_by);

CREATE INDEX ix_session_compactions_session_id_through_sequence ON session_compactions (session_id, through_sequence);

CREATE TABLE session_messages (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	sequence INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content TEXT NOT NULL, 
	metadata JSON NOT NULL, 
	token_count BIGINT, 
	created_at DATETIME NOT NULL, 
	rewound_by VARCHAR(26), 
	CONSTRAINT pk_session_messages PRIMARY KEY (id), 
	CONSTRAINT fk_session_messages_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT fk_session_messages_rewound_by_session_rewinds FOREIGN KEY(rewound_by) REFERENCES session_rewinds (id) ON DELETE SET NULL, 
	CONSTRAINT ck_session_messages_role_known CHECK (role IN ('system', 'user', 'assistant', 'tool')), 
	CONSTRAINT ck_session_messages_sequence_positive CHECK (sequence >= 1)
);

CREATE INDEX ix_session_messages_rewound_by ON session_messages (rewound_by);

CREATE UNIQUE INDEX ix_session_messages_session_id_sequence ON session_messages (session_id, sequence);

CREATE TABLE session_file_events (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	message_id VARCHAR(26) NOT NULL, 
	event_type VARCHAR(16) NOT NULL, 
	file_path VARCHAR(768), 
	diff TEXT, 
	command TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_session_file_events PRIMARY KEY (id), 
	CONSTRAINT fk_session_file_events_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT fk_session_file_events_message_id_session_messages FOREIGN KEY(message_id) REFERENCES session_messages (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_file_events_event_type_known CHECK (event_type IN ('read', 'write', 'edit', 'delete', 'rename', 'command'))
);

CREATE INDEX ix_session_file_events_file_path ON session_file_events (file_path);

CREATE INDEX ix_session_file_events_message_id ON session_file_events (message_id);

CREATE INDEX ix_session_file_events_session_id_created_at ON session_file_events (session_id, created_at);

INSERT INTO agent_sessions_alembic_version (version_num) VALUES ('0005_owners_and_holds')
