DROP TABLE user_avatars;
DROP TABLE attachments;
