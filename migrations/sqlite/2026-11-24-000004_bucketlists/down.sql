DROP TABLE bucketlist_items;
DROP TABLE bucketlists;
