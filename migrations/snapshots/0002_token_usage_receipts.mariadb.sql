-- agent-sessions schema snapshot: revision 0002_token_usage_receipts on mariadb; frozen
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
	PRIMARY KEY (id), 
	CONSTRAINT ck_sessions_counters_non_negative CHECK (`prompt_tokens` >= 0 and `completion_tokens` >= 0 and `message_count` >= 0)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);

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

INSERT INTO agent_sessions_alembic_version (version_num) VALUES ('0002_token_usage_receipts')
