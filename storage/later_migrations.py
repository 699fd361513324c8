"""The migrations added after the first release (m007 on), in list order.

They live here only to keep :mod:`storage.migrations` short; the list of record is
``storage.migrations.MIGRATIONS``. Like every migration, none is edited once released.
"""

from __future__ import annotations

import duckdb


def m007_anchor_tokens(db: duckdb.DuckDBPyConnection) -> None:
    """RFC 3161 timestamp tokens over chain heads and escalation manifests."""
    db.execute(
        """
        CREATE SEQUENCE seq_anchor_tokens;
        -- One token from one TSA: the head (seq, hash) it covers, what was stamped
        -- (purpose head: the head itself; escalation: the package manifest's SHA-256).
        CREATE TABLE anchor_tokens (
            token_id BIGINT PRIMARY KEY DEFAULT nextval('seq_anchor_tokens'),
            seq BIGINT NOT NULL, head VARCHAR NOT NULL, purpose VARCHAR NOT NULL,
            subject VARCHAR NOT NULL, imprint VARCHAR NOT NULL, tsa_url VARCHAR NOT NULL,
            gen_time TIMESTAMPTZ NOT NULL, token BLOB NOT NULL, created_at TIMESTAMPTZ NOT NULL
        );
        """
    )


def m008_intake_reports(db: duckdb.DuckDBPyConnection) -> None:
    """Reports from the public or from inside Bawaslu, their reporters, flag origins, audit views.

    A report always names a flag (every report is held for a reviewer); the same item
    reported twice has one flag and two reports. Reporters' personal data live in their
    own table, outside the hash chain, so that they can be erased (UU 27/2022) without
    breaking it; a report row keeps only the reporter's id.
    """
    db.execute(
        """
        CREATE SEQUENCE seq_reporters;
        CREATE TABLE reporters (
            reporter_id BIGINT PRIMARY KEY DEFAULT nextval('seq_reporters'),
            name VARCHAR, contact VARCHAR, created_at TIMESTAMPTZ NOT NULL,
            erased_at TIMESTAMPTZ
        );
        CREATE SEQUENCE seq_reports;
        -- channel: public (laporan masyarakat) or internal (Bawaslu staff, panwas).
        CREATE TABLE reports (
            report_id BIGINT PRIMARY KEY DEFAULT nextval('seq_reports'),
            item_key VARCHAR NOT NULL, flag_id BIGINT NOT NULL, account_id VARCHAR NOT NULL,
            channel VARCHAR NOT NULL, reporter_id BIGINT, anonymous BOOLEAN NOT NULL,
            note VARCHAR, url VARCHAR, platform VARCHAR NOT NULL,
            received_at TIMESTAMPTZ NOT NULL, detail JSON NOT NULL
        );
        -- Flags raised from a report; a flag with no row here was collected by a connector.
        CREATE TABLE flag_origins (flag_id BIGINT PRIMARY KEY, origin VARCHAR NOT NULL);

        CREATE VIEW flag_origin AS
        SELECT f.flag_id, coalesce(o.origin, 'collected') AS origin
        FROM flags f LEFT JOIN flag_origins o USING (flag_id);

        -- Reports per source: public and internal reports, and flags the connectors collected.
        CREATE VIEW audit_reports_by_source AS
        WITH rows AS (
            SELECT channel AS source, received_at AS seen_at FROM reports
            UNION ALL
            SELECT 'collected', f.created_at FROM flags f JOIN flag_origin o USING (flag_id)
            WHERE o.origin = 'collected'
        )
        SELECT strftime(timezone('Asia/Jakarta', seen_at), '%G-W%V') AS week, source, count(*) AS reports
        FROM rows GROUP BY week, source;

        -- Reports per platform named in the reported URL (uploads name it by hand or 'unknown').
        CREATE VIEW audit_reports_by_platform AS
        SELECT strftime(timezone('Asia/Jakarta', received_at), '%G-W%V') AS week, platform,
               count(*) AS reports, count(DISTINCT item_key) AS items,
               count(*) FILTER (channel = 'public') AS public,
               count(*) FILTER (channel = 'internal') AS internal
        FROM reports GROUP BY week, platform;

        -- From each report to the first review decision on its flag (NULL while pending).
        CREATE VIEW audit_report_turnaround AS
        SELECT r.report_id, r.flag_id, r.channel, r.platform, r.received_at,
               t.first_decision_at, t.first_decision,
               round((epoch(t.first_decision_at) - epoch(r.received_at)) / 3600.0, 2)
                   AS hours_to_decision
        FROM reports r LEFT JOIN audit_review_turnaround t USING (flag_id);
        """
    )


