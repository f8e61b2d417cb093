DROP TABLE events;
DROP TABLE messages;
DROP TABLE tickets;
DROP TABLE users;
