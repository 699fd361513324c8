"""Schema migrations: an ordered list of named functions, recorded in a table.

Opening a database runs every migration not yet recorded in
``schema_migrations``, each in its own transaction, in list order. A migration
is never edited once released; a change is a new migration at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from storage.later_migrations import (
    m007_anchor_tokens,
    m008_intake_reports,
    m009_ops_daemon_crashes,
    m010_ops_region_timezone,
    m011_ops_account_status,
    m012_ops_audit_views_add_up,
    m013_stream_withdrawals,
    m014_desk_users,
    m015_classifier_target_stances,
)

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def m001_initial(db: duckdb.DuckDBPyConnection) -> None:
    """Accounts, registries, items, classifications, flags, evidence, reviews, cursors, runs."""
    db.execute(
        """
        CREATE TABLE regions (
            code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,
            level VARCHAR NOT NULL, province VARCHAR NOT NULL
        );
        CREATE TABLE accounts (
            account_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, nip VARCHAR NOT NULL,
            agency VARCHAR NOT NULL, region VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE SEQUENCE seq_account_handles;
        -- One row per handle an account has had on a platform; a rename adds a row.
        CREATE TABLE account_handles (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_account_handles'),
            account_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, handle VARCHAR NOT NULL,
            platform_user_id VARCHAR, first_seen TIMESTAMPTZ NOT NULL,
            last_seen TIMESTAMPTZ NOT NULL, seen_by VARCHAR NOT NULL
        );
        CREATE TABLE elections (
            id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, level VARCHAR NOT NULL,
            region VARCHAR, voting_day DATE NOT NULL, campaign_start DATE NOT NULL,
            campaign_end DATE NOT NULL, source VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
            loaded_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE candidates (
            election_id VARCHAR NOT NULL, id VARCHAR NOT NULL, ballot_number INTEGER NOT NULL,
            people JSON NOT NULL, aliases JSON NOT NULL, hashtags JSON NOT NULL,
            parties JSON NOT NULL, accounts JSON NOT NULL, PRIMARY KEY (election_id, id)
        );
        CREATE TABLE parties (
            election_id VARCHAR NOT NULL, id VARCHAR NOT NULL, names JSON NOT NULL,
            ballot_number INTEGER, accounts JSON NOT NULL, PRIMARY KEY (election_id, id)
        );
        -- Raw response bytes (zlib), shared by every item read from the same response.
        CREATE TABLE raw_items (
            sha256 VARCHAR PRIMARY KEY, body BLOB, size BIGINT NOT NULL,
            source_url VARCHAR NOT NULL, status INTEGER, headers JSON NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL, connector VARCHAR NOT NULL,
            connector_version VARCHAR NOT NULL, purged_at TIMESTAMPTZ
        );
        CREATE TABLE items (
            item_key VARCHAR PRIMARY KEY, platform VARCHAR NOT NULL, item_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL, kind VARCHAR NOT NULL, actor VARCHAR NOT NULL,
            actor_id VARCHAR, account_id VARCHAR, created_at TIMESTAMPTZ NOT NULL,
            text VARCHAR, url VARCHAR, subject_id VARCHAR, subject_author VARCHAR,
            subject_text VARCHAR, subject_url VARCHAR, extra JSON NOT NULL,
            norm_text VARCHAR NOT NULL, raw_sha256 VARCHAR NOT NULL,
            first_seen_at TIMESTAMPTZ NOT NULL, run_id BIGINT NOT NULL
        );
        CREATE SEQUENCE seq_classifications;
        CREATE TABLE classifications (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_classifications'),
            item_key VARCHAR NOT NULL, model VARCHAR NOT NULL, version VARCHAR NOT NULL,
            flagged BOOLEAN NOT NULL, score DOUBLE NOT NULL, stance VARCHAR NOT NULL,
            targets JSON NOT NULL, category VARCHAR NOT NULL, explanation VARCHAR NOT NULL,
            classified_at TIMESTAMPTZ NOT NULL, run_id BIGINT NOT NULL
        );
        CREATE SEQUENCE seq_flags;
        CREATE TABLE flags (
            flag_id BIGINT PRIMARY KEY DEFAULT nextval('seq_flags'),
            item_key VARCHAR NOT NULL UNIQUE, classification_id BIGINT NOT NULL,
            account_id VARCHAR, score DOUBLE NOT NULL, stance VARCHAR NOT NULL,
            targets JSON NOT NULL, category VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, run_id BIGINT NOT NULL
        );
        CREATE SEQUENCE seq_evidence;
        CREATE TABLE evidence (
            evidence_id BIGINT PRIMARY KEY DEFAULT nextval('seq_evidence'),
            flag_id BIGINT NOT NULL, item_key VARCHAR NOT NULL, raw_sha256 VARCHAR NOT NULL,
            item_json JSON NOT NULL, account_json JSON NOT NULL, sha256 VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE SEQUENCE seq_reviews;
        -- Append-only: a later decision supersedes an earlier one; nothing is updated.
        CREATE TABLE reviews (
            review_id BIGINT PRIMARY KEY DEFAULT nextval('seq_reviews'),
            flag_id BIGINT NOT NULL, decision VARCHAR NOT NULL, reason VARCHAR,
            note VARCHAR, reviewer VARCHAR NOT NULL, decided_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE source_cursors (
            source VARCHAR NOT NULL, account_key VARCHAR NOT NULL, stream VARCHAR NOT NULL,
            value VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, account_key, stream)
        );
        CREATE SEQUENCE seq_runs;
        CREATE TABLE runs (
            run_id BIGINT PRIMARY KEY DEFAULT nextval('seq_runs'),
            started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
            status VARCHAR NOT NULL, trigger VARCHAR NOT NULL,
            items_seen BIGINT NOT NULL DEFAULT 0, items_new BIGINT NOT NULL DEFAULT 0,
            items_duplicate BIGINT NOT NULL DEFAULT 0, items_skipped BIGINT NOT NULL DEFAULT 0,
            flags_new BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0
        );
        CREATE SEQUENCE seq_run_errors;
        CREATE TABLE run_errors (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_run_errors'),
            run_id BIGINT NOT NULL, source VARCHAR NOT NULL, account_key VARCHAR,
            error_type VARCHAR NOT NULL, message VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL
        );
        """
    )


def m002_flag_status_view(db: duckdb.DuckDBPyConnection) -> None:
    """A flag's status is its latest review decision, or 'pending' when it has none."""
    db.execute(
        """
        CREATE VIEW flag_status AS
        SELECT f.flag_id,
               coalesce(r.decision, 'pending') AS status,
               r.decided_at, r.reviewer
        FROM flags f
        LEFT JOIN (
            SELECT flag_id, decision, decided_at, reviewer,
                   row_number() OVER (PARTITION BY flag_id ORDER BY review_id DESC) AS rn
            FROM reviews
        ) r ON r.flag_id = f.flag_id AND r.rn = 1;
        """
    )


def m003_review_evidence_chain(db: duckdb.DuckDBPyConnection) -> None:
    """Evidence files (images, cards), the hash chain, and structured detail on reviews.

    Evidence and reviews that exist already are chained here, in id order, so an
    older file is covered from the moment it is migrated.
    """
    from storage import chain

    db.execute(
        """
        CREATE SEQUENCE seq_evidence_files;
        -- One row per file kept for a flag: an image from the post, or a rendered card.
        -- status is 'ok' (path and sha256 set) or 'failed' (error says why); never updated.
        CREATE TABLE evidence_files (
            file_id BIGINT PRIMARY KEY DEFAULT nextval('seq_evidence_files'),
            flag_id BIGINT NOT NULL, role VARCHAR NOT NULL, url VARCHAR, path VARCHAR,
            sha256 VARCHAR, size BIGINT, content_type VARCHAR, status VARCHAR NOT NULL,
            error VARCHAR, created_at TIMESTAMPTZ NOT NULL
        );
        -- The hash chain: one link per evidence, evidence_files and reviews row (storage/chain.py).
        CREATE TABLE chain (
            seq BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, ref_id BIGINT NOT NULL,
            prev_hash VARCHAR NOT NULL, record_hash VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, UNIQUE (kind, ref_id)
        );
        -- Group id of a group decision, escalation package path and hash, ...
        ALTER TABLE reviews ADD COLUMN detail JSON;
        -- Sentence embeddings for near-duplicate grouping, computed once per flag and model.
        CREATE TABLE flag_embeddings (
            flag_id BIGINT NOT NULL, model VARCHAR NOT NULL, text_sha256 VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL, PRIMARY KEY (flag_id, model)
        );
        """
    )
    evidence = db.execute("SELECT evidence_id FROM evidence ORDER BY evidence_id").fetchall()
    reviews = db.execute("SELECT review_id FROM reviews ORDER BY review_id").fetchall()
    chain.append_many(db, [*(("evidence", int(r[0])) for r in evidence),
                           *(("review", int(r[0])) for r in reviews)])


def m004_digest_and_daemon_state(db: duckdb.DuckDBPyConnection) -> None:
    """Weekly digest deliveries (sent exactly once per week and audience), daemon jobs, heartbeat."""
    db.execute(
        """
        -- One row per (ISO week, audience); status moves sending -> sent | failed.
        -- A 'sending' row left by a crash is never resent automatically (it may
        -- have reached the server); an operator checks message_id and uses --force.
        CREATE TABLE digests (
            week VARCHAR NOT NULL, audience VARCHAR NOT NULL, status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, recipients JSON NOT NULL,
            language VARCHAR NOT NULL, flags INTEGER,
            first_attempt_at TIMESTAMPTZ, last_attempt_at TIMESTAMPTZ,
            sent_at TIMESTAMPTZ, message_id VARCHAR, error VARCHAR,
            PRIMARY KEY (week, audience)
        );
        -- The daemon's scheduled jobs and their next run, for `status`.
        CREATE TABLE daemon_jobs (
            job_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, schedule VARCHAR NOT NULL,
            next_run_at TIMESTAMPTZ, last_started_at TIMESTAMPTZ,
            last_finished_at TIMESTAMPTZ, last_status VARCHAR, last_error VARCHAR,
            updated_at TIMESTAMPTZ NOT NULL
        );
        -- One row (id = 1): the running daemon's last sign of life.
        CREATE TABLE daemon_heartbeat (
            id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, host VARCHAR NOT NULL,
            version VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL,
            beat_at TIMESTAMPTZ NOT NULL, stopped_at TIMESTAMPTZ
        );
        """
    )


def m005_audit_retention(db: duckdb.DuckDBPyConnection) -> None:
    """The data-minimisation trail: each retention pass and each item whose content was purged."""
    db.execute(
        """
        CREATE SEQUENCE seq_retention_runs;
        CREATE TABLE retention_runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_retention_runs'),
            run_at TIMESTAMPTZ NOT NULL, raw_days INTEGER NOT NULL, cutoff TIMESTAMPTZ NOT NULL,
            items_purged BIGINT NOT NULL, raw_purged BIGINT NOT NULL
        );
        -- items has no purged_at column (the pipeline inserts positionally), so the
        -- mark lives here; items.text / subject_text are NULL for these keys.
        CREATE TABLE purged_items (
            item_key VARCHAR PRIMARY KEY, purged_at TIMESTAMPTZ NOT NULL,
            retention_run BIGINT NOT NULL
        );
        """
    )


def m006_audit_views(db: duckdb.DuckDBPyConnection) -> None:
    """Views for auditors; weeks and days are ISO weeks and dates in Asia/Jakarta (WIB)."""
    db.execute(
        """
        -- Every flag with its account, region, item, model and current status.
        CREATE VIEW audit_flags AS
        SELECT f.flag_id, f.created_at AS flagged_at,
               strftime(timezone('Asia/Jakarta', f.created_at), '%G-W%V') AS week,
               CAST(timezone('Asia/Jakarta', f.created_at) AS DATE) AS day,
               f.item_key, i.platform, i.kind, f.category, f.stance, f.score, f.targets,
               f.account_id, a.name AS account_name, a.agency, a.region,
               r.name AS region_name, r.province,
               -- Review decisions are past tense (confirmed, dismissed, escalated); the
               -- imperative spelling is accepted too.
               CASE s.status WHEN 'confirm' THEN 'confirmed' WHEN 'dismiss' THEN 'dismissed'
                             WHEN 'escalate' THEN 'escalated' ELSE s.status END AS status,
               c.model, c.version, i.created_at AS acted_at, i.url
        FROM flags f
        JOIN flag_status s USING (flag_id)
        LEFT JOIN items i USING (item_key)
        LEFT JOIN accounts a ON a.account_id = f.account_id
        LEFT JOIN regions r ON r.code = a.region
        LEFT JOIN classifications c ON c.id = f.classification_id;

        CREATE VIEW audit_flags_by_week AS
        SELECT week, count(*) AS flags,
               count(*) FILTER (status = 'pending') AS pending,
               count(*) FILTER (status = 'confirmed') AS confirmed,
               count(*) FILTER (status = 'dismissed') AS dismissed,
               count(*) FILTER (status = 'escalated') AS escalated
        FROM audit_flags GROUP BY week;

        CREATE VIEW audit_flags_by_agency AS
        SELECT week, agency, count(*) AS flags,
               count(*) FILTER (status = 'pending') AS pending,
               count(*) FILTER (status = 'confirmed') AS confirmed,
               count(*) FILTER (status = 'dismissed') AS dismissed
        FROM audit_flags GROUP BY week, agency;

        CREATE VIEW audit_flags_by_region AS
        SELECT week, region, region_name, province, count(*) AS flags,
               count(*) FILTER (status = 'pending') AS pending,
               count(*) FILTER (status = 'confirmed') AS confirmed,
               count(*) FILTER (status = 'dismissed') AS dismissed
        FROM audit_flags GROUP BY week, region, region_name, province;

        -- One row per flag and target (candidate or party id) it names.
        CREATE VIEW audit_flags_by_candidate AS
        WITH t AS (
            SELECT af.week, af.flag_id, af.status,
                   unnest(json_extract_string(af.targets, '$[*]')) AS target
            FROM audit_flags af
        ), names AS (
            SELECT id, 'candidate' AS target_type,
                   any_value(array_to_string(json_extract_string(people, '$[*]'), ' & ')) AS label
            FROM candidates GROUP BY id
            UNION ALL
            SELECT id, 'party', any_value(json_extract_string(names, '$[0]')) FROM parties GROUP BY id
        )
        SELECT t.week, t.target, coalesce(n.target_type, 'other') AS target_type, n.label,
               count(*) AS flags,
               count(*) FILTER (t.status = 'pending') AS pending,
               count(*) FILTER (t.status = 'confirmed') AS confirmed,
               count(*) FILTER (t.status = 'dismissed') AS dismissed
        FROM t LEFT JOIN names n ON n.id = t.target
        GROUP BY t.week, t.target, n.target_type, n.label;

        -- Time from a flag to its first review decision (NULL while pending).
        -- Every review decision, its spelling normalised to the past tense.
        CREATE VIEW audit_reviews AS
        SELECT review_id, flag_id,
               CASE decision WHEN 'confirm' THEN 'confirmed' WHEN 'dismiss' THEN 'dismissed'
                             WHEN 'escalate' THEN 'escalated' ELSE decision END AS decision,
               reason, note, reviewer, decided_at
        FROM reviews;

        CREATE VIEW audit_review_turnaround AS
        SELECT f.flag_id, f.created_at AS flagged_at, r.decided_at AS first_decision_at,
               r.decision AS first_decision, r.reviewer AS first_reviewer,
               round((epoch(r.decided_at) - epoch(f.created_at)) / 3600.0, 2)
                   AS hours_to_first_decision
        FROM flags f
        LEFT JOIN (
            SELECT flag_id, decision, reviewer, decided_at FROM audit_reviews
            QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY decided_at, review_id) = 1
        ) r USING (flag_id);

        CREATE VIEW audit_reviewer_activity AS
        SELECT r.reviewer, count(*) AS decisions, count(DISTINCT r.flag_id) AS flags_reviewed,
               count(*) FILTER (r.decision = 'confirmed') AS confirms,
               count(*) FILTER (r.decision = 'dismissed') AS dismissals,
               count(*) FILTER (r.decision = 'escalated') AS escalations,
               min(r.decided_at) AS first_decision_at, max(r.decided_at) AS last_decision_at,
               round(median((epoch(r.decided_at) - epoch(f.created_at)) / 3600.0), 2)
                   AS median_hours_after_flag
        FROM audit_reviews r JOIN flags f USING (flag_id)
        GROUP BY r.reviewer;

        -- The model and version whose output each human decision was about.
        CREATE VIEW audit_decision_models AS
        SELECT r.review_id, r.flag_id, r.decision, r.reason, r.reviewer, r.decided_at,
               f.classification_id, c.model, c.version, c.score, c.stance, c.category
        FROM audit_reviews r
        JOIN flags f USING (flag_id)
        LEFT JOIN classifications c ON c.id = f.classification_id;
        """
    )


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_flag_status_view,
    m003_review_evidence_chain,
    m004_digest_and_daemon_state,
    m005_audit_retention,
    m006_audit_views,
    m007_anchor_tokens,
    m008_intake_reports,
    m009_ops_daemon_crashes,
    m010_ops_region_timezone,
    m011_ops_account_status,
    m012_ops_audit_views_add_up,
    m013_stream_withdrawals,
    m014_desk_users,
    m015_classifier_target_stances,
]
