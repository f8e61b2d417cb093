//! Failed-login windows: counted across concurrent writers, restarted once ended, forgotten.

use super::harness::store_test;
use chrono::{Duration, Utc};
use concierge_domain::ports::LoginFailureCounter;

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|k| k.to_string()).collect()
}

store_test!(
    failures_count_in_a_window_that_restarts_once_ended,
    |store| {
        let start = Utc::now();
        let window = Duration::seconds(60);
        for i in 0..3 {
            let now = start + Duration::seconds(i);
            store
                .add_login_failure(keys(&["ip:a", "acct:x"]), now, now - window)
                .await
                .unwrap();
        }
        let mut seen = store
            .login_failures(keys(&["ip:a", "acct:x", "ip:b"]), start - window)
            .await
            .unwrap();
        seen.sort();
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].0.as_str(), seen[0].1), ("acct:x", 3));
        assert_eq!((seen[1].0.as_str(), seen[1].1), ("ip:a", 3));
        assert!((seen[0].2 - start).num_milliseconds().abs() < 1);

        // A minute later the window is over: not counted, and the next failure starts afresh.
        let later = start + Duration::seconds(61);
        assert!(store
            .login_failures(keys(&["ip:a"]), later - window)
            .await
            .unwrap()
            .is_empty());
        store
            .add_login_failure(keys(&["ip:a"]), later, later - window)
            .await
            .unwrap();
        let seen = store
            .login_failures(keys(&["ip:a"]), later - window)
            .await
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].1, 1);

        // Ended windows are removed; running ones stay.
        assert_eq!(
            store.forget_login_failures(later - window).await.unwrap(),
            1
        );
        assert_eq!(
            store.forget_login_failures(later - window).await.unwrap(),
            0
        );
        assert_eq!(
            store
                .login_failures(keys(&["ip:a"]), later - window)
                .await
                .unwrap()[0]
                .1,
            1
        );
    }
);

store_test!(concurrent_failures_on_a_new_key_are_all_counted, |store| {
    let now = Utc::now();
    let ended = now - Duration::seconds(60);
    let writers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .add_login_failure(keys(&["ip:c", "acct:y"]), now, ended)
                .await
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap().unwrap();
    }
    let seen = store
        .login_failures(keys(&["ip:c", "acct:y"]), ended)
        .await
        .unwrap();
    assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), [8, 8]);
});
