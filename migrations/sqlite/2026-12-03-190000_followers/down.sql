ALTER TABLE follower_state RENAME TO push_state;