def m009_ops_daemon_crashes(db: duckdb.DuckDBPyConnection) -> None:
    """Daemon crashes (unexpected exceptions), so ``status`` shows a crash loop."""
    db.execute(
        """
        CREATE SEQUENCE daemon_crashes_seq;
        CREATE TABLE daemon_crashes (
            id BIGINT PRIMARY KEY DEFAULT nextval('daemon_crashes_seq'),
            crashed_at TIMESTAMPTZ NOT NULL,
            pid INTEGER, host VARCHAR, version VARCHAR,
            error VARCHAR NOT NULL,
            traceback VARCHAR
        );
        """
    )


def m010_ops_region_timezone(db: duckdb.DuckDBPyConnection) -> None:
    """Each region's time zone (WIB, WITA, WIT), for times shown in the ASN's local zone."""
    db.execute("ALTER TABLE regions ADD COLUMN timezone VARCHAR DEFAULT 'WIB'")


def m011_ops_account_status(db: duckdb.DuckDBPyConnection) -> None:
    """Deactivations and reactivations of roster accounts, kept as history."""
    db.execute(
        """
        CREATE SEQUENCE account_status_seq;
        CREATE TABLE account_status (
            id BIGINT PRIMARY KEY DEFAULT nextval('account_status_seq'),
            account_id VARCHAR NOT NULL,
            active BOOLEAN NOT NULL,
            reason VARCHAR NOT NULL,
            changed_by VARCHAR,
            changed_at TIMESTAMPTZ NOT NULL
        );
        -- The latest change per account; an account never changed is active.
        CREATE VIEW account_current_status AS
        SELECT account_id, active, reason, changed_by, changed_at FROM account_status
        QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY id DESC) = 1;
        """
    )


# The IANA zone of an account's region (regions.timezone, WIB when unknown).
_ZONE_SQL = ("CASE coalesce(r.timezone, 'WIB') WHEN 'WITA' THEN 'Asia/Makassar' "
             "WHEN 'WIT' THEN 'Asia/Jayapura' ELSE 'Asia/Jakarta' END")


def m012_ops_audit_views_add_up(db: duckdb.DuckDBPyConnection) -> None:
    """Audit views whose counts add up (an escalated column everywhere), local times, target names."""
    db.execute(
        """
        CREATE OR REPLACE VIEW audit_flags AS
        SELECT f.flag_id, f.created_at AS flagged_at,
               strftime(timezone('Asia/Jakarta', f.created_at), '%G-W%V') AS week,
               CAST(timezone('Asia/Jakarta', f.created_at) AS DATE) AS day,
               f.item_key, i.platform, i.kind, f.category, f.stance, f.score, f.targets,
               f.account_id, a.name AS account_name, a.agency, a.region,
               r.name AS region_name, r.province,
               CASE s.status WHEN 'confirm' THEN 'confirmed' WHEN 'dismiss' THEN 'dismissed'
                             WHEN 'escalate' THEN 'escalated' ELSE s.status END AS status,
               c.model, c.version, i.created_at AS acted_at, i.url,
               coalesce(r.timezone, 'WIB') AS timezone,
               strftime(timezone(ZONE_SQL, f.created_at), '%Y-%m-%d %H:%M:%S ')
                   || coalesce(r.timezone, 'WIB') AS flagged_at_local,
               strftime(timezone(ZONE_SQL, i.created_at), '%Y-%m-%d %H:%M:%S ')
                   || coalesce(r.timezone, 'WIB') AS acted_at_local
        FROM flags f
        JOIN flag_status s USING (flag_id)
        LEFT JOIN items i USING (item_key)
        LEFT JOIN accounts a ON a.account_id = f.account_id
        LEFT JOIN regions r ON r.code = a.region
        LEFT JOIN classifications c ON c.id = f.classification_id;

        CREATE OR REPLACE VIEW audit_flags_by_agency AS
        SELECT week, agency, count(*) AS flags,
               count(*) FILTER (status = 'pending') AS pending,
               count(*) FILTER (status = 'confirmed') AS confirmed,
               count(*) FILTER (status = 'dismissed') AS dismissed,
               count(*) FILTER (status = 'escalated') AS escalated
        FROM audit_flags GROUP BY week, agency;

        CREATE OR REPLACE VIEW audit_flags_by_region AS
        SELECT week, region, region_name, province, count(*) AS flags,
               count(*) FILTER (status = 'pending') AS pending,
               count(*) FILTER (status = 'confirmed') AS confirmed,
               count(*) FILTER (status = 'dismissed') AS dismissed,
               count(*) FILTER (status = 'escalated') AS escalated
        FROM audit_flags GROUP BY week, region, region_name, province;

        -- Candidate and party names by id (the label auditors read).
        CREATE OR REPLACE VIEW audit_target_names AS
        SELECT id, 'candidate' AS target_type,
               any_value(array_to_string(json_extract_string(people, '$[*]'), ' & ')) AS label
        FROM candidates GROUP BY id
        UNION ALL
        SELECT id, 'party', any_value(json_extract_string(names, '$[0]')) FROM parties GROUP BY id;

        CREATE OR REPLACE VIEW audit_flags_by_candidate AS
        WITH t AS (
            SELECT af.week, af.flag_id, af.status,
                   unnest(json_extract_string(af.targets, '$[*]')) AS target
            FROM audit_flags af
        )
        SELECT t.week, t.target, coalesce(n.target_type, 'other') AS target_type, n.label,
               count(*) AS flags,
               count(*) FILTER (t.status = 'pending') AS pending,
               count(*) FILTER (t.status = 'confirmed') AS confirmed,
               count(*) FILTER (t.status = 'dismissed') AS dismissed,
               count(*) FILTER (t.status = 'escalated') AS escalated
        FROM t LEFT JOIN audit_target_names n ON n.id = t.target
        GROUP BY t.week, t.target, n.target_type, n.label;
        """.replace("ZONE_SQL", _ZONE_SQL)
    )


