DROP INDEX IF EXISTS tickets_donor_fcm_token_idx;
DROP INDEX IF EXISTS users_fcm_token_idx;
DROP TABLE IF EXISTS push_deliveries;
DROP TABLE IF EXISTS push_state;
