-- agent-sessions schema snapshot: revision 0003_file_events_external_ids on mariadb; frozen
CREATE TABLE agent_sessions_alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	PRIMARY KEY (version_num)
)ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE latin1_swedish_ci;

CREATE TABLE sessions (
	id VARCHAR(26) NOT NULL, 
	actor_name VARCHAR(255) NOT NULL, 
	title VARCHAR(500), 
	metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, 
	prompt_tokens BIGINT(20) NOT NULL, 
	completion_tokens BIGINT(20) NOT NULL, 
	message_count INTEGER(11) NOT NULL, 
	created_at DATETIME(6) NOT NULL, 
	updated_at DATETIME(6) NOT NULL, 
	external_id VARCHAR(255), 
	PRIMARY KEY (id), 
	CONSTRAINT ck_sessions_counters_non_negative CHECK (`prompt_tokens` >= 0 and `completion_tokens` >= 0 and `message_count` >= 0)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);

CREATE UNIQUE INDEX ix_sessions_actor_name_external_id ON sessions (actor_name, external_id);

CREATE INDEX ix_sessions_created_at ON sessions (created_at);

CREATE TABLE session_messages (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	sequence INTEGER(11) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content LONGTEXT NOT NULL, 
	metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, 
	token_count BIGINT(20), 
	created_at DATETIME(6) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_session_messages_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_messages_role_known CHECK (`role` in ('system','user','assistant','tool')), 
	CONSTRAINT ck_session_messages_sequence_positive CHECK (`sequence` >= 1)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE UNIQUE INDEX ix_session_messages_session_id_sequence ON session_messages (session_id, sequence);

CREATE TABLE session_token_usage (
	session_id VARCHAR(26) NOT NULL, 
	usage_key VARCHAR(255) NOT NULL, 
	prompt_tokens BIGINT(20) NOT NULL, 
	completion_tokens BIGINT(20) NOT NULL, 
	recorded_at DATETIME(6) NOT NULL, 
	PRIMARY KEY (session_id, usage_key), 
	CONSTRAINT fk_session_token_usage_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_token_usage_tokens_non_negative CHECK (`prompt_tokens` >= 0 and `completion_tokens` >= 0)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE TABLE session_file_events (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	message_id VARCHAR(26) NOT NULL, 
	event_type VARCHAR(16) NOT NULL, 
	file_path VARCHAR(768), 
	diff LONGTEXT, 
	command LONGTEXT, 
	created_at DATETIME(6) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_session_file_events_message_id_session_messages FOREIGN KEY(message_id) REFERENCES session_messages (id) ON DELETE CASCADE, 
	CONSTRAINT fk_session_file_events_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_file_events_event_type_known CHECK (`event_type` in ('read','write','edit','delete','rename','command'))
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_session_file_events_file_path ON session_file_events (file_path);

CREATE INDEX ix_session_file_events_message_id ON session_file_events (message_id);

CREATE INDEX ix_session_file_events_session_id_created_at ON session_file_events (session_id, created_at);

INSERT INTO agent_sessions_alembic_version (version_num) VALUES ('0003_file_events_external_ids')
