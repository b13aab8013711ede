CREATE TABLE accounts (id int8 PRIMARY KEY);
