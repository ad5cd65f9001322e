DROP TABLE user_name_words;