def m013_stream_withdrawals(db: duckdb.DuckDBPyConnection) -> None:
    """Withdrawn records, accounts' standing, and each live stream's heartbeat."""
    db.execute(
        """
        CREATE SEQUENCE seq_item_withdrawals;
        -- A like, repost or post its author deleted; the item (if ever seen) stays as it was.
        CREATE TABLE item_withdrawals (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_item_withdrawals'),
            item_key VARCHAR NOT NULL UNIQUE, platform VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL, actor_id VARCHAR NOT NULL, account_id VARCHAR,
            source VARCHAR NOT NULL, withdrawn_at TIMESTAMPTZ NOT NULL,
            item_seen BOOLEAN NOT NULL, detail JSON NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL, run_id BIGINT
        );
        -- The newest standing the platform announced for an account (active, deactivated, ...).
        CREATE TABLE account_states (
            platform VARCHAR NOT NULL, platform_user_id VARCHAR NOT NULL, account_id VARCHAR,
            active BOOLEAN NOT NULL, status VARCHAR, changed_at TIMESTAMPTZ NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL,
            PRIMARY KEY (platform, platform_user_id)
        );
        -- One row per streaming source: where it is and how far behind (for status).
        CREATE TABLE stream_state (
            source VARCHAR PRIMARY KEY, endpoint VARCHAR NOT NULL, last_seq BIGINT,
            last_event_at TIMESTAMPTZ, lag_s DOUBLE, connected BOOLEAN NOT NULL,
            reconnects BIGINT NOT NULL, backfills BIGINT NOT NULL, last_error VARCHAR,
            updated_at TIMESTAMPTZ NOT NULL
        );
        """
    )


def m014_desk_users(db: duckdb.DuckDBPyConnection) -> None:
    """Accounts of the web review desk and the record of every login, logout and failure.

    ``session_version`` goes up when a user is disabled or gets a new password: every
    session cookie carries the version it was issued under and stops working then.
    """
    db.execute(
        """
        CREATE TABLE desk_users (
            username VARCHAR PRIMARY KEY, full_name VARCHAR NOT NULL, position VARCHAR,
            role VARCHAR NOT NULL, region VARCHAR, password_hash VARCHAR NOT NULL,
            disabled BOOLEAN NOT NULL DEFAULT false, session_version INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE SEQUENCE seq_desk_logins;
        CREATE TABLE desk_logins (
            id BIGINT PRIMARY KEY DEFAULT nextval('seq_desk_logins'), logged_at TIMESTAMPTZ NOT NULL,
            username VARCHAR NOT NULL, event VARCHAR NOT NULL, remote VARCHAR, detail VARCHAR
        );
        """
    )


