-- Bucket lists: resources owned by a user; deleting the user deletes them, and their items.
CREATE TABLE bucketlists (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bucketlists_owner ON bucketlists (owner_id, created_at);

CREATE TABLE bucketlist_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    bucketlist_id BIGINT NOT NULL REFERENCES bucketlists (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bucketlist_items_list ON bucketlist_items (bucketlist_id, created_at);
