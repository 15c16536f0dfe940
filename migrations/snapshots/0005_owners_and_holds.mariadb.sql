-- agent-sessions schema snapshot: revision 0005_owners_and_holds on mariadb; frozen
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
	parent_session_id VARCHAR(26), 
	forked_at_sequence INTEGER(11), 
	owner_id VARCHAR(255), 
	hold_reason LONGTEXT, 
	held_at DATETIME(6), 
	PRIMARY KEY (id), 
	CONSTRAINT ck_sessions_counters_non_negative CHECK (`prompt_tokens` >= 0 and `completion_tokens` >= 0 and `message_count` >= 0), 
	CONSTRAINT ck_sessions_fork_point_with_parent CHECK (`parent_session_id` is null and `forked_at_sequence` is null or `parent_session_id` is not null and `forked_at_sequence` >= 0)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_sessions_actor_name ON sessions (actor_name);

CREATE UNIQUE INDEX ix_sessions_actor_name_external_id ON sessions (actor_name, external_id);

CREATE INDEX ix_sessions_created_at ON sessions (created_at);

CREATE INDEX ix_sessions_owner_id_created_at_id ON sessions (owner_id, created_at, id);

CREATE INDEX ix_sessions_parent_session_id ON sessions (parent_session_id);

CREATE TABLE session_rewinds (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	to_sequence INTEGER(11) NOT NULL, 
	through_sequence INTEGER(11) NOT NULL, 
	reason LONGTEXT, 
	created_at DATETIME(6) NOT NULL, 
	undone_at DATETIME(6), 
	PRIMARY KEY (id), 
	CONSTRAINT fk_session_rewinds_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_rewinds_sequences_ordered CHECK (`to_sequence` >= 0 and `through_sequence` > `to_sequence`)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_session_rewinds_session_id_created_at ON session_rewinds (session_id, created_at);

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

CREATE TABLE session_compactions (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	through_sequence INTEGER(11) NOT NULL, 
	summary LONGTEXT NOT NULL, 
	metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, 
	token_count BIGINT(20), 
	created_at DATETIME(6) NOT NULL, 
	rewound_by VARCHAR(26), 
	PRIMARY KEY (id), 
	CONSTRAINT fk_session_compactions_rewound_by_session_rewinds FOREIGN KEY(rewound_by) REFERENCES session_rewinds (id) ON DELETE SET NULL, 
	CONSTRAINT fk_session_compactions_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_compactions_through_sequence_positive CHECK (`through_sequence` >= 1)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_session_compactions_rewound_by ON session_compactions (rewound_by);

CREATE INDEX ix_session_compactions_session_id_through_sequence ON session_compactions (session_id, through_sequence);

CREATE TABLE session_messages (
	id VARCHAR(26) NOT NULL, 
	session_id VARCHAR(26) NOT NULL, 
	sequence INTEGER(11) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content LONGTEXT NOT NULL, 
	metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, 
	token_count BIGINT(20), 
	created_at DATETIME(6) NOT NULL, 
	rewound_by VARCHAR(26), 
	PRIMARY KEY (id), 
	CONSTRAINT fk_session_messages_rewound_by_session_rewinds FOREIGN KEY(rewound_by) REFERENCES session_rewinds (id) ON DELETE SET NULL, 
	CONSTRAINT fk_session_messages_session_id_sessions FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	CONSTRAINT ck_session_messages_role_known CHECK (`role` in ('system','user','assistant','tool')), 
	CONSTRAINT ck_session_messages_sequence_positive CHECK (`sequence` >= 1)
)ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE INDEX ix_session_messages_rewound_by ON session_messages (rewound_by);

CREATE UNIQUE INDEX ix_session_messages_session_id_sequence ON session_messages (session_id, sequence);

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

INSERT INTO agent_sessions_alembic_version (version_num) VALUES ('0005_owners_and_holds')
