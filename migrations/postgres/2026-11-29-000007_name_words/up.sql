-- Every word of every name, lower-cased, so that a search for the start of any word (a
-- surname) is an index range like the username search. Kept by the application on every
-- change of a name; names already stored are indexed at the first start after this
-- migration.
CREATE TABLE user_name_words (
    -- Compared byte by byte ("C"), like the names in users, so that a prefix is an index
    -- range whatever the server's locale.
    word TEXT COLLATE "C" NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (word, user_id)
);
CREATE INDEX user_name_words_user_id ON user_name_words (user_id);
