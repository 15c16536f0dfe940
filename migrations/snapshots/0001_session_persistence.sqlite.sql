BEGIN TRANSACTION;
CREATE TABLE agent_sessions_alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT agent_sessions_alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "agent_sessions_alembic_version" VALUES('0001_session_persistence');
CREATE TABLE session_messages (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	sequence INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content TEXT NOT NULL, 
	metadata JSON NOT NULL, 
	token_count INTEGER, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_session_messages PRIMARY KEY (id), 
	CONSTRAINT fk_session_messages_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_messages_sequence_positive CHECK (sequence >= 1), 
	CONSTRAINT ck_session_messages_role_known CHECK (role IN ('system', 'user', 'assistant', 'tool'))
);
INSERT INTO "session_messages" VALUES('01M80HVV89NBB4A8Q9JKS3841Z','01M80HVV83REP7H8D2AMAVPX55',1,'system','You are a careful assistant.','{}',NULL,'2026-11-22 02:37:48.169872');
INSERT INTO "session_messages" VALUES('01M80HVV8EV1BSDGDA5GD9CFE3','01M80HVV83REP7H8D2AMAVPX55',2,'user','Grüße aus Köln 👋 — 你好','{}',9,'2026-11-22 02:37:48.174214');
INSERT INTO "session_messages" VALUES('01M80HVV8GH9E7RYHJR8SBVANA','01M80HVV83REP7H8D2AMAVPX55',3,'assistant','Hello!','{"model": "m1"}',2,'2026-11-22 02:37:48.176178');
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
	CONSTRAINT pk_sessions PRIMARY KEY (id), 
	CONSTRAINT ck_sessions_counters_non_negative CHECK (prompt_tokens >= 0 AND completion_tokens >= 0 AND message_count >= 0)
);
INSERT INTO "sessions" VALUES('01M80HVV83REP7H8D2AMAVPX55','snapshot-agent','Released schema sample','{"release": "0001_session_persistence"}',11,2,3,'2026-11-22 02:37:48.163658','2026-11-22 02:37:48.177869');
INSERT INTO "sessions" VALUES('01M80HVV8MQJ5446MTJG15QT7K','snapshot-agent-2',NULL,'{}',0,0,0,'2026-11-22 02:37:48.180481','2026-11-22 02:37:48.180481');
CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);
CREATE INDEX ix_sessions_created_at ON sessions (created_at);
CREATE UNIQUE INDEX ix_session_messages_session_id_sequence ON session_messages (session_id, sequence);
COMMIT;