def m015_classifier_target_stances(db: duckdb.DuckDBPyConnection) -> None:
    """Each target's own stance and the high-confidence mark on classifications and flags.

    ``target_stances`` is a JSON list of ``{"target", "stance", "score"}`` beside
    ``targets`` (same shape of storage, one statement per write); rows written
    before it get each target with the item's stance and score, which is what
    the one-stance classifier meant, and ``high_confidence`` = flagged, since the
    old flags were all at or above the flag threshold.
    """
    db.execute(
        """
        ALTER TABLE classifications ADD COLUMN target_stances JSON DEFAULT '[]';
        ALTER TABLE classifications ADD COLUMN high_confidence BOOLEAN DEFAULT false;
        ALTER TABLE flags ADD COLUMN target_stances JSON DEFAULT '[]';
        ALTER TABLE flags ADD COLUMN high_confidence BOOLEAN DEFAULT false;
        UPDATE classifications SET high_confidence = flagged,
            target_stances = CAST(to_json(list_transform(
                json_extract_string(targets, '$[*]'),
                lambda t: {'target': t, 'stance': stance, 'score': score})) AS JSON);
        UPDATE flags SET high_confidence = true,
            target_stances = CAST(to_json(list_transform(
                json_extract_string(targets, '$[*]'),
                lambda t: {'target': t, 'stance': stance, 'score': score})) AS JSON);

        -- audit_flags gains the two columns at its end (views built on it keep working).
        CREATE OR REPLACE VIEW audit_flags AS
        SELECT f.flag_id, f.created_at AS flagged_at,
               strftime(timezone('Asia/Jakarta', f.created_at), '%G-W%V') AS week,
               CAST(timezone('Asia/Jakarta', f.created_at) AS DATE) AS day,
               f.item_key, i.platform, i.kind, f.category, f.stance, f.score, f.targets,
               f.account_id, a.name AS account_name, a.agency, a.region,
               r.name AS region_name, r.province,
               CASE s.status WHEN 'confirm' THEN 'confirmed' WHEN 'dismiss' THEN 'dismissed'
                             WHEN 'escalate' THEN 'escalated' ELSE s.status END AS status,
               c.model, c.version, i.created_at AS acted_at, i.url,
               coalesce(r.timezone, 'WIB') AS timezone,
               strftime(timezone(ZONE_SQL, f.created_at), '%Y-%m-%d %H:%M:%S ')
                   || coalesce(r.timezone, 'WIB') AS flagged_at_local,
               strftime(timezone(ZONE_SQL, i.created_at), '%Y-%m-%d %H:%M:%S ')
                   || coalesce(r.timezone, 'WIB') AS acted_at_local,
               f.high_confidence, f.target_stances
        FROM flags f
        JOIN flag_status s USING (flag_id)
        LEFT JOIN items i USING (item_key)
        LEFT JOIN accounts a ON a.account_id = f.account_id
        LEFT JOIN regions r ON r.code = a.region
        LEFT JOIN classifications c ON c.id = f.classification_id;

        -- One row per flag and target, with that target's own stance and score and its name.
        CREATE VIEW audit_flag_targets AS
        WITH t AS (
            SELECT af.flag_id, af.week, af.status, af.high_confidence,
                   unnest(from_json(af.target_stances,
                          '[{"target": "VARCHAR", "stance": "VARCHAR", "score": "DOUBLE"}]'),
                          recursive := true)
            FROM audit_flags af
        ), names AS (
            SELECT id, 'candidate' AS target_type,
                   any_value(array_to_string(json_extract_string(people, '$[*]'), ' – ')) AS label
            FROM candidates GROUP BY id
            UNION ALL
            SELECT id, 'party', any_value(json_extract_string(names, '$[0]')) FROM parties GROUP BY id
        )
        SELECT t.flag_id, t.week, t.status, t.high_confidence, t.target,
               coalesce(n.target_type, 'other') AS target_type, n.label, t.stance, t.score
        FROM t LEFT JOIN names n ON n.id = t.target;
        """.replace("ZONE_SQL", _ZONE_SQL)
    )
