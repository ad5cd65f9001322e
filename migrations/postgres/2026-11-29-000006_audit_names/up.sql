-- The usernames of an event's actor and subject as they were when it happened, so that the
-- log still names a deleted or renamed user and can be searched by the old name.
ALTER TABLE audit_events ADD COLUMN actor_name TEXT;
ALTER TABLE audit_events ADD COLUMN subject_name TEXT;
UPDATE audit_events SET
    actor_name = (SELECT username FROM users WHERE users.public_id = audit_events.actor_id),
    subject_name = (SELECT username FROM users WHERE users.public_id = audit_events.subject_id);
-- A deleted account's name is in its deletion's detail.
UPDATE audit_events SET subject_name = detail::json ->> 'username'
    WHERE event = 'user_deleted' AND subject_name IS NULL;
CREATE INDEX audit_events_subject_name ON audit_events (lower(subject_name));
CREATE INDEX audit_events_actor_name ON audit_events (lower(actor_name));
