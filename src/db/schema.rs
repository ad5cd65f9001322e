//! The tables of `migrations/{sqlite,postgres}`, written once for both backends.
//!
//! Kept by hand rather than generated, because `diesel print-schema` describes one backend and
//! this file must describe the common subset: PostgreSQL's `TIMESTAMPTZ` columns are declared
//! `Timestamp` here (every connection runs in UTC, see `db::pool`), and row ids are `BigInt`.

diesel::table! {
    users (id) {
        id -> BigInt,
        public_id -> Text,
        username -> Text,
        email -> Text,
        name -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        email_verified -> Bool,
        pending_email -> Nullable<Text>,
        mfa_enabled -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        public_id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        refresh_hash -> Text,
        previous_refresh_hash -> Nullable<Text>,
        refreshed_at -> Nullable<Timestamp>,
        csrf_token -> Text,
        mfa -> Bool,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        event -> Text,
        actor_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Text,
        actor_name -> Nullable<Text>,
        subject_name -> Nullable<Text>,
    }
}

diesel::table! {
    user_name_words (word, user_id) {
        word -> Text,
        user_id -> BigInt,
    }
}

diesel::table! {
    mail_queue (id) {
        id -> BigInt,
        recipient -> Text,
        message -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    one_time_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> BigInt,
        sealed_secret -> Text,
        confirmed -> Bool,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        account_key -> Text,
        address_key -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    personal_tokens (id) {
        id -> BigInt,
        public_id -> Text,
        user_id -> BigInt,
        name -> Text,
        scope -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(personal_tokens -> users (user_id));
diesel::joinable!(one_time_tokens -> users (user_id));
diesel::joinable!(totp_credentials -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_name_words -> users (user_id));

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bucketlists (id) {
        id -> BigInt,
        public_id -> Text,
        owner_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    bucketlist_items (id) {
        id -> BigInt,
        public_id -> Text,
        bucketlist_id -> BigInt,
        name -> Text,
        done -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(bucketlists -> users (owner_id));
diesel::joinable!(bucketlist_items -> bucketlists (bucketlist_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    user_name_words,
    one_time_tokens,
    totp_credentials,
    recovery_codes,
    mfa_challenges,
    personal_tokens,
    mail_queue,
    audit_events,
    app_secrets,
    bucketlists,
    bucketlist_items
);

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        lockouts -> Integer,
    }
}
