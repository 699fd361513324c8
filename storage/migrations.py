"""Schema migrations: an ordered list of named functions, recorded in a table.

Opening a database runs every migration not yet recorded in
``schema_migrations``, each in its own transaction, in list order. A migration
is never edited once released; a change is a new migration at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

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


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_flag_status_view,
    m003_review_evidence_chain,
]
