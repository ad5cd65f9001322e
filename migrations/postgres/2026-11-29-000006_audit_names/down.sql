DROP INDEX audit_events_actor_name;
DROP INDEX audit_events_subject_name;
ALTER TABLE audit_events DROP COLUMN subject_name;
ALTER TABLE audit_events DROP COLUMN actor_name;
