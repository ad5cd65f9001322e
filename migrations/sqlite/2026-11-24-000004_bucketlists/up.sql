-- Bucket lists: resources owned by a user; deleting the user deletes them, and their items.
CREATE TABLE bucketlists (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX bucketlists_owner ON bucketlists (owner_id, created_at);

CREATE TABLE bucketlist_items (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    bucketlist_id INTEGER NOT NULL REFERENCES bucketlists (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX bucketlist_items_list ON bucketlist_items (bucketlist_id, created_at);
