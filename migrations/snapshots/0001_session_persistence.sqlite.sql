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
	token_count BIGINT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_session_messages PRIMARY KEY (id), 
	CONSTRAINT fk_session_messages_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_messages_sequence_positive CHECK (sequence >= 1), 
	CONSTRAINT ck_session_messages_role_known CHECK (role IN ('system', 'user', 'assistant', 'tool'))
);
INSERT INTO "session_messages" VALUES('01M80J2D1GJY97DAZBK4GA20QT','01M80J2D135HD850T23CMQ9S1V',1,'system','You are a careful assistant.','{}',NULL,'2026-11-22 02:41:22.992296');
INSERT INTO "session_messages" VALUES('01M80J2D1PMRETV0X2TGX1WX4G','01M80J2D135HD850T23CMQ9S1V',2,'user','Grüße aus Köln 👋 — 你好','{}',9,'2026-11-22 02:41:22.998939');
INSERT INTO "session_messages" VALUES('01M80J2D1VSK8KF7KJEZZANWFP','01M80J2D135HD850T23CMQ9S1V',3,'assistant','Hello!','{"model": "m1"}',2,'2026-11-22 02:41:23.003651');
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
INSERT INTO "sessions" VALUES('01M80J2D135HD850T23CMQ9S1V','snapshot-agent','Released schema sample','{"release": "0001_session_persistence"}',11,2,3,'2026-11-22 02:41:22.979375','2026-11-22 02:41:23.006669');
INSERT INTO "sessions" VALUES('01M80J2D22FRNG6W2ANSJNBSFW','snapshot-agent-2',NULL,'{}',0,0,0,'2026-11-22 02:41:23.010979','2026-11-22 02:41:23.010979');
CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);
CREATE INDEX ix_sessions_created_at ON sessions (created_at);
CREATE UNIQUE INDEX ix_session_messages_session_id_sequence ON session_messages (session_id, sequence);
COMMIT;
