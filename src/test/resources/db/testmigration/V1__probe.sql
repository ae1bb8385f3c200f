CREATE TABLE db_test_probe (id integer PRIMARY KEY, note text NOT NULL);
INSERT INTO db_test_probe VALUES (1, 'migrated');
